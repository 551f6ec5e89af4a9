"""R9: a user's sync does in Odoo what that user may do, and nothing ordinary loses or leaks
contacts. Every sync here is a non-administrator's: an internal user with Contacts rights
(TestSyncTrust, TestTrustMultiCompany) or with read-only contacts (TestSyncReadOnlyUser)."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import (
    OutlookSyncCase,
    new_contacts_user,
    partner_creates_refused,
    person,
    sign_in_account,
)


@tagged("post_install", "-at_install")
class TestSyncTrust(OutlookSyncCase):
    account_login = "tina_trust"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A colleague: an internal user, whose contact Odoo protects from other users.
        cls.colleague = new_test_user(
            cls.env, login="trust_colleague", name="Colin Colleague", email="colin@example.com"
        )

    def _confirmed(self):
        self.account.sudo().initial_sync_confirmed = True

    def _line(self, run, **where):
        return run.line_ids.filtered(
            lambda line: all(line[key] == value for key, value in where.items())
        )

    # -- 1. the user's own rights -----------------------------------------------------------

    def test_an_outlook_edit_of_a_colleagues_contact_is_refused_and_written_back(self):
        colin = self.colleague.partner_id
        self._synced()
        (item,) = self._items("colin@example.com")
        self.assertTrue(self._link(colin))
        # What the user may not do in Odoo, the sync does not do for him either.
        with self.assertRaises(AccessError):
            colin.with_user(self.account_user).email = "attacker@evil.example"

        self.mailbox.edit(item["id"], emailAddresses=[{"address": "attacker@evil.example"}])
        run = self._synced()
        self.assertEqual(colin.email, "colin@example.com")
        (back,) = self._items("colin@example.com")
        self.assertEqual(back["id"], item["id"], "Odoo's value written back to the same copy")
        refused = self._line(run, action="not_allowed")
        self.assertEqual(refused.partner_id, colin)
        self.assertIn("not allowed", refused.reason)
        self.assertIn("written back to Outlook: email", refused.reason)
        self.assertEqual(run.count_not_allowed, 1)
        self.assertIn("1 not allowed", run._get_summary_message())
        self.assertFalse(self._link(colin).detached, "the pair stays linked")
        # Settled: the next run has nothing to say about it.
        self.assertFalse(self._synced().line_ids.filtered(lambda line: line.partner_id == colin))

    def test_contacts_are_written_as_the_user(self):
        self._seed([person("Ada", "Author", "ada.author@example.com")])
        self._synced()
        ada = self._partners("ada.author@example.com")
        self.assertEqual(ada.create_uid, self.account_user, "created by the user, not the system")
        (item,) = self._items("ada.author@example.com")
        self.mailbox.edit(item["id"], jobTitle="Architect")
        self._synced()
        self.assertEqual(ada.function, "Architect")
        self.assertEqual(ada.write_uid, self.account_user)

    # -- 2. nothing typed in Outlook is deleted because of an Odoo filter -------------------

    def test_a_contact_typed_in_outlook_stays_whatever_the_scope(self):
        (bare,) = self._seed([{"displayName": "Only A Name"}])
        self._synced()
        partner = self.Partner.search([("name", "=", "Only A Name")])
        self.assertEqual(len(partner), 1)
        self.assertFalse(self._link(partner).created_in_outlook)
        # Outside "people with an email or a phone": still synced, still in Outlook.
        for _run in range(2):
            run = self._synced()
            self.assertFalse(self._line(run, action="deleted"))
        self.assertIn(bare["id"], {i["id"] for i in self.mailbox.contacts(bare["parentFolderId"])})
        self.mailbox.edit(bare["id"], jobTitle="Still Synced")
        self._synced()
        self.assertEqual(partner.function, "Still Synced")

    def test_my_contacts_scope_keeps_and_owns_what_came_from_outlook(self):
        self.account.sync_scope = "my"
        self._seed([person("Mo", "Mine", "mo.mine@example.com")])
        self._synced()
        mo = self._partners("mo.mine@example.com")
        self.assertEqual(mo.user_id, self.account_user, "in scope: the user is its salesperson")
        mo.user_id = False  # handed over: out of the scope now
        run = self._synced()
        self.assertFalse(self._line(run, action="deleted"))
        self.assertEqual(len(self._items("mo.mine@example.com")), 1)

    def test_narrowing_the_scope_removes_only_the_copies_odoo_put_in_outlook(self):
        pushed = self.Partner.create({"name": "Pushed Pia", "email": "pia@example.com"})
        self._seed([person("Typed", "Tom", "tom@example.com")])
        self._synced()
        tom = self._partners("tom@example.com")
        self.assertTrue(self._link(pushed).created_in_outlook)
        self.assertFalse(self._link(tom).created_in_outlook)

        self.account.write({"sync_scope": "tags", "sync_tag_ids": [Command.clear()]})
        preview = self.env["microsoft.contacts.sync.preview"].create(
            {"account_id": self.account.id}
        )
        preview._load_plan()
        # Every copy Odoo put there goes (the other users' contacts too), none typed in Outlook.
        deletions = preview.deletion_line_ids
        self.assertIn(pushed, deletions.partner_id)
        self.assertNotIn(tom, deletions.partner_id)
        self.assertEqual(
            set(deletions.mapped("reason")),
            {"no longer in the contacts to sync: the copy the sync put in Outlook is deleted"},
        )

        self.account.mass_delete_minimum = 100
        run = self._synced()
        self.assertEqual(self._line(run, action="deleted").partner_id, deletions.partner_id)
        self.assertFalse(self._items("pia@example.com"))
        self.assertEqual(len(self._items("tom@example.com")), 1)
        self.assertTrue(pushed.active and tom.active, "nothing archived in Odoo")

    # -- 3. offboarding ---------------------------------------------------------------------

    def _assert_offboarded(self):
        account = self.account.sudo()
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(account.token_cache)
        self.assertFalse(account.home_account_id)
        self.assertIn("no longer an active internal user", account.last_error)
        self.assertIn("Disconnected", account.sync_run_ids[:1].message)

    def test_an_archived_user_is_disconnected_and_never_synced(self):
        self._confirmed()
        self.Partner.create({"name": "Secret", "email": "secret@example.com"})
        self.account_user.action_archive()
        self._assert_offboarded()
        runs = self.account.sudo().sync_run_ids
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.account._sync_outlook()
        self.assertEqual(self.account.sudo().sync_run_ids, runs, "no run after offboarding")
        self.assertFalse(self.mailbox.folder("Odoo Contacts"), "nothing reached the mailbox")
        # Active again: a new Connect is needed.
        self.account_user.action_unarchive()
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(self.account.sudo().state, "not_connected")

    def test_a_user_turned_portal_is_disconnected(self):
        self._confirmed()
        self.account_user.groups_id = [Command.set([self.env.ref("base.group_portal").id])]
        self._assert_offboarded()
        with self.assertRaises(AccessError):
            self.env["microsoft.contacts.account"].with_user(self.account_user)._get_my_account()

    def test_the_cron_disconnects_users_archived_behind_its_back(self):
        self._confirmed()
        self.env.cr.execute(
            "UPDATE res_users SET active = FALSE WHERE id = %s", [self.account_user.id]
        )
        self.env.invalidate_all()
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self._assert_offboarded()
        self.assertFalse(self.mailbox.folder("Odoo Contacts"))

    # -- 4. one identity per account, one account per mailbox -------------------------------

    def test_a_sign_in_as_someone_else_is_refused_while_connected(self):
        self.simulator.add_user("mallory@contoso.test", display_name="Mallory")
        cache = self.account.sudo().token_cache
        with self.assertRaisesRegex(UserError, "Disconnect first"):
            sign_in_account(
                self.account, self.simulator, self.redirect_uri, login_hint="mallory@contoso.test"
            )
        self.assertEqual(self.account.sudo().token_cache, cache)
        self.assertEqual(self.account.microsoft_username, self.mailbox_upn)
        # Signing in again as the same mailbox is a plain reconnect.
        sign_in_account(self.account, self.simulator, self.redirect_uri, self.mailbox_upn)
        self.assertEqual(self.account.state, "connected")

    def test_a_mailbox_syncs_with_one_odoo_user_only(self):
        other_user = new_contacts_user(self.env, "trust_other")
        other = self.env["microsoft.contacts.account"].create({"user_id": other_user.id})
        with self.assertRaisesRegex(UserError, "already synced by Tina Trust"):
            sign_in_account(other, self.simulator, self.redirect_uri, self.mailbox_upn)
        self.assertEqual(other.state, "not_connected")
        # Once the first user disconnects, the mailbox is free.
        self.account.action_disconnect()
        sign_in_account(other, self.simulator, self.redirect_uri, self.mailbox_upn)
        self.assertEqual(other.state, "connected")

    def test_another_mailbox_after_a_disconnect_starts_over_behind_a_preview(self):
        self._confirmed()
        kept = self.Partner.create({"name": "Kept Out", "email": "kept.out@example.com"})
        self._synced()
        kept.with_user(self.account_user).action_microsoft_contacts_stop_sync()
        self.assertTrue(self.account.link_ids)
        self.simulator.add_user("nestor@contoso.test", display_name="Nestor")
        self.account.action_disconnect()
        sign_in_account(self.account, self.simulator, self.redirect_uri, "nestor@contoso.test")
        account = self.account.sudo()
        self.assertEqual(account.state, "connected")
        self.assertFalse(account.link_ids)
        self.assertFalse(account.folder_id or account.delta_link)
        self.assertFalse(account.initial_sync_confirmed, "the next sync is a first sync")
        self.assertIn(kept, account.excluded_partner_ids, "a contact left out stays left out")

    # -- 5. merging contacts ----------------------------------------------------------------

    def _merge(self, partners, survivor):
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.account_user)
            .create({"partner_ids": [Command.set(partners.ids)], "dst_partner_id": survivor.id})
        )
        wizard.action_merge()

    def test_merging_two_synced_contacts_keeps_one_copy_linked_and_brings_none_back(self):
        first = self.Partner.create({"name": "Dora Double", "email": "dora@example.com"})
        second = self.Partner.create({"name": "Dora D.", "email": "dora@example.com"})
        self._synced()
        items = self._items("dora@example.com")
        self.assertEqual(len(items), 2)
        copy_of_second = self._link(second).outlook_id

        self._merge(first | second, first)
        self.assertFalse(second.exists())
        self.assertEqual(self._link(first).partner_ref, first.id)
        left = self.account.link_ids.filtered(lambda link: link.outlook_id == copy_of_second)
        self.assertTrue(left.detached and left.excluded and not left.partner_id)
        merge_run = self.account.sudo().sync_run_ids[:1]
        self.assertIn("merged into Dora Double", merge_run.line_ids.reason)

        for _run in range(2):
            run = self._synced()
            self.assertFalse(run.count_failed, run.line_ids.mapped("reason"))
        self.assertEqual(self._partners("dora@example.com"), first, "no contact came back")
        self.assertEqual(len(self._items("dora@example.com")), 2, "nothing deleted in Outlook")

    def test_a_merged_away_contact_hands_its_outlook_copy_to_the_survivor(self):
        synced = self.Partner.create({"name": "Eli Old", "email": "eli@example.com"})
        self._synced()
        (item,) = self._items("eli@example.com")
        survivor = self.Partner.create(
            {"name": "Eli New", "email": "eli@example.com", "function": "Chief"}
        )
        self._merge(synced | survivor, survivor)
        link = self._link(survivor)
        self.assertEqual((link.outlook_id, link.partner_ref), (item["id"], survivor.id))

        run = self._synced()
        self.assertFalse(self._line(run, action="deleted") | self._line(run, action="created"))
        (after,) = self._items("eli@example.com")
        self.assertEqual((after["id"], after["displayName"]), (item["id"], "Eli New"))
        self.assertEqual(self._partners("eli@example.com"), survivor)

    # -- 6. reset -----------------------------------------------------------------------------

    def test_reset_keeps_the_users_decisions_and_asks_again(self):
        self._confirmed()
        self.account.odoo_deletion = "keep"
        never = self.Partner.create({"name": "Never Sent", "email": "never@example.com"})
        never.with_user(self.account_user).action_microsoft_contacts_stop_sync()
        stopped = self.Partner.create({"name": "Stopped", "email": "stopped@example.com"})
        archived = self.Partner.create({"name": "Archived", "email": "archived@example.com"})
        (bare,) = self._seed([{"displayName": "Bare Name"}])
        self._synced()
        stopped.with_user(self.account_user).action_microsoft_contacts_stop_sync()
        archived.action_archive()
        self._synced()
        stopped_copy = self._items("stopped@example.com")[0]["id"]
        bare_partner = self.Partner.search([("name", "=", "Bare Name")])

        self.account.action_reset_outlook_sync()
        self.assertFalse(self.account.initial_sync_confirmed)
        runs = self.account.sudo().sync_run_ids
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(self.account.sudo().sync_run_ids, runs, "nothing runs unattended")
        action = self.account.with_user(self.account_user).action_sync_now()
        self.assertEqual(action["res_model"], "microsoft.contacts.sync.preview")
        preview = self.env["microsoft.contacts.sync.preview"].browse(action["res_id"])
        self.assertFalse(preview.create_odoo_line_ids, preview.line_ids.mapped("reason"))
        self.assertEqual(set(preview.excluded_line_ids.mapped("name")), {"Never Sent", "Stopped"})

        run = self._synced()
        self.assertFalse(self._line(run, action="created"), run.line_ids.mapped("reason"))
        self.assertFalse(self._items("never@example.com"))
        self.assertEqual(self._partners("archived@example.com"), archived)
        self.assertFalse(archived.active, "not brought back")
        self.assertEqual(self.Partner.search([("name", "=", "Bare Name")]), bare_partner)
        self.assertEqual(self._link(bare_partner).outlook_id, bare["id"])
        stopped_link = self.account.link_ids.filtered(lambda link: link.outlook_id == stopped_copy)
        self.assertTrue(stopped_link.excluded, "still left out")

    def test_reset_to_a_new_folder_pairs_again_without_duplicates(self):
        self._confirmed()
        self.Partner.create({"name": "Fay Folder", "email": "fay@example.com"})
        self._synced()
        self.mailbox.delete_folder(self.mailbox.folder("Odoo Contacts")["id"])
        self.assertEqual(self._sync().state, "failed", "a vanished folder is not 'all deleted'")
        self.account.action_reset_outlook_sync()
        run = self._synced()
        self.assertEqual(len(self._items("fay@example.com")), 1, "copied to the new folder")
        self.assertEqual(len(self._partners("fay@example.com")), 1)
        created = self._line(run, action="created")
        self.assertEqual(set(created.mapped("direction")), {"to_outlook"})

    # -- 7. the smaller points ----------------------------------------------------------------

    def test_a_record_that_keeps_failing_is_stuck_and_the_delta_moves_on(self):
        self._seed([person("Fine", "Fred", "fred@example.com")])
        (bad,) = self._seed([person("Explode", "Eve", "eve@example.com")])
        with partner_creates_refused(self.registry, "Explode"):
            for attempt in (1, 2):
                run = self._synced()
                self.assertEqual(self._line(run, status="failed").external_id, bad["id"])
                self.assertFalse(self.account.sudo().delta_link, f"attempt {attempt}: kept")
            run = self._synced()
        stuck = self._line(run, action="stuck")
        self.assertEqual(stuck.external_id, bad["id"])
        self.assertIn("stuck after 3 failed attempts: refused by the test", stuck.reason)
        self.assertTrue(self.account.sudo().delta_link, "the position moved on")
        self.assertEqual(len(self._partners("fred@example.com")), 1)
        # Left alone until it changes; then it syncs and is forgotten.
        self.assertFalse(self._synced().line_ids)
        self.mailbox.edit(bad["id"], jobTitle="Changed")
        self._synced()
        self.assertEqual(len(self._partners("eve@example.com")), 1)
        self.assertFalse(self.env["microsoft.contacts.sync.retry"].search([]))

    def test_wrong_typed_outlook_properties_fail_their_record_only(self):
        good, broken = self._seed(
            [person("Good", "Gil", "gil@example.com"), person("Broken", "Bea", "bea@example.com")]
        )
        self.mailbox.corrupt(
            broken["id"], emailAddresses={"address": "bea@example.com"}, displayName=["x"]
        )
        run = self._synced()
        self.assertEqual(len(self._partners("gil@example.com")), 1)
        line = self._line(run, external_id=broken["id"])
        self.assertTrue(line, run.line_ids.mapped("reason"))
        self.assertFalse(self._partners("bea@example.com"))

    def test_two_outlook_contacts_with_the_email_of_an_odoo_contact_make_no_second_one(self):
        hal = self.Partner.create({"name": "Hal Known", "email": "hal@example.com"})
        self._seed(
            [person("Hal", "One", "hal@example.com"), person("Hal", "Two", "HAL@example.com")]
        )
        run = self._synced()
        self.assertEqual(self._partners("hal@example.com"), hal)
        self.assertEqual(len(self._items("hal@example.com")), 2, "no third copy in Outlook")
        self.assertEqual(len(self._line(run, action="kept")), 3, run.line_ids.mapped("reason"))


@tagged("post_install", "-at_install")
class TestSyncReadOnlyUser(OutlookSyncCase):
    """Read-only contacts (base.group_user alone): Odoo is sent, never changed."""

    account_login = "rita_readonly"
    account_groups = "base.group_user"

    def test_odoo_goes_to_outlook_and_nothing_comes_back(self):
        self.account.outlook_deletion = "archive"
        self.Partner.create(
            [
                {"name": "Rosa Read", "email": "rosa@example.com", "function": "Buyer"},
                {"name": "Gone Gus", "email": "gus@example.com"},
            ]
        )
        self._synced()
        (rosa,) = self._items("rosa@example.com")
        (gus,) = self._items("gus@example.com")
        self.mailbox.edit(rosa["id"], jobTitle="Changed In Outlook")
        self.mailbox.delete(gus["id"])
        self._seed([person("New", "Nora", "nora@example.com")])

        run = self._synced()
        self.assertFalse(run.count_failed, run.line_ids.mapped("reason"))
        self.assertEqual(self._partners("rosa@example.com").function, "Buyer")
        self.assertEqual(self._items("rosa@example.com")[0]["jobTitle"], "Buyer")
        self.assertTrue(self._partners("gus@example.com").active, "not archived: not allowed")
        unlinked = run.line_ids.filtered(lambda line: line.action == "unlinked")
        self.assertIn("not allowed to archive", unlinked.reason)
        self.assertFalse(self._partners("nora@example.com"))
        self.assertEqual(len(self._items("nora@example.com")), 1, "left in Outlook")
        refused = run.line_ids.filtered(lambda line: line.action == "not_allowed")
        self.assertEqual(len(refused), 2)
        self.assertTrue(any("creating contacts" in reason for reason in refused.mapped("reason")))


@tagged("post_install", "-at_install")
class TestTrustMultiCompany(OutlookSyncCase):
    """Two companies: the user works in the first one only, unless a test adds the second."""

    account_login = "mia_multi"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Trust B Corp"})
        cls.account_user.write(
            {"company_ids": [Command.set(cls.company_a.ids)], "company_id": cls.company_a.id}
        )

    def test_contacts_of_another_company_are_neither_sent_nor_linked(self):
        self.Partner.create(
            [
                {
                    "name": "Bea Bside",
                    "email": "bea.b@example.com",
                    "company_id": self.company_b.id,
                },
                {"name": "Globex", "is_company": True, "company_id": self.company_b.id},
                {
                    "name": "Ann Aside",
                    "email": "ann.a@example.com",
                    "company_id": self.company_a.id,
                },
            ]
        )
        self._seed([person("Gina", "Globex", "gina@example.com", companyName="Globex")])
        self._synced()
        self.assertFalse(self._items("bea.b@example.com"))
        self.assertEqual(len(self._items("ann.a@example.com")), 1)
        gina = self._partners("gina@example.com")
        self.assertFalse(gina.parent_id, "B's Globex is not the user's to link")
        self.assertEqual(gina.company_name, "Globex")

        # Creating companies: one the user sees is made, B's stays out of reach.
        self.account.company_linking = "create"
        self._seed([person("Hugo", "Globex", "hugo@example.com", companyName="Globex")])
        self._synced()
        hugo = self._partners("hugo@example.com")
        self.assertEqual(hugo.parent_id.name, "Globex")
        self.assertNotEqual(hugo.parent_id.company_id, self.company_b)

    def test_the_preview_reads_every_company_of_the_user_not_the_browsers(self):
        self.account_user.company_ids = [Command.link(self.company_b.id)]
        self.Partner.create(
            {"name": "Bo Both", "email": "bo.both@example.com", "company_id": self.company_b.id}
        )
        self._synced()
        self.assertEqual(len(self._items("bo.both@example.com")), 1)
        # The user's browser shows company A only.
        preview = (
            self.env["microsoft.contacts.sync.preview"]
            .with_user(self.account_user)
            .with_context(allowed_company_ids=self.company_a.ids)
            .create({"account_id": self.account.id})
        )
        preview._load_plan()
        self.assertFalse(preview.error)
        self.assertFalse(preview.deletion_line_ids, preview.line_ids.mapped("reason"))
