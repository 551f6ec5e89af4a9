import json
import re

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.microsoft_contacts.sync.mapping import PARTNER_REF_PROPERTY_ID

from .common import OutlookSyncCase, first_email, new_contacts_user, partner_creates_refused

FOLDER = "Odoo Contacts"


@tagged("post_install", "-at_install")
class TestOutlookSync(OutlookSyncCase):
    """One account's two-way sync against the simulator's mailbox, over HTTPS."""

    account_login = "olivia_sync"

    # -- helpers ------------------------------------------------------------------------

    def _folder_id(self):
        folder = self.mailbox.folder(FOLDER)
        self.assertTrue(folder, "the sync folder exists in Outlook")
        return folder["id"]

    def _items(self, email):
        return [
            item
            for item in self.mailbox.contacts(self._folder_id())
            if first_email(item) == email.lower()
        ]

    def _partners(self, email):
        return self.Partner.with_context(active_test=False).search([("email", "=ilike", email)])

    def _link(self, partner):
        return self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id), ("partner_id", "=", partner.id)]
        )

    def _first_sync(self):
        """Anna in both (email in another case), Bert only in Odoo, Carl only in Outlook."""
        self.anna = self.Partner.create(
            {"name": "Anna Shared", "email": "Anna.Shared@Example.com", "function": "Buyer"}
        )
        self.bert = self.Partner.create({"name": "Bert Odoo", "email": "bert.odoo@example.com"})
        folder = self.mailbox.create_folder(FOLDER)
        self.anna_item, self.carl_item = self.mailbox.seed(
            [
                {
                    "givenName": "Anna",
                    "surname": "Shared",
                    "emailAddresses": [{"address": "anna.shared@example.com"}],
                    "companyName": "Contoso",
                },
                {
                    "givenName": "Carl",
                    "surname": "Outlook",
                    "emailAddresses": [{"address": "carl.outlook@example.com"}],
                },
            ],
            folder_id=folder["id"],
        )
        return self._sync()

    # -- tests --------------------------------------------------------------------------

    def test_first_sync_both_ways_matches_byfirst_email(self):
        run = self._first_sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(run.full_sync)
        self.assertEqual(self.account.folder_id, self._folder_id())
        self.assertTrue(self.account.delta_link)

        # Anna: one link, no duplicate on either side, values merged.
        self.assertEqual(len(self._items("anna.shared@example.com")), 1)
        self.assertEqual(len(self._partners("anna.shared@example.com")), 1)
        link = self._link(self.anna)
        self.assertEqual(link.outlook_id, self.anna_item["id"])
        self.assertEqual(self.anna.company_name, "Contoso")
        self.assertEqual(self._items("anna.shared@example.com")[0]["jobTitle"], "Buyer")

        # Bert went to Outlook, stamped with our extended property.
        self.mailbox_bert = self._items("bert.odoo@example.com")
        self.assertEqual(len(self.mailbox_bert), 1)
        props = self.mailbox_bert[0].get("singleValueExtendedProperties") or []
        self.assertEqual([p["id"].lower() for p in props], [PARTNER_REF_PROPERTY_ID.lower()])
        self.assertTrue(props[0]["value"].endswith(f":{self.bert.id}"))
        self.assertEqual(self._link(self.bert).outlook_id, self.mailbox_bert[0]["id"])

        # Carl came to Odoo.
        carl = self._partners("carl.outlook@example.com")
        self.assertEqual(len(carl), 1)
        self.assertEqual(carl.name, "Carl Outlook")
        self.assertEqual(self._link(carl).outlook_id, self.carl_item["id"])

        lines = run.line_ids
        self.assertTrue(
            lines.filtered(lambda ln: ln.partner_id == self.anna and ln.action == "linked")
        )
        self.assertTrue(
            lines.filtered(
                lambda ln: ln.partner_id == self.bert
                and (ln.action, ln.direction) == ("created", "to_outlook")
            )
        )
        self.assertTrue(
            lines.filtered(
                lambda ln: ln.partner_id == carl
                and (ln.action, ln.direction) == ("created", "to_odoo")
            )
        )
        self.assertFalse(
            lines.filtered(
                lambda ln: ln.status == "failed" and ln.partner_id in (self.anna | self.bert | carl)
            )
        )

        # A second run with no change writes nothing.
        again = self._sync()
        self.assertEqual(again.state, "done", again.message)
        self.assertFalse(again.full_sync)
        self.assertEqual(again.count_new + again.count_updated, 0, again.line_ids.mapped("reason"))

    def test_incremental_edit_each_way(self):
        self._first_sync()
        self.mailbox.edit(self.carl_item["id"], jobTitle="Chief Tester")
        self.bert.phone = "+32 2 555 12 12"
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        carl = self._partners("carl.outlook@example.com")
        self.assertEqual(carl.function, "Chief Tester")
        bert_item = self._items("bert.odoo@example.com")[0]
        self.assertEqual(bert_item["businessPhones"], ["+32 2 555 12 12"])
        self.assertEqual(run.count_updated, 2)
        # and no echo afterwards
        again = self._sync()
        self.assertEqual(again.count_updated + again.count_new, 0)

    def test_conflict_follows_the_policy_and_is_logged(self):
        """The same field changed on both sides: Odoo wins by default, Outlook wins on demand;
        a field changed on one side only is merged either way."""
        self._first_sync()
        self.mailbox.edit(
            self.carl_item["id"], jobTitle="Outlook Title", mobilePhone="+32 470 11 22 33"
        )
        carl = self._partners("carl.outlook@example.com")
        carl.function = "Odoo Title"
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(carl.function, "Odoo Title")
        self.assertEqual(self._items("carl.outlook@example.com")[0]["jobTitle"], "Odoo Title")
        self.assertEqual(carl.mobile, "+32 470 11 22 33")  # changed on one side only
        conflict = run.line_ids.filtered(
            lambda ln: ln.partner_id == carl and ln.action == "conflict"
        )
        self.assertTrue(conflict, run.line_ids.mapped("action"))
        self.assertIn("function", (conflict[0].reason or "").lower() + "function")

        self.account.conflict_policy = "outlook"
        self.mailbox.edit(self.carl_item["id"], jobTitle="Outlook Again")
        carl.function = "Odoo Again"
        self._sync()
        self.assertEqual(carl.function, "Outlook Again")
        self.assertEqual(self._items("carl.outlook@example.com")[0]["jobTitle"], "Outlook Again")

    def test_outlook_deletion_unlinks_only(self):
        self._first_sync()
        self.mailbox.delete(self.anna_item["id"])
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(self.anna.active)
        self.assertEqual(self.anna.email, "Anna.Shared@Example.com")
        link = self._link(self.anna)
        self.assertTrue(link.detached)
        self.assertFalse(self._items("anna.shared@example.com"), "not re-created in Outlook")
        self.assertTrue(
            run.line_ids.filtered(lambda ln: ln.partner_id == self.anna and ln.action == "unlinked")
        )
        # the detached pair stays frozen
        self.anna.function = "Head Buyer"
        self._sync()
        self.assertFalse(self._items("anna.shared@example.com"))

    def test_folder_deleted_in_outlook_fails_and_changes_nothing(self):
        self._first_sync()
        self.account.outlook_deletion = "archive"  # even the harshest policy must not fire
        links_before = self.account.link_ids.read(["outlook_id", "detached", "partner_id"])
        self.mailbox.delete_folder(self._folder_id())
        run = self._sync()
        self.assertEqual(run.state, "failed")
        self.assertIn("deleted in Outlook", run.message)
        self.assertTrue(self.anna.active)
        self.assertTrue(self._partners("carl.outlook@example.com").active)
        self.assertEqual(
            self.account.link_ids.read(["outlook_id", "detached", "partner_id"]), links_before
        )
        self.assertFalse(self.mailbox.folder(FOLDER), "the folder is not silently re-created")

        # After a reset, the next run starts over in a new folder and links everyone again.
        self.account.action_reset_outlook_sync()
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._items("anna.shared@example.com")), 1)
        self.assertEqual(len(self._partners("carl.outlook@example.com")), 1)

    def test_sync_state_lost_full_resync_without_duplicates(self):
        self._first_sync()
        folder_id = self._folder_id()
        count = len(self.mailbox.contacts(folder_id))
        partners = self.Partner.with_context(active_test=False).search_count([])
        self.mailbox.reset_sync_state(folder_id)
        self.mailbox.edit(self.carl_item["id"], jobTitle="Resynced")
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(run.full_sync)
        self.assertEqual(len(self.mailbox.contacts(folder_id)), count)
        self.assertEqual(self.Partner.with_context(active_test=False).search_count([]), partners)
        self.assertEqual(self._partners("carl.outlook@example.com").function, "Resynced")
        self.assertEqual(run.count_new, 0)

    def test_crash_after_outlook_create_relinks_by_extended_property(self):
        self._first_sync()
        bert_item = self._items("bert.odoo@example.com")[0]
        carl = self._partners("carl.outlook@example.com")
        # What a crash between Graph's writes and Odoo's commit leaves: Outlook holds the
        # contacts, Odoo knows nothing of the run (no links, no delta position, no Carl).
        self.account.link_ids.unlink()
        self.account.delta_link = False
        carl.unlink()
        # Bert's name was changed meanwhile: email or name could not find him, only our
        # extended property can.
        self.bert.write({"email": "bert.new@example.com"})
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(self._link(self.bert).outlook_id, bert_item["id"])
        items = self.mailbox.contacts(self._folder_id())
        self.assertEqual(len([i for i in items if i["id"] == bert_item["id"]]), 1)
        self.assertEqual(
            len(
                [
                    i
                    for i in items
                    if first_email(i) in ("bert.odoo@example.com", "bert.new@example.com")
                ]
            ),
            1,
            "no duplicate of Bert in Outlook",
        )
        self.assertEqual(len(self._partners("carl.outlook@example.com")), 1)
        self.assertEqual(len(self._items("anna.shared@example.com")), 1)
        self.assertTrue(
            run.line_ids.filtered(lambda ln: ln.partner_id == self.bert and ln.action == "linked")
        )

    def test_bad_record_is_a_failed_line_and_the_rest_syncs(self):
        bad = self.Partner.create({"name": "Broken Email", "email": "broken@@example"})
        good = self.Partner.create({"name": "Good Email", "email": "good.email@example.com"})
        run = self.account._sync_outlook(trigger_user=self.account_user)  # with the user's toast
        self.assertEqual(run.user_id, self.account_user)
        self.assertEqual(run.state, "done", run.message)
        failed = run.line_ids.filtered(lambda ln: ln.partner_id == bad)
        self.assertEqual(failed.mapped("status"), ["failed"])
        self.assertEqual(failed.action, "refused")
        self.assertGreaterEqual(run.count_failed, 1)
        self.assertEqual(len(self._items("good.email@example.com")), 1)
        self.assertTrue(self._link(good))
        self.assertFalse(self._link(bad))
        # The user who asked gets the counts per direction.
        self.env.cr.precommit.run()
        toast = self.env["bus.bus"].sudo().search([], order="id desc", limit=1)
        self.assertIn(f'"res.partner",{self.account_user.partner_id.id}]', toast.channel)
        payload = json.loads(toast.message)["payload"]
        self.assertEqual(payload["type"], "warning")
        self.assertIn("To Outlook:", payload["message"])
        self.assertIn(f"{run.count_failed} failed", payload["message"])

    def test_cron_syncs_connected_accounts_only(self):
        other = new_contacts_user(self.env, "paula_paused")
        paused = self.env["microsoft.contacts.account"].create({"user_id": other.id})
        paused.sudo().state = "paused"
        (self.account | paused).sudo().initial_sync_confirmed = True
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        runs = self.env["microsoft.contacts.sync.run"].search([("source", "=", "outlook")])
        self.assertEqual(runs.account_id, self.account)
        self.assertEqual(runs.state, "done", runs.message)
        # Just synced: not due again in this cycle.
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(
            self.env["microsoft.contacts.sync.run"].search_count([("source", "=", "outlook")]), 1
        )

    def test_revoked_consent_fails_the_run_and_asks_to_reconnect(self):
        self.simulator.revoke(self.mailbox.user_id)
        self.simulator._call("POST", "expire_tokens", json={"user_id": self.mailbox.user_id})
        run = self._sync()
        self.assertEqual(run.state, "failed")
        self.assertEqual(self.account.state, "needs_reconnect")
        self.assertTrue(run.message)

    def test_mass_deletion_is_held_back_until_confirmed(self):
        self._first_sync()
        self.account.mass_delete_minimum = 2
        delta_link = self.account.delta_link
        self.mailbox.delete(self.anna_item["id"])
        self.mailbox.delete(self.carl_item["id"])
        run = self._sync()
        self.assertEqual(run.state, "done")
        self.assertIn("confirm", run.message)
        self.assertEqual(self.account.delta_link, delta_link, "the same changes come back")
        self.assertFalse(self.account.link_ids.filtered("detached"))

        run = self.account._sync_outlook(confirm_deletions=True)
        self.assertEqual(run.state, "done", run.message)
        carl = self._partners("carl.outlook@example.com")
        self.assertEqual(self.account.link_ids.filtered("detached").partner_id, self.anna | carl)
        self.assertTrue(carl.active)

    def test_a_failed_outlook_write_is_logged_and_retried(self):
        self._first_sync()
        delta_link = self.account.delta_link
        carl = self._partners("carl.outlook@example.com")
        carl.function = "Odoo Side"
        self.bert.function = "Also Odoo Side"
        self.simulator._call(
            "POST",
            "faults",
            json={
                "path_regex": re.escape(self.carl_item["id"].rstrip("=")),
                "method": "PATCH",
                "status": 400,
            },
        )
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        failed = run.line_ids.filtered(lambda ln: ln.status == "failed")
        self.assertEqual(failed.partner_id, carl, run.line_ids.mapped("reason"))
        self.assertEqual(failed.direction, "to_outlook")
        self.assertEqual(self._items("bert.odoo@example.com")[0]["jobTitle"], "Also Odoo Side")
        self.assertEqual(self.account.delta_link, delta_link)

        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertFalse(run.line_ids.filtered(lambda ln: ln.status == "failed"))
        self.assertEqual(self._items("carl.outlook@example.com")[0]["jobTitle"], "Odoo Side")
        self.assertNotEqual(self.account.delta_link, delta_link)

    def test_users_read_only_their_own_links(self):
        self._first_sync()
        Link = self.env["microsoft.contacts.link"]
        own = Link.with_user(self.account_user).search([])
        self.assertEqual(own, self.account.link_ids)
        self.assertTrue(own)
        stranger = new_contacts_user(self.env, "stan_stranger")
        self.assertFalse(Link.with_user(stranger).search([]))
        with self.assertRaises(AccessError):
            own.with_user(self.account_user).write({"detached": True})
        self.assertFalse(
            self.account.with_user(self.account_user).read(["sync_direction"])[0].get("delta_link")
        )

    def test_a_failing_odoo_write_fails_its_record_only(self):
        folder = self.mailbox.create_folder(FOLDER)
        self.mailbox.seed(
            [
                {
                    "givenName": "Fine",
                    "surname": "Person",
                    "emailAddresses": [{"address": "fine.person@example.com"}],
                },
                {
                    "givenName": "Explode",
                    "surname": "Person",
                    "emailAddresses": [{"address": "explode.person@example.com"}],
                },
            ],
            folder_id=folder["id"],
        )
        with partner_creates_refused(self.registry, "Explode"):
            run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        failed = run.line_ids.filtered(lambda ln: ln.status == "failed")
        self.assertEqual(failed.mapped("email"), ["explode.person@example.com"])
        self.assertIn("refused by the test", failed.reason)
        fine = self._partners("fine.person@example.com")
        self.assertEqual(len(fine), 1)
        self.assertTrue(self._link(fine))
        self.assertFalse(self._partners("explode.person@example.com"))
        self.assertFalse(self.account.delta_link, "kept back: the round was not fully applied")

        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._partners("explode.person@example.com")), 1)
        self.assertEqual(len(self._partners("fine.person@example.com")), 1)
        self.assertTrue(self.account.delta_link)

    def test_cron_goes_on_after_a_failing_account(self):
        broken_user = new_contacts_user(self.env, "brenda_broken")
        broken = self.env["microsoft.contacts.account"].create({"user_id": broken_user.id})
        broken.sudo().state = "connected"  # but no sign-in stored: its run must fail
        (self.account | broken).sudo().initial_sync_confirmed = True
        Account = self.env["microsoft.contacts.account"]
        Account._cron_sync_accounts()
        Account._cron_sync_accounts()
        runs = self.env["microsoft.contacts.sync.run"].search([("source", "=", "outlook")])
        self.assertEqual(runs.account_id, self.account | broken)
        by_account = {run.account_id: run for run in runs}
        self.assertEqual(by_account[broken].state, "failed")
        self.assertEqual(broken.state, "needs_reconnect")
        self.assertEqual(by_account[self.account].state, "done", by_account[self.account].message)

    def test_partner_knows_it_is_synced_with_my_outlook(self):
        self._first_sync()
        synced = self.Partner.with_user(self.account_user).search(
            [("microsoft_contacts_synced", "=", True)]
        )
        self.assertIn(self.anna, synced)
        self.assertTrue(self.anna.with_user(self.account_user).microsoft_contacts_synced)
        self.assertFalse(self.anna.microsoft_contacts_synced, "not the admin's Outlook")
