import json
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.microsoft_contacts.graph.auth import ConsentRequiredError

from .common import HTTP_TAG, GraphSimulatorAdmin, point_at_simulator

CLIENT_ID = "odoo-contacts-app"
CLIENT_SECRET = "odoo-contacts-secret"


@tagged("post_install", "-at_install", HTTP_TAG)
class TestConnectFlow(HttpCase):
    """Sign-in through the shared callback, against the simulator's login, with real MSAL."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, CLIENT_ID, CLIENT_SECRET)
        cls.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts_tenant_id", "organizations"
        )
        cls.alice = new_test_user(cls.env, login="alice", password="alice-password-1")
        cls.bob = new_test_user(cls.env, login="bob", password="bob-password-1")
        cls.simulator.reset()
        cls.redirect_uri = f"{cls.base_url()}/microsoft_account/authentication"
        cls.simulator.register_app(CLIENT_ID, CLIENT_SECRET, [cls.redirect_uri])
        cls.megan = cls.simulator.add_user("megan@contoso.test", display_name="Megan Bowen")
        cls.simulator.configure(consent_mode="auto", default_user=cls.megan["id"])
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()

    # -- helpers ------------------------------------------------------------------------

    def _start(self, login, redirect=None):
        """Log in, click Connect, let Microsoft consent: return the callback URL."""
        self.authenticate(login, f"{login}-password-1")
        connect = "/microsoft_contacts/connect"
        if redirect is not None:
            connect = f"{connect}?{urlencode({'redirect': redirect})}"
        start = self.url_open(connect, allow_redirects=False)
        self.assertIn(start.status_code, (302, 303), start.text[:500])
        authorize = start.headers["Location"]
        self.assertTrue(authorize.startswith(self.simulator.base_url), authorize)
        query = parse_qs(urlsplit(authorize).query)
        self.assertEqual(query["code_challenge_method"], ["S256"])
        self.assertEqual(query["redirect_uri"], [self.redirect_uri])
        consent = requests.get(authorize, allow_redirects=False, timeout=10)
        self.assertIn(consent.status_code, (302, 303), consent.text[:500])
        callback = consent.headers["Location"]
        self.assertTrue(callback.startswith(self.redirect_uri), callback)
        return callback

    def _account(self, user):
        return self.env["microsoft.contacts.account"].sudo().search([("user_id", "=", user.id)])

    def _landing(self, response):
        """Where a redirect sends the browser, as a path and query on this Odoo."""
        self.assertIn(response.status_code, (302, 303), response.text[:500])
        target = urlsplit(response.headers["Location"])
        self.assertIn(target.netloc, ("", urlsplit(self.base_url()).netloc))
        return f"{target.path}?{target.query}" if target.query else target.path

    def _assert_refused(self, response):
        self.assertEqual(response.status_code, 403)
        self.assertIn("Outlook Contacts", response.text)

    # -- tests --------------------------------------------------------------------------

    def test_connect_success_then_graph_works(self):
        callback = self._start("alice")
        response = self.url_open(callback, allow_redirects=False)

        self.assertIn(response.status_code, (302, 303), response.text[:500])
        account = self._account(self.alice)
        self.assertEqual(
            urlsplit(response.headers["Location"]).path.split("/")[-1], str(account.id)
        )
        self.assertEqual(account.state, "connected")
        self.assertEqual(account.microsoft_username, "megan@contoso.test")
        self.assertTrue(account.token_cache)
        self.assertFalse(account.last_error)
        me = account._get_graph_client(max_retries=1).get("/me")
        self.assertEqual(me["id"], self.megan["id"])

    def test_connect_comes_back_to_the_contacts_view(self):
        back = "/odoo/contacts?view_type=list"
        response = self.url_open(self._start("alice", redirect=back), allow_redirects=False)
        self.assertEqual(self._landing(response), back)
        self.assertEqual(self._account(self.alice).state, "connected")

    def test_connect_never_sends_the_browser_elsewhere(self):
        account_page = None
        for foreign in (
            "https://evil.example/odoo",
            "//evil.example/odoo",
            "/\\evil.example/odoo",
            "\\/evil.example/odoo",
            "/\t/evil.example/odoo",
            "javascript:alert(1)",
            "https:/evil.example",
            "odoo/contacts",
            "",
        ):
            with self.subTest(redirect=foreign):
                response = self.url_open(
                    self._start("alice", redirect=foreign), allow_redirects=False
                )
                landing = self._landing(response)
                account_page = account_page or (
                    f"/odoo/action-microsoft_contacts.action_microsoft_contacts_account/"
                    f"{self._account(self.alice).id}"
                )
                self.assertEqual(landing, account_page)
                self.assertEqual(self._account(self.alice).state, "connected")

    def test_the_redirect_is_only_followed_after_a_successful_sign_in(self):
        self.simulator.configure(consent_mode="refuse")
        callback = self._start("alice", redirect="/odoo/contacts")
        landing = self._landing(self.url_open(callback, allow_redirects=False))
        self.assertNotEqual(landing, "/odoo/contacts")
        self.assertIn("consent was refused", self._account(self.alice).last_error)

    def test_replayed_callback_is_refused(self):
        callback = self._start("alice")
        self.url_open(callback, allow_redirects=False)
        self._assert_refused(self.url_open(callback, allow_redirects=False))

    def test_state_mismatch_is_refused(self):
        callback = self._start("alice")
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        state = json.loads(query["state"])
        state["n"] = "another-nonce"
        query["state"] = json.dumps(state)
        response = self.url_open(f"{parts.path}?{urlencode(query)}", allow_redirects=False)
        self._assert_refused(response)
        self.assertNotEqual(self._account(self.alice).state, "connected")

    def test_public_user_is_refused(self):
        callback = self._start("alice")
        self.authenticate(None, None)
        self._assert_refused(self.url_open(callback, allow_redirects=False))
        self.assertNotEqual(self._account(self.alice).state, "connected")

    def test_foreign_session_is_refused(self):
        callback = self._start("alice")
        self.authenticate("bob", "bob-password-1")
        self._assert_refused(self.url_open(callback, allow_redirects=False))
        self.assertFalse(self._account(self.bob).token_cache)
        self.assertNotEqual(self._account(self.alice).state, "connected")

    def test_microsoft_refusal_is_told_to_the_user(self):
        self.simulator.configure(consent_mode="refuse")
        callback = self._start("alice")
        self.assertIn("error=access_denied", callback)
        response = self.url_open(callback, allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        account = self._account(self.alice)
        self.assertEqual(account.state, "not_connected")
        self.assertIn("consent was refused", account.last_error)

    def test_calendar_state_still_reaches_the_standard_handler(self):
        self.authenticate("alice", "alice-password-1")
        state = json.dumps({"d": self.env.cr.dbname, "s": "calendar", "f": "/odoo/calendar"})
        query = urlencode({"state": state, "error": "access_denied"})
        response = self.url_open(
            f"/microsoft_account/authentication?{query}", allow_redirects=False
        )
        self.assertIn(response.status_code, (302, 303))
        target = urlsplit(response.headers["Location"])
        self.assertEqual((target.path, target.query), ("/odoo/calendar", "error=access_denied"))

    def test_revoked_consent_marks_needs_reconnect_and_tells_the_user(self):
        self.url_open(self._start("alice"), allow_redirects=False)
        account = self._account(self.alice)
        self.simulator.revoke(self.megan["id"])

        # Not assertRaises: it rolls back to a savepoint, and the point is what stays written.
        raised = None
        try:
            account._get_access_token(force_refresh=True)
        except ConsentRequiredError as error:
            raised = error
        self.assertIsNotNone(raised, "a revoked refresh token must raise ConsentRequiredError")

        self.assertEqual(account.state, "needs_reconnect")
        self.assertIn("invalid_grant", account.last_error)
        activity = account.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.alice)

        # Reconnecting clears the state and closes the activity.
        self.url_open(self._start("alice"), allow_redirects=False)
        account.invalidate_recordset()
        self.assertEqual(account.state, "connected")
        self.assertFalse(account.activity_ids)

    def test_a_refreshed_cache_is_used_by_the_next_call(self):
        self.url_open(self._start("alice"), allow_redirects=False)
        account = self._account(self.alice)
        first = account._get_access_token(force_refresh=True)
        rotated = account.token_cache
        # The rotated cache was written through the ORM, not flushed yet: the next call must
        # see it (a stale read would refresh again with the previous refresh token).
        second = account._get_access_token()
        self.assertEqual(second, first)
        self.assertEqual(account.token_cache, rotated)

    def test_disconnect_removes_the_tokens(self):
        self.url_open(self._start("alice"), allow_redirects=False)
        account = self._account(self.alice)
        account.with_user(self.alice).action_disconnect()
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(account.token_cache)
        self.assertFalse(account.home_account_id)
        with self.assertRaises(ConsentRequiredError):
            account._get_access_token()
