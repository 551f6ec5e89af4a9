import json
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from odoo.tests import new_test_user, tagged

from .browser import BrowserCase
from .common import CONTACTS_USER_GROUPS, HTTP_TAG, GraphSimulatorAdmin, point_at_simulator

CLIENT_ID = "directory-app"
CLIENT_SECRET = "directory-secret"
TENANT = "contoso.test"
CALLBACK = "/microsoft_account/authentication"


@tagged("post_install", "-at_install", HTTP_TAG)
class TestDirectoryAdminConsent(BrowserCase):
    """Grant Admin Consent from the directory form, through the simulator's admin consent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, CLIENT_ID, CLIENT_SECRET)
        cls.redirect_uri = f"{cls.base_url()}{CALLBACK}"
        cls.second_admin = new_test_user(
            cls.env, login="second_admin", password="second-admin-1", groups="base.group_system"
        )
        cls.contacts_user = new_test_user(
            cls.env,
            login="entra_consent_user",
            password="consent-user-1",
            groups=CONTACTS_USER_GROUPS,
        )
        cls.simulator.reset()
        cls.simulator.register_app(CLIENT_ID, CLIENT_SECRET, [cls.redirect_uri])
        cls.simulator.configure(admin_consent_required=True)
        cls.adele = cls.simulator.add_user("adele@contoso.test", display_name="Adele Vance")
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()
        self.directory = self.env["microsoft.contacts.directory"].create(
            {"name": "Contoso", "tenant_id": TENANT}
        )

    # -- helpers ------------------------------------------------------------------------

    def _start(self, directory=None, login="admin", password="admin"):
        """Log in, click Grant Admin Consent: return Microsoft's URL the browser is sent to."""
        directory = directory or self.directory
        self.authenticate(login, password)
        action = directory.action_grant_admin_consent()
        self.assertEqual(action["type"], "ir.actions.act_url")
        response = self.url_open(action["url"], allow_redirects=False)
        self.assertIn(response.status_code, (302, 303), response.text[:500])
        return response.headers["Location"]

    def _microsoft(self, url):
        """The administrator answers on Microsoft's page: return the way back to Odoo."""
        answer = requests.get(url, allow_redirects=False, timeout=10)
        self.assertIn(answer.status_code, (302, 303), answer.text[:500])
        callback = answer.headers["Location"]
        self.assertTrue(callback.startswith(self.redirect_uri), callback)
        return callback

    def _back(self, callback):
        """Follow the way back; return the path Odoo sends the browser to."""
        response = self.url_open(callback, allow_redirects=False)
        self.assertIn(response.status_code, (302, 303), response.text[:500])
        return urlsplit(response.headers["Location"]).path

    def _form_path(self, directory=None):
        directory = directory or self.directory
        return f"/odoo/action-microsoft_contacts.action_microsoft_contacts_directory/{directory.id}"

    def _assert_refused(self, response):
        self.assertEqual(response.status_code, 403)
        self.assertIn("Entra ID Directories", response.text)

    # -- tests --------------------------------------------------------------------------

    def test_grant_comes_back_to_the_form_then_test_reads_users_and_the_import_resumes(self):
        failed = self.directory._run_import()
        self.assertEqual(failed.state, "failed")
        self.assertIn("Authorization_RequestDenied", failed.message)
        refused = self.directory.action_test()
        self.assertEqual(refused["params"]["type"], "danger")
        self.assertIn("Grant Admin Consent", refused["params"]["message"])

        url = self._start()
        parts = urlsplit(url)
        self.assertEqual(
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            f"{self.simulator.base_url}/{TENANT}/v2.0/adminconsent",
        )
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.assertEqual(query["client_id"], CLIENT_ID)
        self.assertEqual(query["scope"], f"{self.simulator.base_url}/.default")
        self.assertEqual(query["redirect_uri"], self.redirect_uri)
        state = json.loads(query["state"])
        self.assertEqual((state["s"], state["d"]), ("entra_consent", self.directory.id))

        self.assertEqual(self._back(self._microsoft(url)), self._form_path())
        self.assertEqual(len(self.simulator.admin_consents()), 1)
        self.directory.invalidate_recordset()
        self.assertEqual(self.directory.admin_consent_state, "granted")
        self.assertTrue(self.directory.admin_consent_date)
        self.assertEqual(self.directory.admin_consent_user_id, self.env.ref("base.user_admin"))
        self.assertIn("Users can be read", self.directory.admin_consent_message)
        self.assertIn("the import starts in the background", self.directory.admin_consent_message)
        self.assertIn("Admin consent", self.directory.message_ids[0].body)

        self.assertEqual(self.directory.action_test()["params"]["type"], "success")
        run = self.directory._run_import()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(run.count_new, 1)

    def test_the_form_shows_the_button_and_the_outcome(self):
        self._back(self._microsoft(self._start()))
        self.browser_js(
            self._form_path(),
            """
            const form = document.querySelector(".o_form_view");
            if (!form.querySelector('button[name="action_grant_admin_consent"]')) {
                throw new Error("no Grant Admin Consent button");
            }
            const granted = form.querySelector(".alert-success");
            if (!granted || !granted.textContent.includes("Admin consent granted")
                    || !granted.textContent.includes("Users can be read")) {
                throw new Error(`no granted consent shown: ${granted && granted.textContent}`);
            }
            if (form.querySelector(".alert-danger")) {
                throw new Error("a refusal is shown beside the grant");
            }
            console.log("test successful");
            """,
            ready="!!document.querySelector('.o_form_view .alert-success')",
            login="admin",
        )

    def test_a_refusal_shows_microsofts_reason_and_what_to_do(self):
        self.simulator.configure(consent_mode="refuse")
        callback = self._microsoft(self._start())
        self.assertIn("error=consent_required", callback)
        self.assertEqual(self._back(callback), self._form_path())
        self.directory.invalidate_recordset()
        self.assertEqual(self.directory.admin_consent_state, "refused")
        message = self.directory.admin_consent_message
        self.assertIn("The resource owner or authorization server denied the request.", message)
        self.assertIn("AADSTS65004", message)
        self.assertIn("Grant Admin Consent again and accept", message)
        self.assertNotIn("Trace ID", message)
        self.assertEqual(self.simulator.admin_consents(), [])
        self.assertEqual(self.directory.action_test()["params"]["type"], "danger")

    def test_a_grant_after_a_refusal_replaces_it(self):
        self.simulator.configure(consent_mode="refuse")
        self._back(self._microsoft(self._start()))
        self.simulator.configure(consent_mode="auto")
        self._back(self._microsoft(self._start()))
        self.directory.invalidate_recordset()
        self.assertEqual(self.directory.admin_consent_state, "granted")

    def test_a_directory_with_its_own_application_asks_for_that_one(self):
        self.simulator.register_app("own-app", "own-secret", [self.redirect_uri])
        directory = self.env["microsoft.contacts.directory"].create(
            {
                "name": "Fabrikam",
                "tenant_id": TENANT,
                "use_main_app": False,
                "client_id": "own-app",
                "client_secret": "own-secret",
            }
        )
        url = self._start(directory)
        self.assertEqual(parse_qs(urlsplit(url).query)["client_id"], ["own-app"])
        self.assertEqual(self._back(self._microsoft(url)), self._form_path(directory))
        self.assertEqual([c["client_id"] for c in self.simulator.admin_consents()], ["own-app"])
        self.assertEqual(directory.action_test()["params"]["type"], "success")
        # The main application still has no consent: the other directory still cannot read.
        self.assertEqual(self.directory.action_test()["params"]["type"], "danger")

    def test_a_replayed_answer_is_refused(self):
        callback = self._microsoft(self._start())
        self._back(callback)
        self._assert_refused(self.url_open(callback, allow_redirects=False))

    def test_an_answer_in_another_session_is_refused(self):
        callback = self._microsoft(self._start())
        self.authenticate("second_admin", "second-admin-1")
        self._assert_refused(self.url_open(callback, allow_redirects=False))
        self.authenticate(None, None)
        response = self.url_open(callback, allow_redirects=False)
        self.assertEqual(response.status_code, 403)
        self.directory.invalidate_recordset()
        self.assertFalse(self.directory.admin_consent_state)

    def test_an_answer_for_another_directory_is_refused(self):
        other = self.env["microsoft.contacts.directory"].create(
            {"name": "Other", "tenant_id": TENANT}
        )
        callback = self._microsoft(self._start())
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        state = json.loads(query["state"])
        state["d"] = other.id
        query["state"] = json.dumps(state)
        self._assert_refused(
            self.url_open(f"{parts.path}?{urlencode(query)}", allow_redirects=False)
        )
        (self.directory | other).invalidate_recordset()
        self.assertFalse(self.directory.admin_consent_state or other.admin_consent_state)

    def test_only_an_administrator_asks_or_answers(self):
        self.authenticate("entra_consent_user", "consent-user-1")
        self._assert_refused(
            self.url_open(
                f"/microsoft_contacts/directory/{self.directory.id}/admin_consent",
                allow_redirects=False,
            )
        )
        callback = self._microsoft(self._start())
        self.authenticate("entra_consent_user", "consent-user-1")
        self._assert_refused(self.url_open(callback, allow_redirects=False))
        self.assertEqual(self.simulator.admin_consents()[0]["client_id"], CLIENT_ID)
        self.directory.invalidate_recordset()
        self.assertFalse(self.directory.admin_consent_state)

    def test_a_sign_in_answer_still_reaches_the_outlook_connect_handler(self):
        self.authenticate("admin", "admin")
        state = json.dumps({"s": "contacts", "n": "x", "t": "y"})
        response = self.url_open(
            f"{CALLBACK}?{urlencode({'state': state, 'code': 'c'})}", allow_redirects=False
        )
        self.assertEqual(response.status_code, 403)
        self.assertIn("Outlook Contacts", response.text)
        self.assertIn("does not belong to your current Odoo session", response.text)

    def test_an_invalid_tenant_is_said_on_the_form_before_leaving_odoo(self):
        self.directory.tenant_id = "not a tenant"
        with self.assertRaisesRegex(Exception, "is not valid"):
            self.directory.action_grant_admin_consent()
