import json
import unittest
from unittest.mock import patch
from urllib.parse import urlencode, urlsplit

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.microsoft_account.models.microsoft_service import MicrosoftService

from .common import HTTP_TAG


@tagged("post_install", "-at_install", "microsoft_contacts_calendar", HTTP_TAG)
class TestCalendarCoexistence(HttpCase):
    """Outlook Calendar shares /microsoft_account/authentication with us and must keep working.

    Calendar only talks to Microsoft's own hosts (it asserts so), so its token exchange is
    patched here: what is under test is the routing of the shared callback, not Microsoft.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        calendar = cls.env["ir.module.module"].search([("name", "=", "microsoft_calendar")])
        if calendar.state != "installed":
            # Not a failure of this database: `make test` runs these tests in one where it is
            # installed (tools/odoo_tier.sh, mc_calendar), and counts a skip there as a failure.
            raise unittest.SkipTest("microsoft_calendar is not installed in this database")
        cls.user = new_test_user(cls.env, login="calendar_user", password="calendar_user1")

    def setUp(self):
        super().setUp()
        self.authenticate("calendar_user", "calendar_user1")

    def _callback(self, **params):
        state = json.dumps({"d": self.env.cr.dbname, "s": "calendar", "f": "/odoo/calendar"})
        query = urlencode({"state": state, **params})
        return self.url_open(f"/microsoft_account/authentication?{query}", allow_redirects=False)

    def test_calendar_code_is_exchanged_by_calendar_handler(self):
        with patch.object(
            MicrosoftService,
            "_get_microsoft_tokens",
            autospec=True,
            return_value=("calendar-access", "calendar-refresh", 3600),
        ) as exchange:
            response = self._callback(code="code-from-microsoft")

        self.assertIn(response.status_code, (302, 303))
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/odoo/calendar")
        exchange.assert_called_once()
        _service, code, service = exchange.call_args.args[:3]
        self.assertEqual((code, service), ("code-from-microsoft", "calendar"))
        self.assertTrue(
            exchange.call_args.kwargs["redirect_uri"].endswith("/microsoft_account/authentication")
        )
        self.user.invalidate_recordset()
        self.assertEqual(self.user.sudo().microsoft_calendar_rtoken, "calendar-refresh")

    def test_calendar_refusal_goes_back_to_calendar(self):
        response = self._callback(error="access_denied")
        self.assertIn(response.status_code, (302, 303))
        target = urlsplit(response.headers["Location"])
        self.assertEqual(target.path, "/odoo/calendar")
        self.assertEqual(target.query, "error=access_denied")
        self.assertFalse(self.user.sudo().microsoft_calendar_rtoken)
