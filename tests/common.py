"""Shared helpers for the Odoo tier.

The Graph simulator (tools/graph_simulator) plays Microsoft. The tests start it themselves, so
that Odoo's own runners need nothing prepared (`odoo-bin --test-tags /microsoft_contacts`,
`-i microsoft_contacts --test-enable`, pytest-odoo): `GraphSimulatorAdmin.for_class(cls)` in a
class's setUpClass starts it on first use and trusts its test CA while the class runs.

It runs once per test process, shared by the classes, as a process of its own:
- once per process, not per class: a start takes a few tenths of a second (an interpreter, a
  fresh test CA), twenty classes over, while what a class needs is a clean simulated world,
  which `reset()` or `restore()` gives in a millisecond: the world, not the process, is what
  tests must not share;
- its own process, not a thread of Odoo's: as Microsoft is, another server, whose throttling
  and latency run on their own clock and threads instead of competing with the test for Odoo's
  interpreter lock, and nothing of tools/ lands on Odoo's import path. It stops when the test
  process ends, however that ends: it serves until its standard input, a pipe from this
  process, closes.

A simulator started elsewhere can stand in: MICROSOFT_CONTACTS_SIMULATOR_URL names it, and
REQUESTS_CA_BUNDLE must then already point at a bundle that trusts its CA.
"""

import atexit
import json
import os
import select
import subprocess
import sys
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import requests

from odoo.tests import TransactionCase, new_test_user

SIMULATOR_ENV = "MICROSOFT_CONTACTS_SIMULATOR_URL"
# The addon's tools/ folder, which holds the graph_simulator package.
TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
START_TIMEOUT = 60
TIMEOUT = 10
# An internal user with Contacts rights (creates and edits contacts), not an administrator:
# the users whose syncs the tests run. base.group_user alone reads contacts only.
CONTACTS_USER_GROUPS = "base.group_user,base.group_partner_manager"
# Tests that need Odoo's HTTP server (HttpCase: controllers, tours, hoot) carry this tag:
# `make test` runs them with odoo-bin and the others with pytest-odoo (tools/pytest_tier2.py).
HTTP_TAG = "microsoft_contacts_http"


def new_contacts_user(env, login, **kwargs):
    """A salesperson-like user: may create and edit contacts, nothing more."""
    kwargs.setdefault("name", login.replace("_", " ").title())
    return new_test_user(env, login=login, groups=CONTACTS_USER_GROUPS, **kwargs)


def point_at_simulator(env, simulator, client_id=None, client_secret=None):
    """Settings as an administrator would enter them, with endpoints on the simulator."""
    icp = env["ir.config_parameter"].sudo()
    icp.set_param("microsoft_contacts.login_endpoint", simulator.base_url)
    icp.set_param("microsoft_contacts.graph_endpoint", simulator.base_url)
    if client_id:
        icp.set_param("microsoft_contacts_client_id", client_id)
        icp.set_param("microsoft_contacts_client_secret", client_secret)


class _SimulatorProcess:
    """The simulator this test process started: `python -m graph_simulator` on a free port."""

    def __init__(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [TOOLS, env.get("PYTHONPATH")]))
        # Its error output goes where this process's goes (Odoo's log, pytest's capture).
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "graph_simulator",
                "--port=0",
                "--seed=1",
                "--until-stdin-closes",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError(
                f"the Graph simulator ({TOOLS}/graph_simulator) did not start within "
                f"{START_TIMEOUT} s (exit {self.process.returncode}); its error output is "
                "above. It needs the packages of requirements-test.txt (trustme)."
            )
        info = json.loads(line)
        self.base_url = info["base_url"]
        self.ca_bundle = info["ca_bundle_path"]  # the system's CAs and the simulator's
        atexit.register(self.stop)

    def running(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()  # the simulator stops when its standard input closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_simulator_process = None


def _shared_simulator():
    """The process's simulator, started on first use (and again if it died)."""
    global _simulator_process
    if _simulator_process is None or not _simulator_process.running():
        _simulator_process = _SimulatorProcess()
    return _simulator_process


def _set_environ(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class GraphSimulatorAdmin:
    """Drives the simulator's test-only /_sim API over HTTPS."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()  # keep-alive: seeding makes many small calls

    @classmethod
    def for_class(cls, test_class):
        """The simulator `test_class` talks to, trusted by requests until the class ends.

        Call it from setUpClass. Requests lets REQUESTS_CA_BUNDLE override a session's own
        `verify`, and the environment may export one (a corporate CA): the class points it at
        a bundle of the system's CAs plus the simulator's, and puts it back afterwards.
        """
        url = os.environ.get(SIMULATOR_ENV)
        if url:
            admin = cls(url)
        else:
            shared = _shared_simulator()
            test_class.addClassCleanup(
                _set_environ, "REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE")
            )
            os.environ["REQUESTS_CA_BUNDLE"] = shared.ca_bundle
            admin = cls(shared.base_url)
        test_class.addClassCleanup(admin.session.close)
        return admin

    def checkpoint(self, test_class):
        """Remember the simulated world as it is now, as the starting point of each test.

        TransactionCase rolls Odoo back after each test; this is the simulator's half: each
        test's setUp calls back_to_checkpoint() and starts from the same world, e.g. a mailbox
        the class signed in to once.
        """
        self._checkpoint = f"{test_class.__module__}.{test_class.__qualname__}"
        self._call("POST", f"snapshots/{self._checkpoint}")

    def back_to_checkpoint(self):
        self._call("POST", f"snapshots/{self._checkpoint}/restore")

    def _call(self, method, path, json=None):
        response = self.session.request(
            method, f"{self.base_url}/_sim/{path.lstrip('/')}", json=json, timeout=TIMEOUT
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self):
        return self._call("POST", "reset")

    def configure(self, **options):
        return self._call("POST", "configure", json=options)

    def add_user(self, upn, **attrs):
        return self._call("POST", "users", json={"upn": upn, **attrs})

    def add_users(self, users):
        """Many users in one call: each a dict with "upn" and attributes."""
        return self._call("POST", "users", json=list(users))

    def update_user(self, user_id, **attrs):
        return self._call("PATCH", f"users/{user_id}", json=attrs)

    def delete_user(self, user_id):
        return self._call("DELETE", f"users/{user_id}")

    def add_group(self, display_name, members=()):
        return self._call(
            "POST", "groups", json={"display_name": display_name, "members": list(members)}
        )

    def change_group_members(self, group_id, add=(), remove=()):
        """Add or remove direct members (user or group ids); returns the direct member ids."""
        return self._call(
            "PATCH", f"groups/{group_id}/members", json={"add": list(add), "remove": list(remove)}
        )

    def advance_time(self, seconds):
        return self._call("POST", "advance_time", json={"seconds": seconds})

    def clock(self):
        """The simulator's clock (simulated epoch seconds)."""
        return self._call("GET", "clock")["now"]

    def stats(self):
        return self._call("GET", "stats")

    def revoke(self, user_id):
        return self._call("POST", f"users/{user_id}/revoke")

    def issue_token(self, user_id):
        return self._call("POST", f"users/{user_id}/token")["access_token"]

    def register_app(self, client_id, client_secret, redirect_uris=None):
        return self._call(
            "POST",
            "apps",
            json={
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": redirect_uris,
            },
        )

    def grant_admin_consent(self, client_id, tenant_id=None):
        return self._call("POST", f"apps/{client_id}/admin_consent", json={"tenant_id": tenant_id})

    def revoke_admin_consent(self, client_id):
        return self._call("DELETE", f"apps/{client_id}/admin_consent")

    def admin_consents(self):
        return self._call("GET", "admin_consents")

    def authorize(self, tenant, **params):
        """Run the authorize step as a consenting browser would; return the redirect query."""
        response = requests.get(
            f"{self.base_url}/{tenant}/oauth2/v2.0/authorize",
            params=params,
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if response.status_code not in (302, 303):
            raise AssertionError(
                f"authorize answered {response.status_code}: {response.text[:300]}"
            )
        location = response.headers["Location"]
        return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in_account(account, simulator, redirect_uri, login_hint=None):
    """Connect `account` through a real MSAL sign-in against the simulator (no browser).

    The app must be registered with `redirect_uri`; the simulator consents on its own
    (consent_mode "auto"), as the connect flow's browser would.
    """
    identity = account._get_identity()
    flow = identity.start_sign_in(redirect_uri, "test-state", login_hint=login_hint)
    response = requests.get(flow["auth_uri"], allow_redirects=False, timeout=TIMEOUT)
    if response.status_code not in (302, 303):
        raise AssertionError(f"authorize answered {response.status_code}: {response.text[:300]}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    account._save_sign_in(identity.finish_sign_in(flow, query))
    return account


class OutlookMailbox:
    """The simulator's view of one user's mailbox, for assertions and edits."""

    def __init__(self, simulator, user_id):
        self.simulator = simulator
        self.user_id = user_id

    def folders(self):
        return self.simulator._call("GET", f"users/{self.user_id}/folders")

    def folder(self, name):
        return next((f for f in self.folders() if f["displayName"] == name), None)

    def contacts(self, folder_id=None):
        suffix = f"?folder_id={folder_id}" if folder_id else ""
        return self.simulator._call("GET", f"users/{self.user_id}/contacts{suffix}")

    def seed(self, contacts, folder_id=None):
        return self.simulator._call(
            "POST",
            f"users/{self.user_id}/contacts",
            json={"contacts": list(contacts), "folder_id": folder_id},
        )

    def edit(self, contact_id, **values):
        return self.simulator._call("PATCH", f"users/{self.user_id}/contacts/{contact_id}", values)

    def corrupt(self, contact_id, **values):
        """Serve these values as they are (wrong types included): a fault Graph may send."""
        return self.simulator._call(
            "PATCH", f"users/{self.user_id}/contacts/{contact_id}/corrupt", values
        )

    def delete(self, contact_id):
        return self.simulator._call("DELETE", f"users/{self.user_id}/contacts/{contact_id}")

    def _photo_url(self, contact_id):
        return f"{self.simulator.base_url}/_sim/users/{self.user_id}/contacts/{contact_id}/photo"

    def set_photo(self, contact_id, data, content_type="image/png"):
        """The contact's photo as its user sets it in Outlook (stored as given, unchecked)."""
        response = self.simulator.session.put(
            self._photo_url(contact_id),
            data=data,
            headers={"Content-Type": content_type},
            timeout=TIMEOUT,
        )
        response.raise_for_status()

    def photo(self, contact_id):
        """The bytes of the contact's photo, or None when it has none."""
        response = self.simulator.session.get(self._photo_url(contact_id), timeout=TIMEOUT)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content

    def delete_photo(self, contact_id):
        response = self.simulator.session.delete(self._photo_url(contact_id), timeout=TIMEOUT)
        response.raise_for_status()

    def create_folder(self, name):
        return self.simulator._call(
            "POST", f"users/{self.user_id}/folders", json={"display_name": name}
        )

    def delete_folder(self, folder_id):
        return self.simulator._call("DELETE", f"users/{self.user_id}/folders/{folder_id}")

    def reset_sync_state(self, folder_id):
        return self.simulator._call(
            "POST", f"users/{self.user_id}/folders/{folder_id}/reset_sync_state"
        )

    def spend_window(self, fraction, spread=True):
        """Another client of the app spent `fraction` of this mailbox's rate window."""
        return self.simulator._call(
            "POST",
            f"users/{self.user_id}/spend_window",
            json={"fraction": fraction, "spread": spread},
        )

    def throttling(self, since):
        """How this mailbox's requests since `since` (simulator clock) used the rate limit."""
        return self.simulator._call("GET", f"users/{self.user_id}/throttling?since={since!r}")


FOLDER = "Odoo Contacts"


def person(given, surname, email, **extra):
    """An Outlook contact as a user types it."""
    return {
        "givenName": given,
        "surname": surname,
        "emailAddresses": [{"address": email}],
        **extra,
    }


@contextmanager
def partner_creates_refused(registry, marker):
    """res.partner.create fails for partners named with `marker`, as a broken record would."""
    Partner = registry["res.partner"]
    original = Partner.create

    def create(records, vals_list):
        listed = vals_list if isinstance(vals_list, list) else [vals_list]
        if any(marker in (vals.get("name") or "") for vals in listed):
            raise ValueError("refused by the test")
        return original(records, vals_list)

    with patch.object(Partner, "create", create):
        yield


def first_email(item):
    """The first address of a Graph contact, lowercased ("" when none)."""
    addresses = item.get("emailAddresses") or []
    return (addresses[0].get("address") or "").lower() if addresses else ""


class OutlookSyncCase(TransactionCase):
    """An Odoo user's account, signed in through real MSAL to one simulator mailbox."""

    client_id = "odoo-contacts-app"
    client_secret = "odoo-contacts-secret"
    redirect_uri = "http://localhost:8069/microsoft_account/authentication"
    account_login = "outlook_sync_user"
    account_groups = CONTACTS_USER_GROUPS
    mailbox_upn = "megan@contoso.test"
    mailbox_name = "Megan Bowen"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, cls.client_id, cls.client_secret)
        cls.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts_tenant_id", "organizations"
        )
        cls.account_user = new_test_user(
            cls.env,
            login=cls.account_login,
            name=cls.account_login.replace("_", " ").title(),
            groups=cls.account_groups,
        )
        cls.Partner = cls.env["res.partner"]
        # Signed in once for the class: each test starts from this point, Odoo's side by the
        # test's savepoint, the simulator's by its checkpoint (tokens, mailbox, counters).
        cls.simulator.reset()
        cls.simulator.register_app(cls.client_id, cls.client_secret, [cls.redirect_uri])
        owner = cls.simulator.add_user(cls.mailbox_upn, display_name=cls.mailbox_name)
        cls.simulator.configure(consent_mode="auto", default_user=owner["id"])
        cls.mailbox = OutlookMailbox(cls.simulator, owner["id"])
        cls.account = cls.env["microsoft.contacts.account"].create({"user_id": cls.account_user.id})
        sign_in_account(cls.account, cls.simulator, cls.redirect_uri, login_hint=cls.mailbox_upn)
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()
        self.assertEqual(self.account.state, "connected")

    def _sync(self, account=None):
        run = (account or self.account)._sync_outlook()
        self.assertTrue(run, "the account was not locked by anyone else")
        return run

    def _committing_sync(self, method="_sync_outlook"):
        """Run as a background worker would, committing as it goes: the class must be in test
        mode (registry.enter_test_mode), where its commits and rollbacks move a savepoint."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            account = self.account.with_env(self.account.env(cr=cr)).with_context(
                microsoft_contacts_auto_commit=True
            )
            if method == "_sync_outlook":
                run_id = account._sync_outlook().id
            else:
                getattr(account.browse(), method)()
                run_id = account.sudo().sync_run_ids[:1].id
        self.env.invalidate_all()
        return self.env["microsoft.contacts.sync.run"].browse(run_id)

    def _synced(self, account=None):
        run = self._sync(account)
        self.assertEqual(run.state, "done", run.message)
        return run

    def _items(self, email, mailbox=None):
        """The synced folder's contacts whose first email is `email`."""
        mailbox = mailbox or self.mailbox
        folder = mailbox.folder(FOLDER)
        if not folder:
            return []
        return [i for i in mailbox.contacts(folder["id"]) if first_email(i) == email.lower()]

    def _partners(self, email):
        return self.Partner.with_context(active_test=False).search([("email", "=ilike", email)])

    def _link(self, partner, account=None):
        return self.env["microsoft.contacts.link"].search(
            [("account_id", "=", (account or self.account).id), ("partner_id", "=", partner.id)]
        )

    def _seed(self, contacts, mailbox=None):
        """Type these contacts into the synced folder (created when missing)."""
        mailbox = mailbox or self.mailbox
        folder = mailbox.folder(FOLDER) or mailbox.create_folder(FOLDER)
        return mailbox.seed(contacts, folder_id=folder["id"])


class DirectoryCase(TransactionCase):
    """An Entra ID directory read from the simulator's tenant with the app's own identity."""

    client_id = "directory-app"
    client_secret = "directory-secret"
    tenant = "contoso.test"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, cls.client_id, cls.client_secret)
        cls.simulator.reset()
        cls.simulator.register_app(cls.client_id, cls.client_secret)
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()

    def _directory(self, **values):
        return self.env["microsoft.contacts.directory"].create(
            {"name": "Contoso", "tenant_id": self.tenant, **values}
        )

    def _import(self, directory):
        run = directory._run_import()
        self.assertEqual(run.state, "done", run.message)
        return run

    def _partner(self, user):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_user_id", "=", user["id"])])
        )
