"""Browser tests that fail, rather than skip, when Chromium cannot run.

Odoo skips a browser test when it finds no Chrome; here the browser is a requirement
(tools/run_tests.sh installs it), so a missing browser must show up as a failure.
"""

import base64
import hashlib
import json
import logging
import ssl
import unittest
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from odoo.tests import HttpCase, common

# Runs in every page the test browser opens; acts on the Graph simulator's consent page only.
CONSENT_SCRIPT = """
(() => {
    if (window.location.origin !== %(origin)s) {
        return;
    }
    document.addEventListener("DOMContentLoaded", () => {
        const accept = document.getElementById("sim-accept");
        if (accept) {
            console.log("Microsoft consent page: Accept");
            accept.click();
        }
    });
})();
"""


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _certificate_spki_hash(base_url):
    """Base64 SHA-256 of the public key the HTTPS server at `base_url` presents."""
    parts = urlsplit(base_url)
    pem = ssl.get_server_certificate((parts.hostname, parts.port or 443))
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


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

    @contextmanager
    def browser_consenting_on(self, simulator_url):
        """The test browser trusts the simulator's certificate and accepts its consent page.

        The consent page is Microsoft's (here the simulator's), not Odoo's: a tour cannot act
        there, so the browser clicks Accept for the user, as the user would.
        """
        spki = _certificate_spki_hash(simulator_url)
        parts = urlsplit(simulator_url)
        script = CONSENT_SCRIPT % {"origin": json.dumps(f"{parts.scheme}://{parts.netloc}")}

        class ConsentingChrome(common.ChromeBrowser):
            def _spawn_chrome(self, cmd):
                # Only this certificate, not certificate errors at large.
                *switches, url = cmd
                return super()._spawn_chrome(
                    [*switches, f"--ignore-certificate-errors-spki-list={spki}", url]
                )

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._websocket_request(
                    "Page.addScriptToEvaluateOnNewDocument", params={"source": script}
                )

        with patch.object(common, "ChromeBrowser", ConsentingChrome):
            yield
