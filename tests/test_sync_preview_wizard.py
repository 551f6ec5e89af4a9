from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL
from odoo.tools.translate import code_translations

from odoo.addons.microsoft_contacts.models.microsoft_contacts_account_sync import (
    SYNC_LOCK_CLASS,
)
from odoo.addons.microsoft_contacts.sync.preview import TEXTS

from .common import OutlookSyncCase, first_email

FOLDER = "Odoo Contacts"
WRITE_KINDS = {"contacts.create", "contacts.update", "contacts.delete", "folders.create"}


@tagged("post_install", "-at_install")
class TestSyncPreview(OutlookSyncCase):
    """The dry run of a sync, the contacts ticked in it, and the ones left out."""

    account_login = "pia_preview"

    def setUp(self):
        super().setUp()
        self.Preview = self.env["microsoft.contacts.sync.preview"].with_user(self.account_user)

    # -- helpers ------------------------------------------------------------------------

    def _open_preview(self):
        """As the Contacts button does before the first sync; returns the wizard."""
        action = (
            self.env["microsoft.contacts.account"]
            .with_user(self.account_user)
            .action_sync_from_contacts("/odoo/contacts")
        )
        self.assertEqual(action["res_model"], "microsoft.contacts.sync.preview")
        self.assertEqual(action["target"], "new")
        return self.Preview.browse(action["res_id"])

    def _line(self, preview, email):
        lines = preview.line_ids.filtered(lambda ln: (ln.email or "").lower() == email)
        self.assertEqual(len(lines), 1, preview.line_ids.mapped("email"))
        return lines

    def _partners(self, email):
        return self.Partner.with_context(active_test=False).search([("email", "=ilike", email)])

    def _items(self, email):
        folder = self.mailbox.folder(FOLDER)
        if not folder:
            return []
        return [i for i in self.mailbox.contacts(folder["id"]) if first_email(i) == email]

    def _links(self):
        return self.env["microsoft.contacts.link"].search([("account_id", "=", self.account.id)])

    def _writes_to_outlook(self):
        return {k: n for k, n in self.simulator.stats()["by_kind"].items() if k in WRITE_KINDS}

    def _seed(self, *people):
        folder = self.mailbox.folder(FOLDER) or self.mailbox.create_folder(FOLDER)
        return self.mailbox.seed(
            [
                {"displayName": name, "emailAddresses": [{"address": email}]}
                for name, email in people
            ],
            folder_id=folder["id"],
        )

    def _world(self):
        """Anna on both sides, Bert and Eve only in Odoo, Carl, Dora and Fred only in Outlook."""
        self.anna = self.Partner.create({"name": "Anna Both", "email": "anna@example.com"})
        self.bert = self.Partner.create({"name": "Bert Odoo", "email": "bert@example.com"})
        self.eve = self.Partner.create({"name": "Eve Odoo", "email": "eve@example.com"})
        self.anna_item, self.carl_item, self.dora_item, self.fred_item = self._seed(
            ("Anna Both", "anna@example.com"),
            ("Carl Outlook", "carl@example.com"),
            ("Dora Outlook", "dora@example.com"),
            ("Fred Outlook", "fred@example.com"),
        )

    # -- tests --------------------------------------------------------------------------

    def test_the_dry_run_writes_nothing_and_creates_no_folder(self):
        self.Partner.create({"name": "Bert Odoo", "email": "bert@example.com"})
        partners = self.Partner.with_context(active_test=False).search_count([])
        preview = self._open_preview()
        self.assertFalse(preview.error)
        self.assertTrue(preview.first_sync)
        bert = self._line(preview, "bert@example.com")
        self.assertEqual(bert.section, "create_outlook")
        self.assertTrue(bert.selected and bert.selectable)
        self.assertIn("email: bert@example.com", bert.changes)
        self.assertIn(bert, preview.create_outlook_line_ids)
        self.assertIn("Create in Outlook", preview.summary)

        self.assertFalse(self.mailbox.folder(FOLDER), "no folder created by a dry run")
        self.assertFalse(self._writes_to_outlook())
        self.assertFalse(self.account.folder_id)
        self.assertFalse(self.account.delta_link)
        self.assertFalse(self.account.initial_sync_confirmed)
        self.assertFalse(self._links())
        self.assertFalse(self.env["microsoft.contacts.sync.run"].search([]))
        self.assertEqual(self.Partner.with_context(active_test=False).search_count([]), partners)

    def test_the_dry_run_of_an_existing_folder_leaves_both_sides_alone(self):
        self._world()
        before = {item["id"]: item["changeKey"] for item in self.mailbox.contacts()}
        partners = self.Partner.with_context(active_test=False).search_count([])
        preview = self._open_preview()
        self.assertFalse(preview.error)
        self.assertEqual(self._line(preview, "anna@example.com").section, "link")
        self.assertEqual(self._line(preview, "carl@example.com").section, "create_odoo")
        self.assertEqual(self._line(preview, "eve@example.com").section, "create_outlook")
        self.assertIn("matched: same email", self._line(preview, "anna@example.com").reason)

        self.assertEqual(
            {item["id"]: item["changeKey"] for item in self.mailbox.contacts()}, before
        )
        self.assertFalse(self._writes_to_outlook())
        self.assertEqual(self.Partner.with_context(active_test=False).search_count([]), partners)
        self.assertFalse(self._links())
        self.assertFalse(self.account.folder_id, "the folder found is not stored either")
        self.assertFalse(self.account.delta_link)

    def test_apply_selected_syncs_the_ticked_and_leaves_the_others_out(self):
        self._world()
        preview = self._open_preview()
        for email in ("bert@example.com", "dora@example.com", "fred@example.com"):
            self._line(preview, email).selected = False
        preview.action_apply()

        self.assertTrue(self.account.initial_sync_confirmed)
        run = self.env["microsoft.contacts.sync.run"].search([("account_id", "=", self.account.id)])
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(run.user_id, self.account_user)
        # Ticked: Anna linked, Carl created in Odoo, Eve created in Outlook.
        self.assertEqual(len(self._items("anna@example.com")), 1)
        carl = self._partners("carl@example.com")
        linked = self._links().filtered(lambda lk: not lk.detached).partner_id
        self.assertLessEqual(self.anna | self.eve | carl, linked)
        self.assertNotIn(self.bert, linked)
        self.assertEqual(len(carl), 1)
        self.assertEqual(len(self._items("eve@example.com")), 1)
        # Unticked: left out, on both sides as they were.
        self.assertFalse(self._items("bert@example.com"))
        self.assertFalse(self._partners("dora@example.com"))
        self.assertFalse(self._partners("fred@example.com"))
        self.assertEqual(self.account.excluded_partner_ids, self.bert)
        left_out = self._links().filtered("excluded")
        self.assertEqual(
            sorted(left_out.mapped("outlook_id")),
            sorted([self.dora_item["id"], self.fred_item["id"]]),
        )
        self.assertFalse(left_out.partner_id)
        self.assertTrue(all(left_out.mapped("detached")))
        self.assertTrue(self.account.delta_link, "everything planned was applied")

        # Later syncs, even one that reads the whole folder again, leave them out.
        for reset in (False, True):
            if reset:
                self.account.sudo().delta_link = False
            run = self._sync()
            self.assertEqual(run.state, "done", run.message)
            self.assertEqual(run.count_new, 0, run.line_ids.mapped("reason"))
            self.assertFalse(self._items("bert@example.com"))
            self.assertFalse(
                self._partners("dora@example.com") | self._partners("fred@example.com")
            )

        # The next preview proposes nothing for them and lists them as left out.
        preview = self.Preview.browse(
            self.account.with_user(self.account_user).action_preview()["res_id"]
        )
        self.assertFalse(preview.error)
        self.assertEqual(
            sorted(preview.line_ids.mapped("section")), ["excluded", "excluded", "excluded"]
        )
        self.assertIn("Nothing to change", preview.summary)
        self.assertFalse(preview.excluded_line_ids.filtered("selected"))

        # Included again: Bert and Dora sync from the next run on; Fred stays out.
        for email in ("bert@example.com",):
            self._line(preview, email).selected = True
        preview.excluded_line_ids.filtered(
            lambda ln: ln.outlook_id == self.dora_item["id"]
        ).selected = True
        preview.action_apply()
        self.assertFalse(self.account.excluded_partner_ids)
        self.assertEqual(self._links().filtered("excluded").outlook_id, self.fred_item["id"])
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._items("bert@example.com")), 1)
        self.assertEqual(len(self._partners("dora@example.com")), 1)
        self.assertFalse(self._partners("fred@example.com"))

    def test_an_unticked_match_freezes_both_copies_without_duplicating_them(self):
        self._world()
        preview = self._open_preview()
        anna_line = self._line(preview, "anna@example.com")
        self.assertEqual(anna_line.section, "link")
        anna_line.selected = False
        preview.action_apply()
        frozen = self._links().filtered("excluded")
        self.assertEqual(frozen.partner_id, self.anna)
        self.assertEqual(frozen.outlook_id, self.anna_item["id"])
        for reset in (False, True):
            if reset:
                self.account.sudo().delta_link = False
            run = self._sync()
            self.assertEqual(run.state, "done", run.message)
            self.assertEqual(len(self._items("anna@example.com")), 1, "not pushed again")
            self.assertEqual(len(self._partners("anna@example.com")), 1, "not imported again")

    def test_apply_plans_again_and_keeps_what_changed_since_for_later(self):
        self._world()
        preview = self._open_preview()
        # Between the preview and the click: Eve's job changes in Odoo (same action, new
        # values), and Gina appears in Outlook (not seen in the preview).
        self.eve.function = "Chief Buyer"
        self._seed(("Gina New", "gina@example.com"))
        preview.action_apply()
        run = self.env["microsoft.contacts.sync.run"].search([("account_id", "=", self.account.id)])
        self.assertEqual(run.state, "done", run.message)
        self.assertIn("changed since the preview", run.message)
        self.assertEqual(self._items("eve@example.com")[0]["jobTitle"], "Chief Buyer")
        self.assertFalse(self._partners("gina@example.com"), "not seen, not written")
        self.assertFalse(self.account.delta_link, "incomplete: read again next time")
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._partners("gina@example.com")), 1)
        self.assertEqual(len(self._partners("carl@example.com")), 1, "no duplicate")
        self.assertTrue(self.account.delta_link)

    def test_later_preview_freezes_an_unticked_update_and_keeps_deletions_unticked(self):
        self._world()
        self._open_preview().action_apply()
        carl = self._partners("carl@example.com")
        self.mailbox.edit(self.carl_item["id"], jobTitle="Outlook Title")
        self.anna.function = "Odoo Title"
        self.eve.active = False  # policy: delete it in Outlook
        preview = self.Preview.browse(
            self.account.with_user(self.account_user).action_preview()["res_id"]
        )
        self.assertFalse(preview.first_sync)
        carl_line = self._line(preview, "carl@example.com")
        self.assertEqual(carl_line.section, "update_odoo")
        self.assertIn("job title: (empty) → Outlook Title", carl_line.changes)
        self.assertEqual(self._line(preview, "anna@example.com").section, "update_outlook")
        eve_line = self._line(preview, "eve@example.com")
        self.assertEqual(eve_line.section, "deletion")
        self.assertFalse(eve_line.selected, "deletions start unticked")

        carl_line.selected = False
        preview.action_apply()
        self.assertEqual(self._items("anna@example.com")[0]["jobTitle"], "Odoo Title")
        self.assertFalse(carl.function)
        self.assertEqual(len(self._items("eve@example.com")), 1, "kept in Outlook")
        frozen = self._links().filtered("excluded")
        self.assertEqual(frozen.partner_id, carl | self.eve)
        self.assertTrue(all(frozen.mapped("detached")))
        self._sync()
        self.assertFalse(carl.function, "not applied behind the user's back")
        self.assertEqual(len(self._items("eve@example.com")), 1)

        # Carl included again: the pair resumes from its last synced state.
        preview = self.Preview.browse(
            self.account.with_user(self.account_user).action_preview()["res_id"]
        )
        preview.excluded_line_ids.filtered(lambda ln: ln.partner_id == carl).selected = True
        preview.action_apply()
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(carl.function, "Outlook Title")
        self.assertEqual(len(self._partners("carl@example.com")), 1)
        self.assertEqual(len(self._items("carl@example.com")), 1)

    def test_the_changes_are_told_in_the_users_language(self):
        # The wizard holds every word of sync.preview, each the literal of its source.
        self.assertEqual(self.Preview._preview_texts(), {text: text for text in TEXTS})

        self._world()
        self._open_preview().action_apply()
        self.mailbox.edit(self.carl_item["id"], jobTitle="Outlook Title")
        self.env["res.lang"]._activate_lang("fr_FR")
        french = {
            "job title": "poste",
            "(empty)": "(vide)",
            "%(field)s: %(old)s → %(new)s": "%(field)s : %(old)s → %(new)s",
        }
        with patch.dict(
            code_translations.python_translations, {("microsoft_contacts", "fr_FR"): french}
        ):
            action = (
                self.account.with_user(self.account_user)
                .with_context(lang="fr_FR")
                .action_preview()
            )
        preview = self.Preview.browse(action["res_id"])
        self.assertEqual(
            self._line(preview, "carl@example.com").changes, "poste : (vide) → Outlook Title"
        )

    def test_skip_preview_confirms_and_queues_a_complete_sync(self):
        self._world()
        preview = self._open_preview()
        action = preview.action_sync_everything()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertTrue(self.account.initial_sync_confirmed)
        self.assertEqual(self.account.sync_requested_by_id, self.account_user)
        self.assertFalse(self.account.excluded_partner_ids)
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        for email in ("bert@example.com", "eve@example.com"):
            self.assertEqual(len(self._items(email)), 1)
        for email in ("carl@example.com", "dora@example.com", "fred@example.com"):
            self.assertEqual(len(self._partners(email)), 1)

    def test_a_preview_belongs_to_its_user(self):
        self._world()
        preview = self._open_preview()
        stranger = new_test_user(self.env, login="sid_stranger", name="Sid Stranger")
        with self.assertRaises(AccessError):
            preview.with_user(stranger).line_ids.read(["name"])
        with self.assertRaises(AccessError):
            self.account.with_user(stranger).action_preview()

    def test_a_user_only_ticks_preview_lines(self):
        self._world()
        preview = self._open_preview().with_user(self.account_user)
        line = preview.line_ids.filtered(lambda ln: ln.partner_ref == self.bert.id)
        line.selected = False
        self.assertFalse(line.selected)
        with self.assertRaises(AccessError):
            line.write({"partner_ref": self.eve.id})
        with self.assertRaises(AccessError):
            preview.write(
                {
                    "line_ids": [
                        Command.create({"section": "create_outlook", "partner_ref": self.eve.id})
                    ]
                }
            )

    def test_no_preview_while_a_sync_runs(self):
        self._world()
        with self.registry.cursor() as worker:
            worker.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", SYNC_LOCK_CLASS, self.account.id)
            )
            preview = self._open_preview()
        self.assertIn("running", preview.error)
        self.assertFalse(preview.line_ids)
        self.assertFalse(self.simulator.stats()["by_kind"].get("contacts.delta"))
        with self.assertRaises(UserError):
            preview.action_apply()
        self.assertFalse(self.account.initial_sync_confirmed)
