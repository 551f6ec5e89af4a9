"""The steps of `make demo` that speak HTTP (tools/demo.sh runs the processes).

    demo.py simulator --simulator URL --ca BUNDLE --odoo-port N
        the mailbox of Mitchell Admin with ~200 contacts (tools/demo_seed.py), the Azure
        application Odoo uses, and the consent page that Connect shows
    demo.py odoo --odoo URL --db DB --simulator URL
        Odoo's settings as an administrator would enter them, pointed at the simulator,
        through JSON-RPC as admin / admin
    demo.py check --odoo URL --db DB --simulator URL --ca BUNDLE
        the smoke check of `make demo-check`: what the demo promises, asked over HTTP, then a
        Connect (login, consent, callback) and one background sync, as a user would do them

The standard library, requests and tools/demo_seed.py: no odoo import.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import sys
import time
from urllib.parse import quote, urljoin

import requests
from demo_seed import DEMO_FOLDER, DEMO_MAILBOX, ODOO_DEMO_PEOPLE, demo_contacts

CLIENT_ID = "5d0e6f3a-8b1c-4e2d-9f7a-0c4b3a2d1e6f"
CLIENT_SECRET = "demo-client-secret"
TENANT = "organizations"
CALLBACK = "/microsoft_account/authentication"
TIMEOUT = 30


class DemoError(Exception):
    """A step of the demo did not do what it should: the message says what was seen."""


# -- simulator -------------------------------------------------------------------------------


class Simulator:
    """The simulator's /_sim admin API."""

    def __init__(self, url, ca_bundle):
        self.url = url.rstrip("/")
        self.ca_bundle = ca_bundle  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
        self.session = requests.Session()

    def call(self, method, path, payload=None):
        response = self.session.request(
            method, f"{self.url}/_sim/{path}", json=payload, verify=self.ca_bundle, timeout=TIMEOUT
        )
        if not response.ok:
            raise DemoError(
                f"simulator {method} /_sim/{path}: {response.status_code} {response.text}"
            )
        return response.json()

    def mailbox_user(self):
        upn = DEMO_MAILBOX["upn"].lower()
        return next(
            (u for u in self.call("GET", "users") if u["userPrincipalName"].lower() == upn), None
        )


def redirect_uris(odoo_port):
    """Odoo builds its redirect URI from the address the administrator browses it at."""
    return [f"http://{host}:{odoo_port}{CALLBACK}" for host in ("localhost", "127.0.0.1")]


def prepare_simulator(args):
    sim = Simulator(args.simulator, args.ca)
    sim.call(
        "POST",
        "apps",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris(args.odoo_port),
        },
    )
    attrs = {k: v for k, v in DEMO_MAILBOX.items() if k != "upn"}
    user = sim.call("POST", "users", {"upn": DEMO_MAILBOX["upn"], **attrs})
    # Connect shows Microsoft's consent page with Mitchell Admin chosen: one click on Accept.
    sim.call("POST", "configure", {"consent_mode": "page", "default_user": user["id"]})
    folder = sim.call("POST", f"users/{user['id']}/folders", {"display_name": DEMO_FOLDER})
    contacts = demo_contacts()
    seeded = sim.call(
        "POST", f"users/{user['id']}/contacts", {"contacts": contacts, "folder_id": folder["id"]}
    )
    print(json.dumps({"user_id": user["id"], "upn": DEMO_MAILBOX["upn"], "contacts": len(seeded)}))


# -- Odoo ------------------------------------------------------------------------------------


class Odoo:
    """JSON-RPC as a given user, the way any external client talks to Odoo."""

    def __init__(self, url, db, login="admin", password="admin"):
        self.url = url.rstrip("/")
        self.db, self.password = db, password
        self.uid = self._rpc("common", "login", db, login, password)
        if not self.uid:
            raise DemoError(f"Odoo refused the login {login!r} on database {db!r}")

    def _rpc(self, service, method, *args):
        response = requests.post(
            f"{self.url}/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": args},
            },
            timeout=TIMEOUT * 4,
        )
        response.raise_for_status()
        answer = response.json()
        if answer.get("error"):
            error = answer["error"].get("data", {}).get("message") or answer["error"]
            raise DemoError(f"Odoo {service}.{method}: {error}")
        return answer["result"]

    def call(self, model, method, *args, **kwargs):
        return self._rpc(
            "object", "execute_kw", self.db, self.uid, self.password, model, method, args, kwargs
        )

    def params(self, keys):
        rows = self.call(
            "ir.config_parameter", "search_read", [("key", "in", list(keys))], ["key", "value"]
        )
        return {row["key"]: row["value"] for row in rows}

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            ["model", "res_id"],
        )
        if not rows:
            raise DemoError(f"Odoo has no record {xmlid}")
        return rows[0]["res_id"]


def expected_params(simulator):
    return {
        "microsoft_contacts_client_id": CLIENT_ID,
        "microsoft_contacts_client_secret": CLIENT_SECRET,
        "microsoft_contacts_tenant_id": TENANT,
        "microsoft_contacts.login_endpoint": simulator.rstrip("/"),
        "microsoft_contacts.graph_endpoint": simulator.rstrip("/"),
    }


def configure_odoo(args):
    odoo = Odoo(args.odoo, args.db)
    # The Azure application, as entered in Settings > Integrations > Outlook Contacts.
    settings = odoo.call(
        "res.config.settings",
        "create",
        {
            "microsoft_contacts_client_id": CLIENT_ID,
            "microsoft_contacts_client_secret": CLIENT_SECRET,
            "microsoft_contacts_tenant_id": TENANT,
        },
    )
    odoo.call("res.config.settings", "execute", [settings])
    # Microsoft's endpoints replaced by the simulator (system parameters, as documented).
    for key, value in expected_params(args.simulator).items():
        if key.endswith("_endpoint"):
            odoo.call("ir.config_parameter", "set_param", key, value)


# -- check -----------------------------------------------------------------------------------


class _ConsentForm(html.parser.HTMLParser):
    """The simulator's consent page: the form's action, hidden fields and the chosen user."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self.users = None, {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "input" and attrs.get("type") == "radio":
            self.users.append((attrs["value"], "checked" in attrs))


def step(title):
    print(f"--- {title}", flush=True)


def check(args):
    started = time.monotonic()
    sim = Simulator(args.simulator, args.ca)

    step("the simulator holds the demo mailbox")
    user = sim.mailbox_user()
    if not user:
        raise DemoError(f"no simulator user {DEMO_MAILBOX['upn']}")
    folder = next(
        (
            f
            for f in sim.call("GET", f"users/{user['id']}/folders")
            if f["displayName"] == DEMO_FOLDER
        ),
        None,
    )
    if not folder:
        raise DemoError(f"no folder {DEMO_FOLDER!r} in the mailbox")
    expected = demo_contacts()
    held = sim.call("GET", f"users/{user['id']}/contacts?folder_id={quote(folder['id'])}")
    if len(held) != len(expected) or not 150 <= len(held) <= 250:
        raise DemoError(
            f"{len(held)} contacts in the folder {DEMO_FOLDER!r}, {len(expected)} expected"
        )
    print(f"{len(held)} contacts in {DEMO_MAILBOX['upn']}'s folder {DEMO_FOLDER!r}")

    step("Odoo answers, with demo data, and points at the simulator")
    login_page = requests.get(f"{args.odoo}/web/login", timeout=TIMEOUT)
    if login_page.status_code != 200 or 'name="login"' not in login_page.text:
        raise DemoError(f"/web/login answered {login_page.status_code}")
    odoo = Odoo(args.odoo, args.db)
    params = odoo.params(expected_params(args.simulator))
    wrong = {
        key: params.get(key)
        for key, value in expected_params(args.simulator).items()
        if params.get(key) != value
    }
    if wrong:
        raise DemoError(f"Odoo's settings do not point at the simulator: {wrong}")
    demo_emails = [email for _name, email, *_rest in ODOO_DEMO_PEOPLE]
    known = odoo.call("res.partner", "search_count", [("email", "in", demo_emails)])
    if known != len(demo_emails):
        raise DemoError(f"{known} of Odoo's {len(demo_emails)} demo people found: no demo data?")
    print(f"settings point at {args.simulator}; Odoo's demo partners are there")

    step("admin connects Outlook: Odoo login, Microsoft consent, back to Odoo")
    account = connect_as_admin(args, sim)
    print(f"account {account['id']} connected as {account['microsoft_username']}")

    step("Sync with Outlook: the first sync opens the preview; admin syncs everything")
    first_click = odoo.call("microsoft.contacts.account", "action_sync_from_contacts", "/odoo")
    if first_click.get("res_model") != "microsoft.contacts.sync.preview":
        raise DemoError(f"the first Sync with Outlook did not open the preview: {first_click}")
    queued = odoo.call(
        "microsoft.contacts.sync.preview", "action_sync_everything", [first_click["res_id"]]
    )
    print(f"preview {first_click['res_id']} shown; {queued['params']['message']}")

    step("the background sync runs (cron worker)")
    run = wait_for_background_sync(odoo, account["id"], args.sync_timeout)
    print(
        f"sync run {run['id']}: {run['count_new']} new, {run['count_updated']} updated, "
        f"{run['count_unchanged']} unchanged, {run['count_failed']} failed"
    )
    check_synced(odoo, sim, user["id"], folder["id"], expected)
    print(f"demo check passed in {time.monotonic() - started:.0f} s")


def connect_as_admin(args, sim):
    browser = requests.Session()
    login = browser.post(
        f"{args.odoo}/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": args.db, "login": "admin", "password": "admin"}},
        timeout=TIMEOUT,
    )
    if login.json().get("error"):
        raise DemoError(f"admin could not log in: {login.json()['error']}")
    to_microsoft = browser.get(
        f"{args.odoo}/microsoft_contacts/connect", allow_redirects=False, timeout=TIMEOUT
    )
    authorize_url = to_microsoft.headers.get("Location", "")
    if not authorize_url.startswith(args.simulator):
        raise DemoError(
            f"Connect did not lead to the simulator: {to_microsoft.status_code} {authorize_url}"
        )
    page = browser.get(authorize_url, verify=args.ca, timeout=TIMEOUT)
    form = _ConsentForm()
    form.feed(page.text)
    chosen = [uid for uid, checked in form.users if checked]
    if page.status_code != 200 or not form.action or chosen != [sim.mailbox_user()["id"]]:
        raise DemoError(
            f"no consent page with the demo user chosen: {page.status_code} {page.text[:300]}"
        )
    back = browser.post(
        urljoin(authorize_url, form.action),
        data={**form.fields, "user_id": chosen[0], "sim_action": "accept"},
        verify=args.ca,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    callback = back.headers.get("Location", "")
    if not callback.startswith(f"{args.odoo}{CALLBACK}") or "code=" not in callback:
        raise DemoError(
            f"consent did not return to Odoo with a code: {back.status_code} {callback}"
        )
    landed = browser.get(callback, allow_redirects=False, timeout=TIMEOUT)
    if landed.status_code not in (302, 303):
        raise DemoError(f"Odoo's callback answered {landed.status_code}: {landed.text[:300]}")
    odoo = Odoo(args.odoo, args.db)
    accounts = odoo.call(
        "microsoft.contacts.account",
        "search_read",
        [("user_id", "=", odoo.uid)],
        ["state", "microsoft_username", "last_error"],
    )
    if not accounts or accounts[0]["state"] != "connected":
        raise DemoError(f"admin's Outlook account is not connected: {accounts}")
    return accounts[0]


def wait_for_background_sync(odoo, account_id, timeout):
    # The sync asked for triggered the cron: the worker (ODOO_NOTIFY_CRON_CHANGES) runs it now.
    deadline = time.monotonic() + timeout
    fields = ["state", "message", "count_new", "count_updated", "count_unchanged", "count_failed"]
    while time.monotonic() < deadline:
        runs = odoo.call(
            "microsoft.contacts.sync.run",
            "search_read",
            [("account_id", "=", account_id), ("state", "!=", "running")],
            fields,
            limit=1,
        )
        if runs:
            if runs[0]["state"] != "done":
                raise DemoError(f"the sync failed: {runs[0]['message']}")
            return runs[0]
        time.sleep(2)
    raise DemoError(f"no finished sync run after {timeout} s: is the cron worker running?")


def check_synced(odoo, sim, user_id, folder_id, expected):
    """Outlook's people are in Odoo, and Odoo's demo people were linked, not duplicated."""
    links = odoo.call("microsoft.contacts.link", "search_count", [])
    if links < len(expected) * 0.9:
        raise DemoError(f"only {links} links after the first sync of {len(expected)} contacts")
    for _name, email, *_rest in ODOO_DEMO_PEOPLE:
        found = odoo.call("res.partner", "search_count", [("email", "=ilike", email)])
        if found != 1:
            raise DemoError(f"{found} Odoo partners with the email {email} (1 expected)")
    in_folder = sim.call("GET", f"users/{user_id}/contacts?folder_id={quote(folder_id)}")
    print(
        f"{links} contacts linked; Odoo's demo people matched by email, none duplicated; "
        f"{len(in_folder)} contacts now in the Outlook folder"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sim_cmd = commands.add_parser("simulator")
    sim_cmd.add_argument("--simulator", required=True)
    sim_cmd.add_argument("--ca", required=True)
    sim_cmd.add_argument("--odoo-port", type=int, required=True)
    odoo_cmd = commands.add_parser("odoo")
    check_cmd = commands.add_parser("check")
    for command in (odoo_cmd, check_cmd):
        command.add_argument("--odoo", required=True)
        command.add_argument("--db", required=True)
        command.add_argument("--simulator", required=True)
    check_cmd.add_argument("--ca", required=True)
    check_cmd.add_argument("--sync-timeout", type=int, default=180)
    args = parser.parse_args(argv)
    action = {"simulator": prepare_simulator, "odoo": configure_odoo, "check": check}
    try:
        action[args.command](args)
    except (DemoError, requests.RequestException) as error:
        print(f"demo {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
