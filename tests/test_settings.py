from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import TransactionCase, tagged

from .common import GraphSimulatorAdmin, point_at_simulator

CLIENT_ID = "settings-app"
CLIENT_SECRET = "settings-secret"


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator)
        cls.simulator.reset()
        cls.simulator.register_app(CLIENT_ID, CLIENT_SECRET)
        cls.simulator.add_user("admin@contoso.test")
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()
        self.tenant_id = "contoso.test"  # a verified domain names the tenant, as in Entra

    def _settings(self, **values):
        return self.env["res.config.settings"].create(
            {
                "microsoft_contacts_client_id": CLIENT_ID,
                "microsoft_contacts_client_secret": CLIENT_SECRET,
                **values,
            }
        )

    def test_settings_are_stored_in_the_documented_parameters(self):
        self._settings(microsoft_contacts_tenant_id="contoso.test").execute()
        get_param = self.env["ir.config_parameter"].sudo().get_param
        self.assertEqual(get_param("microsoft_contacts_client_id"), CLIENT_ID)
        self.assertEqual(get_param("microsoft_contacts_client_secret"), CLIENT_SECRET)
        self.assertEqual(get_param("microsoft_contacts_tenant_id"), "contoso.test")
        self.assertEqual(get_param("microsoft_contacts.cloud"), "global")

    def test_cloud_sets_the_endpoints_and_parameters_override_them(self):
        Account = self.env["microsoft.contacts.account"]
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param("microsoft_contacts.login_endpoint", False)
        icp.set_param("microsoft_contacts.graph_endpoint", False)
        self._settings(microsoft_contacts_cloud="us_gov").execute()
        endpoints = Account._get_endpoints()
        self.assertEqual(endpoints.login, "https://login.microsoftonline.us")
        self.assertEqual(endpoints.graph, "https://graph.microsoft.us")
        icp.set_param("microsoft_contacts.graph_endpoint", self.simulator.base_url)
        self.assertEqual(Account._get_endpoints().graph, self.simulator.base_url)

    def test_test_connection_with_a_tenant_checks_the_secret(self):
        ok = self._settings(microsoft_contacts_tenant_id=self.tenant_id)
        result = ok.action_microsoft_contacts_test_connection()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])

        wrong = self._settings(
            microsoft_contacts_tenant_id=self.tenant_id,
            microsoft_contacts_client_secret="not-the-secret",
        )
        result = wrong.action_microsoft_contacts_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("invalid_client", result["params"]["message"])
        self.assertNotIn("not-the-secret", result["params"]["message"])

    def test_test_connection_for_any_organisation_checks_the_authority(self):
        result = self._settings(
            microsoft_contacts_tenant_id="organizations"
        ).action_microsoft_contacts_test_connection()
        self.assertEqual(result["params"]["type"], "success")
        self.assertIn("first user sign-in", result["params"]["message"])

    def test_reuse_the_outlook_calendar_application(self):
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param("microsoft_calendar_client_id", "calendar-app")
        icp.set_param("microsoft_calendar_client_secret", "calendar-secret")
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.microsoft_contacts_can_reuse_calendar_app)
        settings.action_microsoft_contacts_reuse_calendar_app()
        self.assertEqual(icp.get_param("microsoft_contacts_client_id"), "calendar-app")
        self.assertEqual(icp.get_param("microsoft_contacts_client_secret"), "calendar-secret")
        self.assertFalse(
            self.env["res.config.settings"].create({}).microsoft_contacts_can_reuse_calendar_app
        )

    def test_neutralize_clears_tokens_and_secret(self):
        account = self.env["microsoft.contacts.account"].create(
            {"user_id": self.env.user.id, "token_cache": "{}", "state": "connected"}
        )
        directory = self.env["microsoft.contacts.directory"].create(
            {
                "name": "Staging check",
                "tenant_id": "contoso.test",
                "use_main_app": False,
                "client_id": "x",
                "client_secret": "directory-secret",
            }
        )
        self._settings().execute()
        for query in get_neutralization_queries(["microsoft_contacts"]):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(account.token_cache)
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(directory.client_secret)
        self.assertFalse(directory.active)
        self.assertFalse(
            self.env["ir.config_parameter"].sudo().get_param("microsoft_contacts_client_secret")
        )
