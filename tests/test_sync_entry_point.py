import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.addons.microsoft_contacts.models.microsoft_contacts_account_sync import (
    SYNC_LOCK_CLASS,
)

from .common import OutlookSyncCase, first_email, new_contacts_user, sign_in_account

FOLDER = "Odoo Contacts"
SYNC_CRON = "microsoft_contacts.ir_cron_microsoft_contacts_sync"


@tagged("post_install", "-at_install")
class TestSyncEntryPoint(OutlookSyncCase):
    """The Contacts "Sync with Outlook" button and Sync Now: connect, preview, queue."""

    account_login = "ella_entry"

    def _press(self, user=None, return_url="/odoo/contacts?view_type=kanban"):
        Account = self.env["microsoft.contacts.account"].with_user(user or self.account_user)
        return Account.action_sync_from_contacts(return_url)

    def _triggers(self):
        cron = self.env.ref(SYNC_CRON)
        return self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", cron.id)])

    def _toasts(self, user):
        """The notifications sent to `user` in this transaction."""
        self.env.cr.precommit.run()  # the bus writes its messages just before a commit
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        messages = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        return [json.loads(m.message) for m in messages]

    def test_without_a_connected_account_the_button_signs_in_and_comes_back(self):
        newcomer = new_test_user(self.env, login="nina_newcomer", name="Nina Newcomer")
        action = self._press(newcomer, return_url="/odoo/contacts?view_type=list&x=a b")
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["target"], "self")
        url = urlsplit(action["url"])
        self.assertEqual(url.path, "/microsoft_contacts/connect")
        self.assertNotIn(" ", action["url"])
        self.assertEqual(parse_qs(url.query)["redirect"], ["/odoo/contacts?view_type=list&x=a b"])
        self.assertFalse(
            self.env["microsoft.contacts.account"].search([("user_id", "=", newcomer.id)]),
            "pressing the button creates nothing",
        )
        # A foreign or protocol-relative target is never handed to the connect route.
        for foreign in ("https://evil.example/", "//evil.example/"):
            action = self._press(newcomer, return_url=foreign)
            self.assertEqual(action["url"], "/microsoft_contacts/connect")

        self.account.sudo().state = "needs_reconnect"
        action = self._press()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertTrue(action["url"].startswith("/microsoft_contacts/connect?redirect="))

    def test_before_the_first_sync_is_confirmed_the_button_opens_the_preview(self):
        triggers = self._triggers()
        action = self._press()
        self.assertEqual(action["type"], "ir.actions.act_window")
        self.assertEqual(action["res_model"], "microsoft.contacts.sync.preview")
        self.assertEqual(action["target"], "new")
        self.assertFalse(self.account.sync_requested_by_id, "nothing queued")
        self.assertEqual(self._triggers(), triggers)

    def test_a_confirmed_account_queues_a_sync_and_says_so(self):
        self.account.sudo().initial_sync_confirmed = True
        triggers = self._triggers()
        action = self._press()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(action["params"]["sticky"])
        self.assertEqual(self.account.sync_requested_by_id, self.account_user)
        self.assertEqual(self._triggers(), triggers + 1)
        self.assertFalse(
            self.env["microsoft.contacts.sync.run"].search([("account_id", "=", self.account.id)]),
            "the sync runs in the background, not in the request",
        )

    def test_a_running_sync_is_not_queued_twice(self):
        self.account.sudo().initial_sync_confirmed = True
        # What another worker syncing this account holds: its advisory lock.
        with self.registry.cursor() as worker:
            worker.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", SYNC_LOCK_CLASS, self.account.id)
            )
            action = self._press()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("already running", action["params"]["message"])
        self.assertFalse(self.account.sync_requested_by_id)

    def test_sync_now_is_for_the_owner_or_an_administrator(self):
        self.account.sudo().initial_sync_confirmed = True
        stranger = new_test_user(self.env, login="sam_stranger", name="Sam Stranger")
        with self.assertRaises(AccessError):
            self.account.with_user(stranger).action_sync_now()
        action = self.account.with_user(self.account_user).action_sync_now()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.account.sync_requested_by_id, self.account_user)
        admin = new_test_user(self.env, login="ada_admin", groups="base.group_system")
        action = self.account.with_user(admin).action_sync_now()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.account.sync_requested_by_id, admin)

    def test_cron_waits_for_the_confirmation_then_serves_requests_first(self):
        Account = self.env["microsoft.contacts.account"]
        Run = self.env["microsoft.contacts.sync.run"]
        self.Partner.create({"name": "Queued Quinn", "email": "queued.quinn@example.com"})
        Account._cron_sync_accounts()
        self.assertFalse(Run.search([("account_id", "=", self.account.id)]), "not confirmed")
        self.assertFalse(self.mailbox.folder(FOLDER), "nothing touched Outlook")

        # Another account, due since long: it would come first if requests did not.
        other_user = new_test_user(self.env, login="dora_due", name="Dora Due")
        due = Account.create({"user_id": other_user.id})
        due.sudo().write(
            {
                "state": "connected",
                "initial_sync_confirmed": True,
                "last_sync_at": fields.Datetime.now() - timedelta(days=2),
            }
        )
        # Ours was synced a minute ago: not due, but its user asks.
        self.account.sudo().write(
            {
                "initial_sync_confirmed": True,
                "last_sync_at": fields.Datetime.now() - timedelta(minutes=1),
            }
        )
        self._press()
        Account._cron_sync_accounts()
        runs = Run.search([("source", "=", "outlook")])
        self.assertEqual(runs.account_id, self.account, "the request was served first")
        self.assertEqual(runs.state, "done", runs.message)
        self.assertEqual(runs.user_id, self.account_user)
        self.assertFalse(self.account.sync_requested_by_id, "the request is cleared")
        items = self.mailbox.contacts(self.mailbox.folder(FOLDER)["id"])
        self.assertIn("queued.quinn@example.com", [first_email(i) for i in items])
        toasts = [t for t in self._toasts(self.account_user) if t["type"] == "simple_notification"]
        self.assertEqual(len(toasts), 1)
        self.assertEqual(toasts[0]["payload"]["type"], "success")
        self.assertEqual(toasts[0]["payload"]["message"], runs._get_summary_message())
        self.assertGreaterEqual(runs.count_new, 1)

        # Next call: the due account (it fails: no sign-in is stored), asked by nobody.
        Account._cron_sync_accounts()
        due_run = Run.search([("account_id", "=", due.id)])
        self.assertEqual(due_run.state, "failed")
        self.assertFalse(due_run.user_id)

    def test_parallel_workers_never_sync_one_account_twice_nor_wait_for_each_other(self):
        """Another worker (another process) holds our account: the cron goes on with the next
        account, without touching ours, whose request is served once it is free."""
        Account, Run = (
            self.env["microsoft.contacts.account"],
            self.env["microsoft.contacts.sync.run"],
        )
        self.account.sudo().initial_sync_confirmed = True
        self._press()
        self.simulator.add_user("wanda@contoso.test", display_name="Wanda Worker")
        other = Account.create({"user_id": new_contacts_user(self.env, "wanda_worker").id})
        sign_in_account(other, self.simulator, self.redirect_uri, "wanda@contoso.test")
        other.sudo().initial_sync_confirmed = True
        self.env.flush_all()
        with self.registry.cursor() as worker:
            worker.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", SYNC_LOCK_CLASS, self.account.id)
            )
            Account._cron_sync_accounts()
            self.assertEqual(Run.search([("source", "=", "outlook")]).account_id, other)
            self.assertEqual(self.account.sync_requested_by_id, self.account_user, "left alone")
        Account._cron_sync_accounts()
        runs = Run.search([("account_id", "=", self.account.id)])
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs.user_id, self.account_user, "the request is served now")
