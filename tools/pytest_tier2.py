"""pytest plugin for tier 2's pytest-odoo part (tools/odoo_tier.sh: ``-p pytest_tier2``).

`make test` runs the Odoo tests in two runners over one database: odoo-bin for the tests that
need Odoo's HTTP server (tagged ``microsoft_contacts_http``: controllers, tours, hoot), and
pytest-odoo for the others. For the two to add up to exactly what ``odoo-bin --test-tags`` would
run, and to be as strict, this plugin gives pytest-odoo what odoo-bin has and it lacks:

- ``--test-tags SPEC``: the tests Odoo's own selector rejects for SPEC are deselected (not
  skipped, so that they count nowhere), e.g. ``-microsoft_contacts_http`` and the benchmarks;
- an HttpCase test that SPEC keeps is a usage error: pytest-odoo would skip it without a
  word, and the odoo-bin part, which selects by the tag, would not run it either;
- a test during which Odoo logged an ERROR or CRITICAL fails, as odoo-bin's log check in
  tools/odoo_tier.sh counts such a line as a failure (muted loggers excepted).

Odoo is imported lazily: this module loads before pytest-odoo has configured Odoo.
"""

import logging

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--test-tags",
        dest="tier2_test_tags",
        help="run only the tests odoo-bin --test-tags SPEC would run (Odoo's syntax)",
    )


def pytest_collection_modifyitems(config, items):
    spec = config.getoption("tier2_test_tags")
    if not spec:
        return
    from odoo.tests.common import HttpCase
    from odoo.tests.tag_selector import TagsSelector

    selector = TagsSelector(spec)
    kept, dropped, untagged_http = [], [], []
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is None or not hasattr(cls, "test_tags"):
            kept.append(item)  # not an Odoo test case: Odoo's tags do not apply
            continue
        if not selector.check(cls(item.name)):
            dropped.append(item)
            continue
        if issubclass(cls, HttpCase) and not config.getoption("--odoo-http", False):
            untagged_http.append(f"{cls.__module__}.{cls.__qualname__}")
        kept.append(item)
    if untagged_http:
        raise pytest.UsageError(
            f"HttpCase tests selected by --test-tags {spec!r}: "
            f"{', '.join(sorted(set(untagged_http)))}. pytest-odoo would skip them; tag them "
            "microsoft_contacts_http (tests/common.py HTTP_TAG) so that odoo-bin runs them."
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class _ErrorRecords(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    records = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        result = yield
    finally:
        root.removeHandler(records)
    if records.lines:
        pytest.fail(
            "Odoo logged errors during this test (odoo-bin's run counts each as a failure):\n"
            + "\n".join(records.lines),
            pytrace=False,
        )
    return result
