from odoo.tests import tagged

from .browser import BrowserCase
from .common import (
    HTTP_TAG,
    GraphSimulatorAdmin,
    OutlookMailbox,
    first_email,
    point_at_simulator,
)

CLIENT_ID = "odoo-contacts-app"
CLIENT_SECRET = "odoo-contacts-secret"
FOLDER = "Odoo Contacts"
OUTLOOK_CONTACTS = [
    ("Adele", "Vance", "adele.vance@fabrikam.test"),
    ("Alex", "Wilber", "alex.wilber@fabrikam.test"),
    ("Diego", "Siciliani", "diego.siciliani@fabrikam.test"),
]


@tagged("post_install", "-at_install", HTTP_TAG)
class TestSyncWithOutlookTour(BrowserCase):
    """From the Contacts app: connect Outlook, preview the first sync, apply it; then from
    the Sync Log, undo it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, CLIENT_ID, CLIENT_SECRET)
        cls.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts_tenant_id", "organizations"
        )
        cls.admin = cls.env.ref("base.user_admin")
        cls.simulator.reset()
        cls.simulator.register_app(
            CLIENT_ID, CLIENT_SECRET, [f"{cls.base_url()}/microsoft_account/authentication"]
        )
        megan = cls.simulator.add_user("megan@contoso.test", display_name="Megan Bowen")
        # "page": Microsoft shows its consent page, which the browser has to accept.
        cls.simulator.configure(consent_mode="page", default_user=megan["id"])
        cls.mailbox = OutlookMailbox(cls.simulator, megan["id"])
        folder = cls.mailbox.create_folder(FOLDER)
        cls.mailbox.seed(
            [
                {"givenName": given, "surname": surname, "emailAddresses": [{"address": email}]}
                for given, surname, email in OUTLOOK_CONTACTS
            ],
            folder_id=folder["id"],
        )
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()
        self.odoo_only = self.env["res.partner"].create(
            {"name": "Bert Odoo", "email": "bert.odoo@example.com"}
        )

    def _account(self):
        return self.env["microsoft.contacts.account"].search([("user_id", "=", self.admin.id)])

    def test_sync_with_outlook_from_contacts(self):
        self.assertFalse(self._account().filtered(lambda a: a.state == "connected"))

        with self.browser_consenting_on(self.simulator.base_url):
            self.start_tour(
                "/odoo/contacts", "microsoft_contacts_sync_with_outlook", login="admin", timeout=180
            )

        account = self._account()
        self.assertEqual(account.state, "connected")
        self.assertEqual(account.microsoft_username, "megan@contoso.test")
        self.assertTrue(account.initial_sync_confirmed)
        Partner = self.env["res.partner"].with_context(active_test=False)
        Run = self.env["microsoft.contacts.sync.run"]
        (first,) = Run.search([("account_id", "=", account.id), ("source", "=", "outlook")])
        (undo,) = Run.search([("account_id", "=", account.id), ("source", "=", "undo")])
        self.assertEqual((undo.undo_of_id, undo.state, undo.user_id), (first, "done", self.admin))
        for given, surname, email in OUTLOOK_CONTACTS:
            partner = Partner.search([("email", "=", email)])
            self.assertEqual(partner.name, f"{given} {surname}")
            created = first.line_ids.filtered(
                lambda line, partner=partner: line.partner_id == partner
                and (line.action, line.direction) == ("created", "to_odoo")
            )
            self.assertTrue(created, f"{email} came from Outlook with the first sync")
            self.assertFalse(partner.active, f"{email}: archived by the undo")
        in_outlook = {first_email(item) for item in self.mailbox.contacts(account.folder_id)}
        self.assertTrue(
            first.line_ids.filtered(
                lambda line: line.partner_id == self.odoo_only and line.action == "created"
            ),
            "Bert went to Outlook with the first sync",
        )
        self.assertNotIn("bert.odoo@example.com", in_outlook, "and left it with the undo")
        self.assertEqual(in_outlook, {email for _g, _s, email in OUTLOOK_CONTACTS})
