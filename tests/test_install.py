from odoo.tests import TransactionCase, tagged

from odoo.addons.microsoft_contacts import graph

from .common import GraphSimulatorAdmin


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)

    def test_module_installed_with_its_dependencies(self):
        modules = self.env["ir.module.module"].search(
            [("name", "in", ("microsoft_contacts", "contacts", "microsoft_account"))]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        self.assertEqual(len(modules), 3)

    def test_graph_client_reaches_the_simulator_from_odoo(self):
        """The pure Graph client works inside the Odoo process, over real HTTPS."""
        simulator = self.simulator
        simulator.reset()
        user = simulator.add_user("megan@contoso.test", display_name="Megan Bowen")
        token = simulator.issue_token(user["id"])
        client = graph.GraphClient(simulator.base_url, lambda force_refresh: token, max_retries=1)
        me = client.get("/me")
        self.assertEqual(me["userPrincipalName"], "megan@contoso.test")
        self.assertEqual(me["displayName"], "Megan Bowen")

    def test_contacts_are_found_by_salesperson_through_an_index(self):
        """The scope "My contacts" is searched at every run of every account."""
        self.env.cr.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'res_partner' "
            "AND indexdef LIKE '%%(user_id)%%'"
        )
        self.assertTrue(self.env.cr.fetchall())
