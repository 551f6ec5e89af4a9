from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import DirectoryCase


@tagged("post_install", "-at_install")
class TestDirectoryLinkAccess(DirectoryCase):
    """Which contact stands for which Entra ID user is the directory import's to say.

    A Contacts user (RPC calls as the web client would make them) can neither link, unlink
    nor flag a contact, yet creates, edits, duplicates and merges contacts as usual.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(
            cls.env,
            login="entra_link_contacts_user",
            groups="base.group_user,base.group_partner_manager",
        )

    def setUp(self):
        super().setUp()
        self.adele = self.simulator.add_user(
            "adele@contoso.test", display_name="Adele Vance", jobTitle="Retail Manager"
        )
        self.alex = self.simulator.add_user("alex@contoso.test", display_name="Alex Wilber")
        self.directory = self._directory(removed_policy="archive")
        self._import(self.directory)
        self.imported = self._partner(self.adele)
        self.assertTrue(self.imported)
        self.Partner = self.env["res.partner"].with_user(self.user)

    def _merge(self, partners, keep):
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.user)
            .create({"partner_ids": [Command.set(partners.ids)], "dst_partner_id": keep.id})
        )
        wizard.action_merge()

    def test_a_contacts_user_cannot_link_unlink_or_flag_a_contact(self):
        typed = self.Partner.create({"name": "Typed by hand", "email": "typed@example.com"})
        imported = self.imported.with_user(self.user)
        attempts = [
            (typed, {"microsoft_entra_user_id": self.alex["id"]}),
            (typed, {"microsoft_entra_directory_id": self.directory.id}),
            (typed, {"microsoft_entra_archive_decision": "kept"}),
            (imported, {"microsoft_entra_user_id": False}),
            (imported, {"microsoft_entra_user_id": self.alex["id"]}),
            (imported, {"microsoft_entra_directory_id": False}),
            (imported, {"active": False, "microsoft_entra_archived": True}),
            (imported, {"microsoft_entra_archive_decision": "pending"}),
            (typed | imported, {"microsoft_entra_directory_id": self.directory.id}),
        ]
        for partners, values in attempts:
            with self.subTest(values=values), self.assertRaises(AccessError) as caught:
                partners.write(values)
            self.assertIn("Only the Microsoft Entra ID directory import", str(caught.exception))
        creations = [
            lambda: self.Partner.create(
                {
                    "name": "Alex",
                    "microsoft_entra_user_id": self.alex["id"],
                    "microsoft_entra_directory_id": self.directory.id,
                }
            ),
            lambda: self.Partner.with_context(
                default_microsoft_entra_user_id=self.alex["id"]
            ).create({"name": "Alex"}),
            lambda: imported.copy({"microsoft_entra_user_id": self.alex["id"]}),
        ]
        for create in creations:
            with self.assertRaises(AccessError):
                create()
        # Not even an administrator, outside the import.
        with self.assertRaises(AccessError):
            self.imported.with_user(self.env.ref("base.user_admin")).write(
                {"microsoft_entra_user_id": False}
            )
        self.assertEqual(self.imported.microsoft_entra_user_id, self.adele["id"])
        self.assertEqual(self.imported.microsoft_entra_directory_id, self.directory)
        self.assertFalse(typed.microsoft_entra_user_id)
        self.assertEqual(
            self.env["res.partner"].search_count(
                [("microsoft_entra_user_id", "=", self.alex["id"])]
            ),
            1,
        )
        # A value sent back unchanged is no change.
        imported.write({"microsoft_entra_user_id": self.adele["id"], "function": "Buyer"})
        self.assertEqual(self.imported.function, "Buyer")

    def test_a_contacts_user_creates_edits_and_duplicates_as_usual(self):
        with Form(self.Partner) as form:
            form.name = "Nestor Wilke"
            form.email = "nestor@contoso.test"
        typed = form.record
        with Form(self.imported.with_user(self.user)) as form:
            form.mobile = "+32 470 12 34 56"
        duplicate = self.imported.with_user(self.user).copy()
        self.assertEqual(self.imported.mobile, "+32 470 12 34 56")
        self.assertEqual(self.imported.microsoft_entra_user_id, self.adele["id"])
        for name in (
            "microsoft_entra_user_id",
            "microsoft_entra_directory_id",
            "microsoft_entra_archived",
            "microsoft_entra_archive_decision",
        ):
            self.assertFalse(typed[name], name)
            self.assertFalse(duplicate[name], name)

        # The import goes on: it updates its own contact, not the copy, and links by email.
        self.simulator.update_user(self.adele["id"], jobTitle="Store Director")
        nestor = self.simulator.add_user("nestor@contoso.test", display_name="Nestor Wilke")
        run = self._import(self.directory)
        self.assertEqual((run.count_new, run.count_updated), (0, 2))
        self.assertEqual(self.imported.function, "Store Director")
        self.assertEqual(duplicate.function, "Retail Manager")
        self.assertEqual(self._partner(nestor), typed)
        self.assertEqual(typed.microsoft_entra_directory_id, self.directory)

    def test_merging_an_imported_contact_into_a_typed_one_keeps_its_link(self):
        typed = self.Partner.create(
            {"name": "Adele (typed by hand)", "email": "adele@contoso.test", "phone": "123"}
        )
        self._merge(self.imported | typed, typed)
        self.assertFalse(self.imported.exists())
        self.assertEqual(typed.microsoft_entra_user_id, self.adele["id"])
        self.assertEqual(typed.microsoft_entra_directory_id, self.directory)
        # The import updates the merged contact; it does not create Adele again.
        self.simulator.update_user(self.adele["id"], jobTitle="Store Director")
        run = self._import(self.directory)
        self.assertEqual(run.count_new, 0)
        self.assertEqual(self._partner(self.adele), typed)
        self.assertEqual(typed.function, "Store Director")

    def test_merging_a_typed_contact_into_an_imported_one_keeps_its_link(self):
        typed = self.Partner.create({"name": "Adele V.", "email": "adele@contoso.test"})
        self._merge(self.imported | typed, self.imported)
        self.assertFalse(typed.exists())
        self.assertEqual(self.imported.microsoft_entra_user_id, self.adele["id"])
        self.assertEqual(self.imported.microsoft_entra_directory_id, self.directory)

    def test_merge_leaves_no_import_archive_on_an_active_contact(self):
        self.simulator.update_user(self.alex["id"], accountEnabled=False)
        self._import(self.directory)
        alex = self._partner(self.alex)
        self.assertFalse(alex.active)
        self.assertTrue(alex.microsoft_entra_archived)
        typed = self.Partner.create({"name": "Alex (typed by hand)", "email": "alex@contoso.test"})
        self._merge(alex | typed, typed)
        self.assertTrue(typed.active)
        self.assertEqual(typed.microsoft_entra_user_id, self.alex["id"])
        # Else a person's later archive would be undone when Alex is enabled again.
        self.assertFalse(typed.microsoft_entra_archived)
