"""The README's screenshots, taken from a running `make demo` (`make demo-screenshots`).

    make demo                 # first, in another terminal; wait for its banner
    make demo-screenshots     # then: static/description/screenshots/*.png

Headless Chromium, driven through the DevTools protocol, logs in as admin / admin and goes
through the first sync as a user would: the Contacts list and its "Sync with Outlook" button,
Microsoft's consent page (the Graph simulator's), the preview of the first sync, applied with
"Apply Selected", then the pages that show its result. Each page is taken at 1280 x 800 (twice
as many pixels with --scale 2) and saved as a palette PNG kept under --max-kb.

It needs the demo as `make demo` leaves it: Mitchell Admin not yet connected to Outlook
(restart the demo to take the screenshots again). Only the simulator's own certificate is
trusted, by its public key, and only by this browser: certificate errors at large are not.
On a failure, the page as it was is saved to .tmp/demo-screenshots-failed.png.

The standard library, requests, websocket-client, cryptography, Pillow and tools/demo.py: no
odoo import.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
import websocket
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from demo import DemoError, Odoo
from demo_seed import ODOO_DEMO_PEOPLE
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 800
SYNC_RUN_ACTION = "microsoft_contacts.action_microsoft_contacts_sync_run"
MY_OUTLOOK_MENU = "microsoft_contacts.menu_microsoft_contacts_my_account"
# The partner shown with its Outlook status: one of Odoo's demo people, also in the mailbox.
PARTNER_EMAIL = next(email for name, email, *_ in ODOO_DEMO_PEOPLE if name == "Brandon Freeman")

# True once the web client has nothing left to load: no request running, images decoded.
ODOO_IDLE = """
    document.readyState === "complete"
    && !document.querySelector(".o_loading_indicator, .o_blockUI")
    && [...document.images].every((img) => img.complete || img.loading === "lazy")
"""


class ScreenshotError(Exception):
    """A page did not show what it should: the message says what was waited for."""


# -- the browser -----------------------------------------------------------------------------


def certificate_spki_hash(base_url):
    """Base64 SHA-256 of the public key the HTTPS server at `base_url` presents."""
    parts = urlsplit(base_url)
    pem = ssl.get_server_certificate((parts.hostname, parts.port or 443))
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Browser:
    """One tab of a headless Chromium, through the DevTools protocol."""

    def __init__(self, executable, scale, trusted_spki):
        self.profile = tempfile.mkdtemp(prefix="demo-screenshots-")
        command = [
            executable,
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--lang=en-US",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            # The simulator's certificate only (a test CA made for this demo run).
            f"--ignore-certificate-errors-spki-list={trusted_spki}",
        ]
        if os.geteuid() == 0:
            command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        command.append("about:blank")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._id = 0
        self.socket = None
        try:
            page = self._page_target(self._devtools_port())
            self.socket = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=120, suppress_origin=True
            )
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=scale,
                mobile=False,
            )
        except Exception:
            self.close()
            raise

    def _devtools_port(self):
        port_file = Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ScreenshotError(f"Chromium stopped at start (exit {self.process.returncode})")
            if port_file.exists() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            time.sleep(0.1)
        raise ScreenshotError("Chromium did not open its DevTools port within 30 s")

    @staticmethod
    def _page_target(port):
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        pages = [target for target in targets if target["type"] == "page"]
        if not pages:
            raise ScreenshotError(f"Chromium shows no page: {targets}")
        return pages[0]

    def close(self):
        if self.socket:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._id:  # anything else is an event: not listened to
                if "error" in message:
                    raise ScreenshotError(f"{method}: {message['error'].get('message')}")
                return message["result"]

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ScreenshotError(f"the page's script failed: {text}")
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout=60):
        """Wait until `expression` is true in the page (the page may be loading meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(f"!!({expression})")
            except ScreenshotError:  # between two pages: no document to ask yet
                value = False
            if value:
                return
            time.sleep(0.25)
        raise ScreenshotError(f"waited {timeout} s for {what}; the page is {self.location()}")

    def location(self):
        try:
            return self.evaluate("window.location.href")
        except ScreenshotError:
            return "(between two pages)"

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def click(self, selector, what):
        """Click the first element that matches `selector` (it must be there)."""
        clicked = self.evaluate(
            f"""(() => {{
                const element = document.querySelector({json.dumps(selector)});
                if (!element) {{ return false; }}
                element.click();
                return true;
            }})()"""
        )
        if not clicked:
            raise ScreenshotError(f"no {what} ({selector}) on {self.location()}")

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])


# -- the pages -------------------------------------------------------------------------------


def odoo_ready(browser, condition, what, timeout=60):
    """Wait for the web client to show `condition` with nothing left loading, then let it
    settle (dialogs fade in, lists reflow) and clear what would hide part of the page."""
    browser.wait_for(f"({condition}) && {ODOO_IDLE}", what, timeout)
    time.sleep(1.0)
    browser.wait_for(f"({condition}) && {ODOO_IDLE}", what, timeout)
    browser.evaluate(
        """document.querySelectorAll(".o_notification_close").forEach((b) => b.click());
        document.activeElement && document.activeElement.blur();"""
    )
    browser.wait_for("!document.querySelector('.o_notification')", "toasts to close", 10)
    time.sleep(0.5)


def scroll_to(browser, selector, align="top", margin=8, closest="*"):
    """Scroll the view so that `selector` (or its `closest` ancestor) starts just below the
    control panel ("top"), or ends just above the bottom of the window ("bottom")."""
    browser.evaluate(
        f"""(() => {{
            const target = document.querySelector({json.dumps(selector)})
                .closest({json.dumps(closest)});
            let scroller = target.parentElement;
            while (scroller && !(scroller.scrollHeight > scroller.clientHeight
                    && /(auto|scroll)/.test(getComputedStyle(scroller).overflowY))) {{
                scroller = scroller.parentElement;
            }}
            const box = target.getBoundingClientRect();
            const panel = document.querySelector(".o_control_panel").getBoundingClientRect();
            scroller.scrollTop += {json.dumps(align)} === "top"
                ? box.top - panel.bottom - {margin}
                : box.bottom - window.innerHeight + {margin};
        }})()"""
    )
    time.sleep(0.5)


class Shots:
    """Takes the README's screenshots in the order a user meets those pages."""

    def __init__(self, browser, args):
        self.browser = browser
        self.args = args
        self.odoo = args.odoo.rstrip("/")
        self.out = Path(args.out)

    def save(self, name):
        png, size = optimise_png(self.browser.screenshot(), self.args.max_kb * 1024)
        path = self.out / name
        path.write_bytes(png)
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{size[0]}x{size[1]}, {len(png) // 1024} KB",
            flush=True,
        )

    def login(self):
        contacts = "/odoo/contacts?view_type=list"
        self.browser.navigate(f"{self.odoo}/web/login?{urlencode({'redirect': contacts})}")
        self.browser.wait_for("document.querySelector('form.oe_login_form')", "Odoo's login form")
        self.browser.evaluate(
            """(() => {
                const form = document.querySelector("form.oe_login_form");
                form.querySelector("input[name=login]").value = "admin";
                form.querySelector("input[name=password]").value = "admin";
                form.submit();
            })()"""
        )

    def contacts_list(self):
        odoo_ready(
            self.browser,
            f"location.origin === {json.dumps(self.odoo)}"
            " && document.querySelector('.o_list_view .o_data_row')"
            " && document.querySelector('.o_microsoft_contacts_sync_button:not([disabled])')",
            "the Contacts list with its Sync with Outlook button",
        )

    def sync_button_and_consent(self):
        self.contacts_list()
        self.save("01-contacts-sync-button.png")
        self.browser.click(".o_microsoft_contacts_sync_button", "Sync with Outlook button")
        simulator = self.args.simulator.rstrip("/")
        self.browser.wait_for(
            f"location.origin === {json.dumps(simulator)}"
            " && document.getElementById('sim-accept')"
            " && document.querySelector('input[type=radio]:checked')",
            "the simulator's consent page with Mitchell Admin chosen",
        )
        time.sleep(0.5)
        self.save("02-consent.png")
        self.browser.click("#sim-accept", "Accept button of the consent page")

    def preview(self):
        self.contacts_list()  # back from Microsoft, where the button was clicked
        self.browser.click(".o_microsoft_contacts_sync_button", "Sync with Outlook button")
        dialog = ".modal"  # its footer buttons are outside the form
        odoo_ready(
            self.browser,
            f"document.querySelector('{dialog} footer button[name=action_apply]')"
            f" && document.querySelector('{dialog} .o_form_view .o_notebook .o_data_row')",
            "the preview of the first sync",
            timeout=180,
        )
        self.save("03-preview.png")
        self.browser.click(f"{dialog} footer button[name=action_apply]", "Apply Selected button")
        # The sync runs in this request: a few hundred Graph calls to the simulator.
        self.browser.wait_for(
            f"!document.querySelector('{dialog}') && {ODOO_IDLE}",
            "the first sync to be applied",
            timeout=self.args.sync_timeout,
        )

    def my_outlook_sync(self):
        self.browser.navigate(f"{self.odoo}/odoo/contacts")
        menu = f".o_menu_sections [data-menu-xmlid='{MY_OUTLOOK_MENU}']"
        odoo_ready(self.browser, f"document.querySelector({json.dumps(menu)})", "Contacts' menu")
        self.browser.click(menu, "My Outlook Sync menu")
        odoo_ready(
            self.browser,
            "document.querySelector('.o_form_view .o_notebook [name=sync_scope]')"
            " && document.querySelector('.o_form_view [name=microsoft_username] span')",
            "My Outlook Sync with its Settings tab",
        )
        self.save("04-my-outlook-sync.png")

    def sync_log(self, run):
        self.browser.navigate(f"{self.odoo}/odoo/action-{SYNC_RUN_ACTION}/{run['id']}")
        lines = ".o_form_view .o_field_widget[name=line_ids]"
        odoo_ready(
            self.browser,
            f"document.querySelector('{lines} .o_data_row')",
            "the sync run form with its lines",
        )
        if run["count_failed"]:
            # Failed lines first: the list sorted on its Status column, as a user would.
            self.browser.click(f"{lines} th[data-name=status]", "Status column of the lines")
            odoo_ready(
                self.browser,
                f"document.querySelector('{lines} .o_data_row .text-danger, "
                f"{lines} .o_data_row.text-danger')",
                "the failed lines first",
            )
        # The counts per direction above, the first three lines below.
        scroll_to(self.browser, f"{lines} .o_data_row:nth-child(3)", align="bottom", margin=0)
        self.save("05-sync-log.png")

    def partner(self, partner_id):
        self.browser.navigate(f"{self.odoo}/odoo/contacts/{partner_id}")
        form = ".o_form_view"
        odoo_ready(
            self.browser,
            f"document.querySelector('{form} .o_notebook a[name=microsoft_contacts]')",
            "the partner form with its Outlook tab",
        )
        self.browser.click(f"{form} .o_notebook a[name=microsoft_contacts]", "Outlook tab")
        odoo_ready(
            self.browser,
            f"document.querySelector('{form} [name=microsoft_contacts_status] .badge')",
            "the Outlook tab's status",
        )
        scroll_to(self.browser, f"{form} .o_notebook", align="bottom", margin=16)
        self.save("06-partner-outlook.png")

    def settings(self):
        self.browser.navigate(f"{self.odoo}/odoo/settings")
        block = "#microsoft_contacts_setting"
        odoo_ready(
            self.browser,
            f"document.querySelector('{block} [name=microsoft_contacts_client_id] input')",
            "Settings with its Outlook Contacts block",
        )
        scroll_to(self.browser, block, margin=24)
        self.save("07-settings.png")


def optimise_png(png, max_bytes):
    """The screenshot as a palette PNG under `max_bytes`: fewer colours first, then half size.

    Screens are flat colours and anti-aliased text: 256 colours without dithering keep them
    sharp at a fraction of the size of the true-colour capture."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    sizes = [image.size]
    if image.width > WIDTH:
        sizes.append((WIDTH, HEIGHT))
    for size in sizes:
        scaled = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        for colours in (256, 128, 64):
            palette = scaled.quantize(
                colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
            )
            buffer = io.BytesIO()
            palette.save(buffer, format="PNG", optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue(), size
    raise ScreenshotError(f"the screenshot stays above {max_bytes // 1024} KB")


# -- the run ---------------------------------------------------------------------------------


def admin_account(odoo):
    accounts = odoo.call(
        "microsoft.contacts.account",
        "search_read",
        [("user_id", "=", odoo.uid)],
        ["state", "initial_sync_confirmed"],
    )
    return accounts[0] if accounts else None


def check_fresh(odoo):
    """The screenshots show Connect and the first sync: nobody may have done them yet."""
    account = admin_account(odoo)
    if account and (account["state"] != "not_connected" or account["initial_sync_confirmed"]):
        raise ScreenshotError(
            "Mitchell Admin is already connected to Outlook in this demo: the screenshots "
            "start from a fresh `make demo` (stop it and start it again)"
        )


def take(args, odoo, browser):
    shots = Shots(browser, args)
    shots.out.mkdir(parents=True, exist_ok=True)
    shots.login()
    shots.sync_button_and_consent()
    shots.preview()

    account = admin_account(odoo)
    runs = odoo.call(
        "microsoft.contacts.sync.run",
        "search_read",
        [("account_id", "=", account["id"]), ("state", "!=", "running")],
        ["state", "count_new", "count_updated", "count_failed", "message"],
        limit=1,
    )
    if not runs or runs[0]["state"] != "done":
        raise ScreenshotError(f"the first sync did not end well: {runs}")
    run = runs[0]
    print(
        f"first sync (run {run['id']}): {run['count_new']} new, {run['count_updated']} updated, "
        f"{run['count_failed']} failed",
        flush=True,
    )
    partner = odoo.call("res.partner", "search", [("email", "=ilike", PARTNER_EMAIL)], limit=1)
    if not partner:
        raise ScreenshotError(f"no partner {PARTNER_EMAIL} in the demo database")

    shots.my_outlook_sync()
    shots.sync_log(run)
    shots.partner(partner[0])
    shots.settings()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--odoo", default=f"http://localhost:{os.environ.get('DEMO_PORT') or 8069}")
    parser.add_argument(
        "--simulator", default=f"https://127.0.0.1:{os.environ.get('DEMO_SIM_PORT') or 8443}"
    )
    parser.add_argument("--db", default="demo")
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM") or shutil.which("chromium"),
        help="the browser (default: $CHROMIUM, else chromium on the PATH)",
    )
    parser.add_argument("--out", default=str(ROOT / "static/description/screenshots"))
    parser.add_argument("--scale", type=float, default=2, help="device pixels per CSS pixel")
    parser.add_argument("--max-kb", type=int, default=250, help="largest PNG file size")
    parser.add_argument("--sync-timeout", type=int, default=600)
    args = parser.parse_args(argv)
    if not args.chromium:
        print("demo screenshots: no Chromium found; pass --chromium PATH", file=sys.stderr)
        return 1
    browser = None
    try:
        odoo = Odoo(args.odoo, args.db)
        check_fresh(odoo)
        browser = Browser(args.chromium, args.scale, certificate_spki_hash(args.simulator))
        take(args, odoo, browser)
    except requests.ConnectionError as error:
        print(f"demo screenshots: is `make demo` running? {error}", file=sys.stderr)
        return 1
    except (
        ScreenshotError,
        DemoError,
        OSError,
        requests.RequestException,
        websocket.WebSocketException,
    ) as error:
        if browser:
            failed = ROOT / ".tmp/demo-screenshots-failed.png"
            failed.parent.mkdir(exist_ok=True)
            try:
                failed.write_bytes(browser.screenshot())
                print(f"the page as it was: {failed.relative_to(ROOT)}", file=sys.stderr)
            except (ScreenshotError, OSError, websocket.WebSocketException):
                pass
        print(f"demo screenshots: {error}", file=sys.stderr)
        return 1
    finally:
        if browser:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
