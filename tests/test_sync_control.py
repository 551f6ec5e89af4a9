"""R11 control: who may sync, pause and resume, a held run is never silent, the
administrator's overview of every account and the sync log's pictures. The users acting are
non-administrators (internal users with Contacts rights), in two companies where it matters."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import (
    CONTACTS_USER_GROUPS,
    HTTP_TAG,
    OutlookSyncCase,
    partner_creates_refused,
    person,
)

SYNC_GROUP = "microsoft_contacts.group_microsoft_contacts_user"
HELD_ACTIVITY = "microsoft_contacts.mail_activity_type_sync_held"


class ControlCase(OutlookSyncCase):
    def _confirmed(self):
        self.account.sudo().initial_sync_confirmed = True

    def _as_user(self, records, user=None):
        return records.with_user(user or self.account_user)

    def _restrict(self, on=True):
        settings = self.env["res.config.settings"].create(
            {"microsoft_contacts_restrict_to_group": on}
        )
        settings.execute()
        self.env.invalidate_all()  # who may sync is read again, as by the next request

    def _held_activities(self, account=None):
        account = account or self.account
        return account.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref(HELD_ACTIVITY)
        )


@tagged("post_install", "-at_install")
class TestWhoMaySync(ControlCase):
    account_login = "wendy_who"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.group = cls.env.ref(SYNC_GROUP)
        cls.allowed = new_test_user(
            cls.env,
            login="allowed_syncer",
            groups=f"{CONTACTS_USER_GROUPS},{SYNC_GROUP}",
        )

    def test_every_internal_user_may_sync_until_settings_restrict_it(self):
        Account = self.env["microsoft.contacts.account"]
        self.assertTrue(self.account_user.microsoft_contacts_may_sync)
        self.assertTrue(
            Account.with_user(self.account_user)._get_my_account(), "created on first use"
        )
        portal = new_test_user(self.env, login="portal_who", groups="base.group_portal")
        self.assertFalse(portal.microsoft_contacts_may_sync)
        with self.assertRaises(AccessError):
            Account.with_user(portal)._get_my_account()

    def test_restricting_disconnects_users_outside_the_group_at_once(self):
        self._restrict()
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self.account.sudo().token_cache)
        run = self.account.sudo().sync_run_ids[:1]
        self.assertEqual(run.state, "failed")
        self.assertIn("may no longer sync", run.message)
        self.assertFalse(self.account_user.microsoft_contacts_may_sync)
        self.assertTrue(self.allowed.microsoft_contacts_may_sync)

        Account = self.env["microsoft.contacts.account"]
        with self.assertRaisesRegex(AccessError, "Outlook Contacts Sync / User"):
            Account.with_user(self.account_user)._get_my_account()
        with self.assertRaisesRegex(AccessError, "Outlook Contacts Sync / User"):
            Account.with_user(self.account_user).action_sync_from_contacts("/odoo/contacts")
        with self.assertRaises(AccessError):
            self.account_user.with_user(self.account_user).action_open_microsoft_contacts_account()
        self.assertTrue(Account.with_user(self.allowed)._get_my_account())

    def test_a_user_outside_the_group_cannot_undo_a_run(self):
        self._confirmed()
        self.Partner.create({"name": "Undo Ursula", "email": "ursula@example.com"})
        run = self._synced()
        self.assertTrue(run.can_undo)
        self._restrict()
        with self.assertRaisesRegex(AccessError, "Outlook Contacts Sync / User"):
            run.with_user(self.account_user).action_undo()
        with self.assertRaisesRegex(UserError, "may no longer sync"):
            run.action_undo()  # an administrator neither: the account is disconnected
        self.assertEqual(len(self._items("ursula@example.com")), 1, "nothing undone")

    def test_the_button_and_the_menu_follow_the_setting(self):
        menu = self.env.ref("microsoft_contacts.menu_microsoft_contacts_my_account")
        Menu = self.env["ir.ui.menu"].with_user(self.account_user)
        self.assertIn(menu.id, Menu._visible_menu_ids())
        self.assertNotIn(menu.id, Menu._load_menus_blacklist())
        self._restrict()
        self.assertIn(menu.id, Menu._load_menus_blacklist())
        self.assertNotIn(
            menu.id, self.env["ir.ui.menu"].with_user(self.allowed)._load_menus_blacklist()
        )

    def test_a_user_removed_from_the_group_stops_at_once(self):
        self._restrict()
        self.account_user.write({"groups_id": [Command.link(self.group.id)]})
        self.assertTrue(self.account_user.microsoft_contacts_may_sync)
        account = self.env["microsoft.contacts.account"].create({"user_id": self.allowed.id})
        account.sudo().write({"state": "connected", "initial_sync_confirmed": True})
        self.allowed.write({"groups_id": [Command.unlink(self.group.id)]})
        self.assertEqual(account.state, "not_connected")
        self.assertIn("may no longer sync", account.last_error)

    def test_a_user_taken_out_from_the_groups_form_stops_at_once(self):
        self._restrict()
        account = self.env["microsoft.contacts.account"].create({"user_id": self.allowed.id})
        account.sudo().write({"state": "connected", "initial_sync_confirmed": True})
        self.group.write({"users": [Command.unlink(self.allowed.id)]})
        self.assertEqual(account.state, "not_connected")
        self.assertIn("may no longer sync", account.last_error)

    def test_the_cron_never_syncs_a_user_outside_the_group(self):
        self._confirmed()
        self.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts.restrict_to_group", "1"
        )
        self.Partner.create({"name": "Never Sent", "email": "never.sent@example.com"})
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self._items("never.sent@example.com"))
        # The run refuses too, should a request reach it.
        self.account.sudo().write({"state": "connected"})
        self.account._sync_outlook()
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self._items("never.sent@example.com"))


@tagged("post_install", "-at_install", HTTP_TAG)
class TestWhoMaySyncSession(HttpCase):
    """The Contacts views show Sync with Outlook from the session's flag."""

    def test_the_session_says_whether_the_user_may_sync(self):
        group = self.env.ref(SYNC_GROUP)
        for login, groups in (
            ("session_out", CONTACTS_USER_GROUPS),
            ("session_in", f"{CONTACTS_USER_GROUPS},{SYNC_GROUP}"),
        ):
            new_test_user(self.env, login=login, password=f"{login}-pw-1", groups=groups)
        for restricted, expected in ((False, (True, True)), (True, (False, True))):
            self.env["ir.config_parameter"].sudo().set_param(
                "microsoft_contacts.restrict_to_group", "1" if restricted else ""
            )
            for login, may_sync in zip(("session_out", "session_in"), expected, strict=True):
                self.authenticate(login, f"{login}-pw-1")
                info = self.make_jsonrpc_request("/web/session/get_session_info")
                self.assertIs(info["microsoft_contacts_may_sync"], may_sync, (login, restricted))
        self.assertTrue(group.users.filtered(lambda u: u.login == "session_in"))


@tagged("post_install", "-at_install")
class TestPauseResume(ControlCase):
    account_login = "paula_pause"

    def test_a_user_pauses_and_resumes_their_own_sync(self):
        self._confirmed()
        account = self._as_user(self.account)
        account.action_pause()
        self.assertEqual(self.account.state, "paused")
        self.assertTrue(self.account.paused_at)

        self.Partner.create({"name": "Paused Pete", "email": "pete@example.com"})
        runs = self.account.sudo().sync_run_ids
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(self.account.sudo().sync_run_ids, runs, "no run while paused")
        self.assertFalse(self._items("pete@example.com"))
        answer = account.action_sync_from_contacts("/odoo/contacts")
        self.assertEqual(answer["params"]["type"], "warning")
        self.assertIn("paused", answer["params"]["message"])
        self.assertIn("paused", account.action_sync_now()["params"]["message"])

        account.action_resume()
        self.assertEqual(self.account.state, "connected")
        self.assertEqual(self.account.sync_requested_by_id, self.account_user, "catches up soon")
        self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(len(self._items("pete@example.com")), 1, "caught up after resuming")

    def test_nothing_is_written_by_hand_for_a_paused_sync(self):
        self._confirmed()
        self.Partner.create({"name": "Paused Undo", "email": "paused.undo@example.com"})
        run = self._synced()
        preview = self.env["microsoft.contacts.sync.preview"].browse(
            self._as_user(self.account).action_preview()["res_id"]
        )
        self._as_user(self.account).action_pause()
        with self.assertRaisesRegex(UserError, "paused"):
            run.with_user(self.account_user).action_undo()
        with self.assertRaisesRegex(UserError, "paused"):
            preview.with_user(self.account_user).action_apply()
        self.assertEqual(len(self._items("paused.undo@example.com")), 1, "nothing undone")
        self.assertEqual(self.account.state, "paused")

    def test_a_colleague_cannot_pause_someone_elses_sync(self):
        colleague = new_test_user(self.env, login="pause_colleague", groups=CONTACTS_USER_GROUPS)
        with self.assertRaises(AccessError):
            self.account.with_user(colleague).action_pause()
        self.assertEqual(self.account.state, "connected")

    def test_only_a_connected_sync_pauses_and_only_a_paused_one_resumes(self):
        account = self._as_user(self.account)
        with self.assertRaises(UserError):
            account.action_resume()
        account.action_pause()
        with self.assertRaises(UserError):
            account.action_pause()

    def test_the_administrator_pauses_resumes_and_disconnects_from_the_overview(self):
        other_user = new_test_user(self.env, login="overview_other", groups=CONTACTS_USER_GROUPS)
        other = self.env["microsoft.contacts.account"].create({"user_id": other_user.id})
        other.sudo().state = "connected"
        both = self.account | other
        admin = new_test_user(self.env, login="overview_admin", groups="base.group_system")
        both.with_user(admin).action_pause()
        self.assertEqual(set(both.mapped("state")), {"paused"})
        both.with_user(admin).action_resume()
        self.assertEqual(set(both.mapped("state")), {"connected"})
        other.with_user(admin).action_disconnect()
        self.assertEqual(other.state, "not_connected")


@tagged("post_install", "-at_install")
class TestHeldRun(ControlCase):
    account_login = "hilda_held"

    def _two_synced_then_deleted(self):
        self._confirmed()
        self.account.sudo().mass_delete_minimum = 2
        items = self._seed(
            [
                person("Held", "One", "held.one@example.com"),
                person("Held", "Two", "held.two@example.com"),
                person("Held", "Three", "held.three@example.com"),
            ]
        )
        self.assertEqual(self._synced().state, "done")
        for item in items[:2]:
            self.mailbox.delete(item["id"])

    def test_a_run_held_by_the_guard_gives_its_user_one_activity_until_decided(self):
        self._two_synced_then_deleted()
        run = self._sync()
        self.assertTrue(run.held_deletions)
        self.assertTrue(self.account.sync_held)
        activity = self._held_activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.account_user)
        self.assertIn("my-outlook-sync", activity.note)
        self.assertIn("confirm", str(activity.note))
        # The user sees it in their own activities.
        self.assertEqual(
            self.env["mail.activity"]
            .with_user(self.account_user)
            .search([("id", "=", activity.id)]),
            activity,
        )

        self.assertTrue(self._sync().held_deletions, "held again")
        self.assertEqual(self._held_activities(), activity, "one activity, not one per run")

        run = self.account._sync_outlook(confirm_deletions=True)
        self.assertFalse(run.held_deletions)
        self.assertFalse(self.account.sync_held)
        self.assertFalse(self._held_activities(), "done once the user decided")

    def test_a_stuck_contact_is_told_until_it_changes(self):
        self._confirmed()
        (bad,) = self._seed([person("Explode", "Stuck", "stuck@example.com")])
        with partner_creates_refused(self.registry, "Explode"):
            for _attempt in range(3):
                self._synced()
        self.assertTrue(self.account.sync_held)
        activity = self._held_activities()
        self.assertEqual(len(activity), 1)
        self.assertIn("stuck", activity.summary)
        self._synced()
        self.assertTrue(self.account.sync_held, "still stuck: still told")
        self.assertEqual(self._held_activities(), activity)
        account = self._as_user(self.account)
        self.assertEqual(account.stuck_count, 1)
        lines = self.env["microsoft.contacts.sync.run.line"].with_user(self.account_user)
        stuck_lines = lines.search(account.action_open_stuck_lines()["domain"])
        self.assertEqual(stuck_lines.mapped("external_id"), [bad["id"]])
        self.assertIn("stuck after 3 failed attempts", stuck_lines.reason)
        self.mailbox.edit(bad["id"], jobTitle="Fixed")
        self._synced()
        self.assertEqual(len(self._partners("stuck@example.com")), 1)
        self.assertEqual(account.stuck_count, 0)
        self.assertFalse(self.account.sync_held)
        self.assertFalse(self._held_activities())

    def test_a_quiet_run_holds_nothing(self):
        self._confirmed()
        self._seed([person("Quiet", "Quinn", "quinn@example.com")])
        run = self._synced()
        self.assertFalse(run.held_deletions)
        self.assertFalse(self.account.sync_held)
        self.assertFalse(self._held_activities())


@tagged("post_install", "-at_install")
class TestSyncLogPictures(ControlCase):
    account_login = "gary_graph"

    def test_runs_and_lines_open_as_graph_and_pivot_for_users_and_administrators(self):
        self._confirmed()
        self._seed([person("Graph", "Gina", "gina@example.com")])
        self.Partner.create({"name": "Pivot Paul", "email": "paul@example.com"})
        run = self._synced()
        self.assertEqual(run.owner_id, self.account_user)
        self.assertEqual(set(run.line_ids.mapped("owner_id")), {self.account_user})

        for action_xmlid in (
            "microsoft_contacts.action_microsoft_contacts_sync_run",
            "microsoft_contacts.action_microsoft_contacts_sync_run_mine",
            "microsoft_contacts.action_microsoft_contacts_sync_run_line",
        ):
            action = self.env.ref(action_xmlid)
            self.assertIn("graph", action.view_mode)
            self.assertIn("pivot", action.view_mode)
        for model in ("microsoft.contacts.sync.run", "microsoft.contacts.sync.run.line"):
            views = (
                self.env[model]
                .with_user(self.account_user)
                .get_views([(False, "graph"), (False, "pivot")])
            )
            self.assertEqual(set(views["views"]), {"graph", "pivot"})

        Line = self.env["microsoft.contacts.sync.run.line"].with_user(self.account_user)
        per_direction = {
            (direction, action): count
            for direction, action, count in Line._read_group(
                [("run_id", "=", run.id)], ["direction", "action"], ["__count"]
            )
        }
        self.assertEqual(per_direction[("to_odoo", "created")], 1)
        created_in_outlook = run.line_ids.filtered(
            lambda line: line.direction == "to_outlook" and line.action == "created"
        )
        self.assertIn("Pivot Paul", created_in_outlook.mapped("name"))
        self.assertEqual(per_direction[("to_outlook", "created")], len(created_in_outlook))
        Run = self.env["microsoft.contacts.sync.run"].with_user(self.account_user)
        per_user = Run._read_group([], ["owner_id", "state"], ["__count"])
        self.assertEqual({(u, s) for u, s, _count in per_user}, {(self.account_user, "done")})

    def test_the_overview_shows_each_accounts_last_run(self):
        self._confirmed()
        self._seed([person("Last", "Lena", "lena@example.com")])
        self._synced()
        run = self._synced()
        self.assertEqual(self.account.last_run_id, run)
        self.assertEqual(self.account.last_run_state, "done")
        other_user = new_test_user(self.env, login="never_ran", groups=CONTACTS_USER_GROUPS)
        other = self.env["microsoft.contacts.account"].create({"user_id": other_user.id})
        self.assertFalse(other.last_run_id)
        view = self.env["microsoft.contacts.account"].get_views([(False, "list")])
        arch = view["views"]["list"]["arch"]
        for name in ("last_run_state", "last_run_summary", "action_pause", "action_resume"):
            self.assertIn(name, arch)
