"""Browser tests that fail, rather than skip, when Chromium cannot run.

Odoo skips a browser test when it finds no Chrome; here the browser is a requirement
(tools/odoo_tier.sh installs it), so a missing browser must show up as a failure.
"""

import logging
import unittest

from odoo.tests import HttpCase


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class BrowserCase(HttpCase):
    def browser_js(self, *args, **kwargs):
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as reason:
            self.fail(
                f"The browser test could not run ({reason}). Install Chromium (Debian: "
                "`apt-get install chromium`), or let `make test` install it."
            )

    def browser_messages(self):
        """The messages the browser console logs from now on (they are still logged as usual)."""
        collector = _Collect()
        logger = self._logger.getChild("browser")
        logger.addHandler(collector)
        self.addCleanup(logger.removeHandler, collector)
        return collector.messages
