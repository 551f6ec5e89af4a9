import re
from urllib.parse import quote

from odoo.tests import tagged

from odoo.addons.web.tests.test_js import unit_test_error_checker

from .browser import BrowserCase
from .common import HTTP_TAG

# Only this addon's hoot suites: their names start with "@microsoft_contacts/".
SUITE_FILTER = r"/^@microsoft_contacts\//"
PASSED_TEST = re.compile(r'Test "(?P<name>[^"]+)" passed')
SUITE_RESULT = re.compile(r"passed (?P<count>\d+) tests")


@tagged("post_install", "-at_install", HTTP_TAG)
class TestJsUnits(BrowserCase):
    """The Sync with Outlook button's hoot tests, in a real Chromium."""

    def test_hoot_suites(self):
        messages = self.browser_messages()
        self.browser_js(
            f"/web/tests?headless&loglevel=2&timeout=15000&filter={quote(SUITE_FILTER)}",
            "",
            "",
            login="admin",
            timeout=600,
            success_signal="[HOOT] test suite succeeded",
            error_checker=unit_test_error_checker,
        )
        names = [m["name"] for m in map(PASSED_TEST.search, messages) if m]
        totals = [int(m["count"]) for m in map(SUITE_RESULT.search, messages) if m]
        self.assertTrue(names, "no hoot test of the addon ran")
        self.assertEqual(totals, [len(names)])
        foreign = [name for name in names if not name.startswith("@microsoft_contacts/")]
        self.assertFalse(foreign, "the filter let other addons' tests run")
        for expected in ("list", "kanban"):
            self.assertTrue(
                any(f"/{expected}/" in name for name in names), f"no {expected} test ran"
            )
