"""A contact's Outlook status, and stopping / resuming its sync for one user, end to end
against the simulator's mailbox."""

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.microsoft_contacts.models.microsoft_contacts_account_sync import (
    SYNC_LOCK_CLASS,
)

from .common import OutlookSyncCase, first_email, new_contacts_user

FOLDER = "Odoo Contacts"


@tagged("post_install", "-at_install")
class TestPartnerOutlookStatus(OutlookSyncCase):
    account_login = "olivia_status"

    def _synced(self):
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        return run

    def _items(self, email):
        folder = self.mailbox.folder(FOLDER)
        if not folder:
            return []
        return [i for i in self.mailbox.contacts(folder["id"]) if first_email(i) == email]

    def _link(self, partner):
        return self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id), ("partner_id", "=", partner.id)]
        )

    def _as_user(self, partner):
        return partner.with_user(self.account_user)

    def _pushed(self, name, email):
        """A partner created in Odoo and pushed to Outlook by a run: (partner, its item)."""
        partner = self.Partner.create({"name": name, "email": email})
        self._synced()
        items = self._items(email)
        self.assertEqual(len(items), 1)
        return partner, items[0]

    # -- status --------------------------------------------------------------------------

    def test_status_of_a_synced_contact(self):
        anna, _item = self._pushed("Anna Status", "anna.status@example.com")
        mine = self._as_user(anna)
        self.assertEqual(mine.microsoft_contacts_status, "synced")
        self.assertTrue(mine.microsoft_contacts_synced)
        self.assertEqual(mine.microsoft_contacts_synced_at, self._link(anna).synced_at)
        self.assertFalse(mine.microsoft_contacts_other_users)
        # The administrator has no account: not in theirs.
        self.assertEqual(anna.microsoft_contacts_status, "none")

        form = self.Partner.with_user(self.account_user).get_views([(False, "form")])
        arch = form["views"]["form"]["arch"]
        self.assertIn('name="action_microsoft_contacts_stop_sync"', arch)
        self.assertIn('name="microsoft_contacts_status"', arch)

    def test_status_names_the_other_users_but_shows_only_own_links(self):
        anna, _item = self._pushed("Anna Shared", "anna.shared.status@example.com")
        others = self.env["res.users"]
        for login in ("status_zoe", "status_yann", "status_xavi"):
            user = new_contacts_user(self.env, login)
            account = self.env["microsoft.contacts.account"].create({"user_id": user.id})
            self.env["microsoft.contacts.link"].create(
                {
                    "account_id": account.id,
                    "partner_id": anna.id,
                    "outlook_id": f"item-of-{login}",
                    "detached": login == "status_xavi",  # stopped: not in Xavi's Outlook
                }
            )
            others |= user

        mine = self._as_user(anna)
        self.assertEqual(mine.microsoft_contacts_status, "synced")
        self.assertEqual(mine.microsoft_contacts_other_count, 2)
        self.assertEqual(mine.microsoft_contacts_other_users, "Status Yann, Status Zoe")
        self.assertEqual(mine.microsoft_contacts_link_ids, self._link(anna))

        zoe = others.filtered(lambda u: u.login == "status_zoe")
        theirs = anna.with_user(zoe)
        self.assertEqual(theirs.microsoft_contacts_other_users, "Olivia Status, Status Yann")
        self.assertEqual(len(theirs.microsoft_contacts_link_ids), 1)

    def test_filter_returns_exactly_the_synced_partners(self):
        anna, _item = self._pushed("Anna Filter", "anna.filter@example.com")
        linked = (
            self.env["microsoft.contacts.link"]
            .search([("account_id", "=", self.account.id), ("detached", "=", False)])
            .partner_id
        )
        self.assertIn(anna, linked)
        Partner = self.Partner.with_user(self.account_user)
        self.assertEqual(Partner.search([("microsoft_contacts_synced", "=", True)]), linked)
        self._as_user(anna).action_microsoft_contacts_stop_sync()
        self.assertEqual(Partner.search([("microsoft_contacts_synced", "=", True)]), linked - anna)
        self.assertNotIn(anna, Partner.search([("microsoft_contacts_synced", "=", True)]))
        self.assertIn(anna, Partner.search([("microsoft_contacts_synced", "=", False)]))

        # The filter of the search view uses that very field.
        arch = self.Partner.with_user(self.account_user).get_views([(False, "search")])
        self.assertIn('name="microsoft_contacts_synced"', arch["views"]["search"]["arch"])

    # -- stop / resume a synced contact -----------------------------------------------------

    def test_stop_syncing_a_synced_contact_keeps_the_outlook_copy_frozen(self):
        anna, item = self._pushed("Anna Stop", "anna.stop@example.com")
        self._as_user(anna).action_microsoft_contacts_stop_sync()
        link = self._link(anna)
        self.assertTrue(link.detached)
        self.assertEqual(self._as_user(anna).microsoft_contacts_status, "stopped")

        anna.write({"function": "Changed While Stopped", "phone": "+32 2 555 01 01"})
        self.mailbox.edit(item["id"], jobTitle="Edited In Outlook")
        run = self._synced()
        items = self._items("anna.stop@example.com")
        self.assertEqual(len(items), 1, "the Outlook copy stays, and only one")
        self.assertEqual(items[0]["id"], item["id"])
        self.assertEqual(items[0]["jobTitle"], "Edited In Outlook", "Odoo no longer updates it")
        self.assertFalse(items[0].get("businessPhones"))
        self.assertEqual(anna.function, "Changed While Stopped", "Outlook no longer updates it")
        self.assertFalse(run.line_ids.filtered(lambda line: line.partner_id == anna))
        self.assertTrue(self._link(anna).detached)

    def test_resume_syncs_the_same_outlook_copy_again(self):
        anna, item = self._pushed("Anna Resume", "anna.resume@example.com")
        self._as_user(anna).action_microsoft_contacts_stop_sync()
        self._synced()
        anna.function = "Changed While Stopped"
        snapshot, change_key = self._link(anna).snapshot, self._link(anna).change_key

        self._as_user(anna).action_microsoft_contacts_resume_sync()
        link = self._link(anna)
        self.assertFalse(link.detached or link.excluded or link.label)
        self.assertTrue(link.read_again, "its Outlook copy is read again by the next sync")
        self.assertEqual((link.snapshot, link.change_key), (snapshot, change_key))
        self.assertEqual(self._as_user(anna).microsoft_contacts_status, "synced")
        run = self._synced()
        self.assertFalse(run.full_sync, "the delta position is kept: no full read")
        items = self._items("anna.resume@example.com")
        self.assertEqual(len(items), 1, "the same copy, not a duplicate")
        self.assertEqual(items[0]["id"], item["id"])
        self.assertEqual(items[0]["jobTitle"], "Changed While Stopped")
        link = self._link(anna)
        self.assertEqual(link.outlook_id, item["id"])
        self.assertFalse(link.detached or link.read_again)
        self.assertEqual(self._as_user(anna).microsoft_contacts_status, "synced")

        # And it keeps syncing: the next change goes through the delta again.
        anna.function = "After Resume"
        self._synced()
        self.assertEqual(self._items("anna.resume@example.com")[0]["jobTitle"], "After Resume")
        self.assertEqual(len(self.Partner.search([("email", "=", "anna.resume@example.com")])), 1)

    def test_resume_merges_what_changed_on_both_sides_while_stopped(self):
        for policy, job in (("odoo", "Odoo Job"), ("outlook", "Outlook Job")):
            with self.subTest(conflict_policy=policy):
                self.account.conflict_policy = policy
                email = f"anna.{policy}.merge@example.com"
                anna = self.Partner.create(
                    {"name": f"Anna {policy.title()}", "email": email, "city": "Brussels"}
                )
                self._synced()
                (item,) = self._items(email)
                self._as_user(anna).action_microsoft_contacts_stop_sync()
                # While stopped: each side edits a field of its own, and both the job title.
                anna.write({"phone": "+32 2 555 01 01", "function": "Odoo Job"})
                self.mailbox.edit(
                    item["id"], businessAddress={"city": "Liège"}, jobTitle="Outlook Job"
                )
                self._synced()
                self.assertEqual(anna.city, "Brussels", "nothing synced while stopped")
                account = self.account.sudo()
                behind = account._get_graph_client().delta(account.delta_link)
                self.assertNotIn(item["id"], [i["id"] for i in behind.items], "delta moved past it")

                self._as_user(anna).action_microsoft_contacts_resume_sync()
                run = self._synced()
                self.assertFalse(run.full_sync)
                items = self._items(email)
                self.assertEqual([i["id"] for i in items], [item["id"]], "no duplicate")
                self.assertEqual(len(self.Partner.search([("email", "=", email)])), 1)
                self.assertEqual(items[0]["businessAddress"]["city"], "Liège")
                self.assertEqual(items[0]["businessPhones"], ["+32 2 555 01 01"])
                self.assertEqual(items[0]["jobTitle"], job)
                self.assertEqual(
                    (anna.city, anna.phone, anna.function), ("Liège", "+32 2 555 01 01", job)
                )
                conflict = run.line_ids.filtered(
                    lambda line, anna=anna: line.partner_id == anna and line.action == "conflict"
                )
                self.assertIn(f"kept {policy}'s", conflict.reason)

                # In sync again: the next run has nothing to do for it.
                run = self._synced()
                self.assertFalse(
                    run.line_ids.filtered(lambda line, anna=anna: line.partner_id == anna)
                )
                self.assertFalse(self._link(anna).read_again)

    def test_resume_after_the_outlook_copy_was_deleted_creates_it_again_once(self):
        anna, item = self._pushed("Anna Deleted", "anna.deleted@example.com")
        self.assertEqual(self.account.outlook_deletion, "unlink")
        self._as_user(anna).action_microsoft_contacts_stop_sync()
        self.mailbox.delete(item["id"])
        self._synced()
        self.assertTrue(self._link(anna).detached, "frozen: the deletion is not applied")

        self._as_user(anna).action_microsoft_contacts_resume_sync()
        run = self._synced()
        items = self._items("anna.deleted@example.com")
        self.assertEqual(len(items), 1)
        self.assertNotEqual(items[0]["id"], item["id"])
        link = self._link(anna)
        self.assertEqual(link.outlook_id, items[0]["id"])
        self.assertFalse(link.detached)
        line = run.line_ids.filtered(lambda ln: ln.partner_id == anna)
        self.assertEqual(line.action, "created")
        self.assertIn("while not synced", line.reason)
        self._synced()
        self.assertEqual(len(self._items("anna.deleted@example.com")), 1)

    # -- stop / resume a contact never synced ---------------------------------------------

    def test_stop_syncing_a_contact_never_synced_keeps_it_out(self):
        self._synced()  # the folder exists and the account is in delta mode
        bert = self.Partner.create({"name": "Bert Never", "email": "bert.never@example.com"})
        self._as_user(bert).action_microsoft_contacts_stop_sync()
        self.assertEqual(self.account.excluded_partner_ids, bert)
        self.assertFalse(self._link(bert))
        self.assertEqual(self._as_user(bert).microsoft_contacts_status, "stopped")

        self._synced()
        self.assertFalse(self._items("bert.never@example.com"), "never pushed")
        self.assertFalse(self._link(bert))

        self._as_user(bert).action_microsoft_contacts_resume_sync()
        self.assertFalse(self.account.excluded_partner_ids)
        self._synced()
        self.assertEqual(len(self._items("bert.never@example.com")), 1)
        self.assertFalse(self._link(bert).detached)

    def test_stop_from_the_partner_list_action(self):
        anna, item = self._pushed("Anna Listed", "anna.listed@example.com")
        bert = self.Partner.create({"name": "Bert Listed", "email": "bert.listed@example.com"})
        # Odoo runs server actions for users who may edit the records: contact managers.
        self.account_user.groups_id |= self.env.ref("base.group_partner_manager")
        action = self.env.ref("microsoft_contacts.action_partner_microsoft_contacts_stop_sync")
        result = (
            action.with_user(self.account_user)
            .with_context(active_model="res.partner", active_ids=(anna | bert).ids)
            .run()
        )
        self.assertEqual(result["tag"], "display_notification")
        self.assertTrue(self._link(anna).detached)
        self.assertEqual(self.account.excluded_partner_ids, bert)
        anna.function = "Not Sent"
        self._synced()
        self.assertNotEqual(self._items("anna.listed@example.com")[0].get("jobTitle"), "Not Sent")
        self.assertFalse(self._items("bert.listed@example.com"))
        self.assertEqual(self._items("anna.listed@example.com")[0]["id"], item["id"])

    def test_stop_needs_an_account_and_touches_no_one_else(self):
        anna, _item = self._pushed("Anna Others", "anna.others@example.com")
        nobody = new_test_user(self.env, login="status_nobody", name="Status Nobody")
        with self.assertRaisesRegex(UserError, "not connected Outlook yet"):
            anna.with_user(nobody).action_microsoft_contacts_stop_sync()
        self.assertFalse(self._link(anna).detached, "another user's pair is untouched")
        self.assertEqual(self._as_user(anna).microsoft_contacts_status, "synced")

    # -- one mechanism with the preview's Left Out tab -------------------------------------

    def _preview(self):
        action = self.account.with_user(self.account_user).action_preview()
        preview = (
            self.env["microsoft.contacts.sync.preview"]
            .with_user(self.account_user)
            .browse(action["res_id"])
        )
        self.assertFalse(preview.error)
        return preview

    def test_stopped_from_the_partner_form_is_left_out_in_the_preview(self):
        anna, item = self._pushed("Anna Left", "anna.left@example.com")
        bert = self.Partner.create({"name": "Bert Left", "email": "bert.left@example.com"})
        self._as_user(anna | bert).action_microsoft_contacts_stop_sync()
        link = self._link(anna)
        self.assertTrue(link.detached and link.excluded)
        self.assertEqual(link.label, "Anna Left <anna.left@example.com>")
        self.assertEqual(self.account.excluded_partner_ids, bert)
        for partner in anna | bert:
            self.assertEqual(self._as_user(partner).microsoft_contacts_status, "stopped")

        preview = self._preview()
        left_out = preview.excluded_line_ids
        self.assertEqual(left_out.partner_id, anna | bert)
        anna_line = left_out.filtered(lambda line: line.partner_id == anna)
        self.assertEqual((anna_line.link_id, anna_line.outlook_id), (link, item["id"]))
        self.assertFalse(left_out.filtered("selected"), "left out until ticked")
        self.assertFalse(
            (preview.line_ids - left_out).filtered(lambda line: line.partner_id in anna | bert),
            "nothing planned for them",
        )

    def test_including_again_in_the_preview_is_resume(self):
        anna, anna_item = self._pushed("Anna Form", "anna.form@example.com")
        carl, carl_item = self._pushed("Carl Preview", "carl.preview@example.com")
        bert = self.Partner.create({"name": "Bert Form", "email": "bert.form@example.com"})
        dora = self.Partner.create({"name": "Dora Preview", "email": "dora.preview@example.com"})
        self._as_user(anna | carl | bert | dora).action_microsoft_contacts_stop_sync()
        for partner, item in ((anna, anna_item), (carl, carl_item)):
            partner.function = "Odoo Job"
            self.mailbox.edit(item["id"], mobilePhone="+32 475 12 34 56")
        self._synced()

        # Carl and Dora ticked in the preview's Left Out tab, Anna and Bert resumed from the
        # partner form: the same state.
        preview = self._preview()
        back = preview.excluded_line_ids.filtered(lambda line: line.partner_id in carl | dora)
        self.assertEqual(len(back), 2)
        back.selected = True
        preview.action_apply()
        self._as_user(anna | bert).action_microsoft_contacts_resume_sync()

        def state(partner):
            link = self._link(partner)
            return (
                bool(link),
                link.detached,
                link.excluded,
                link.label,
                link.read_again,
                partner in self.account.excluded_partner_ids,
                self._as_user(partner).microsoft_contacts_status,
            )

        self.assertEqual(state(anna), (True, False, False, False, True, False, "synced"))
        self.assertEqual(state(carl), state(anna))
        self.assertEqual(state(bert), (False, False, False, False, False, False, "none"))
        self.assertEqual(state(dora), state(bert))

        # The next sync treats them alike: both edits of each pair merged, no duplicate.
        self._synced()
        for partner, item in ((anna, anna_item), (carl, carl_item)):
            (now,) = self._items(partner.email)
            self.assertEqual(now["id"], item["id"])
            self.assertEqual(now["jobTitle"], "Odoo Job")
            self.assertEqual(partner.mobile, "+32 475 12 34 56")
        for partner in bert | dora:
            self.assertEqual(len(self._items(partner.email)), 1)
            self.assertFalse(self._link(partner).detached)

    def test_stop_and_resume_wait_for_a_running_sync(self):
        # No sync first: a run of this test's transaction would hold the lock itself.
        anna = self.Partner.create({"name": "Anna Locked", "email": "anna.locked@example.com"})
        bert = self.Partner.create({"name": "Bert Locked", "email": "bert.locked@example.com"})
        link = self.env["microsoft.contacts.link"].create(
            {
                "account_id": self.account.id,
                "partner_id": anna.id,
                "partner_ref": anna.id,
                "outlook_id": "anna-locked-item",
                "detached": True,
                "excluded": True,
            }
        )
        account = self.account.with_user(self.account_user)
        with self.registry.cursor() as worker:
            worker.execute(
                SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SYNC_LOCK_CLASS, self.account.id)
            )
            self.assertTrue(worker.fetchone()[0], "the other worker runs a sync")
            with self.assertRaisesRegex(UserError, "is running"):
                self._as_user(anna).action_microsoft_contacts_resume_sync()
            with self.assertRaisesRegex(UserError, "is running"):
                self._as_user(bert).action_microsoft_contacts_stop_sync()
            with self.assertRaisesRegex(UserError, "is running"):
                account._include_again(self.Partner, link)
            with self.assertRaisesRegex(UserError, "is running"):
                account._leave_out([(0, "some-outlook-id", "Some One")])
        self.assertTrue(link.detached and link.excluded)
        self.assertFalse(link.read_again)
        self.assertFalse(self.account.excluded_partner_ids)
        self.assertEqual(self.account.link_ids, link)

        # Once that sync is over, both go through.
        self._as_user(bert).action_microsoft_contacts_stop_sync()
        self._as_user(anna).action_microsoft_contacts_resume_sync()
        self.assertEqual(self.account.excluded_partner_ids, bert)
        self.assertTrue(link.read_again)
