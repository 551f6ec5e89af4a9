"""Change notifications (R12), end to end: the simulator posts real notifications to Odoo's
route over HTTPS (through its relay, as a reverse proxy in front of HttpCase's HTTP server),
and the sync workers' method picks the notified accounts up."""

import json
import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.sql_db import Cursor
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, mute_logger

from .. import uninstall_hook
from ..controllers.notifications import LIMITER
from ..graph.subscriptions import LIFECYCLE_PATH, NOTIFICATION_PATH
from .common import HTTP_TAG, OutlookSyncCase, person

SUBSCRIPTION_LOGGER = "odoo.addons.microsoft_contacts.models.microsoft_contacts_subscription"
CONTROLLER_LOGGER = "odoo.addons.microsoft_contacts.controllers.notifications"


@tagged("post_install", "-at_install", HTTP_TAG)
class TestChangeNotifications(OutlookSyncCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Graph posts to HTTPS addresses only: the simulator's relay is the HTTPS front of
        # HttpCase's server, as a reverse proxy or a tunnel is in front of a real Odoo.
        cls.relay = cls.simulator._call("POST", "relays", json={"target": cls.base_url()})
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param("microsoft_contacts.notification_url", cls.relay["url"])
        icp.set_param("microsoft_contacts.notifications", "True")
        icp.set_param("microsoft_contacts.notification_debounce", "0")
        cls.simulator.configure(notification_retry_delay=0.05)
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        LIMITER.clear()
        self.Sub = self.env["microsoft.contacts.subscription"].sudo()

    # -- helpers --------------------------------------------------------------------------

    def _sim_subscriptions(self):
        return self.simulator._call("GET", "subscriptions")

    def _deliveries(self, count, timeout=20):
        """Wait until the simulator finished `count` deliveries (Odoo answered them).

        Deliveries are answered by Odoo's HTTP thread on this test's transaction: the test
        flushes before it changes Outlook, and runs no query until they are done."""
        log = self.simulator._call(
            "POST", "notifications/wait", json={"count": count, "timeout": timeout}
        )
        self.assertGreaterEqual(len(log), count, log)
        self.env.invalidate_all()
        return log

    def _subscribed(self):
        """A first sync of one Outlook contact, confirmed, then the subscription."""
        self._seed([person("Ada", "Lovelace", "ada@example.com")])
        self.account.initial_sync_confirmed = True
        self._synced()
        self.env.flush_all()
        self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        subs = self._sim_subscriptions()
        self.assertEqual(len(subs), 1, subs)
        sub = self.Sub.search([("account_id", "=", self.account.id)])
        self.assertEqual(sub.graph_id, subs[0]["id"])
        self.simulator._call("DELETE", "notifications")
        self.env.flush_all()
        return sub

    def _ada_item(self):
        return self._items("ada@example.com")[0]

    def _post(self, payload, path=NOTIFICATION_PATH):
        return self.url_open(
            path,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )

    def _payload(self, sub, client_state, **extra):
        return {
            "value": [
                {
                    "subscriptionId": sub.graph_id,
                    "clientState": client_state,
                    "changeType": "updated",
                    "resource": "Users/x/Contacts/y",
                    **extra,
                }
            ]
        }

    def _sync_cron_triggers(self):
        return (
            self.env["ir.cron.trigger"]
            .sudo()
            .search_count(
                [("cron_id", "in", self.env["microsoft.contacts.account"]._get_sync_crons().ids)]
            )
        )

    # -- the handshake --------------------------------------------------------------------

    def test_handshake_echoes_the_token_as_plain_text(self):
        token = "Validation: Testing client application reachability Request-Id: 42"
        for path in (NOTIFICATION_PATH, LIFECYCLE_PATH):
            response = self.opener.post(
                f"{self.base_url()}{path}",
                params={"validationToken": token},
                data=b"",
                headers={"Content-Type": "text/plain"},
                timeout=10,
            )
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.text, token)
            self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))
            self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        bad = self.opener.post(
            f"{self.base_url()}{NOTIFICATION_PATH}?validationToken=a%0D%0Ab", data=b"", timeout=10
        )
        self.assertEqual(bad.status_code, 400)

    def test_subscription_passes_graphs_handshake_over_https(self):
        sub = self._subscribed()
        graph = self._sim_subscriptions()[0]
        folder = self.account.folder_id
        self.assertEqual(graph["resource"], f"me/contactFolders('{folder}')/contacts")
        self.assertEqual(graph["changeType"], "created,deleted,updated")
        self.assertEqual(graph["notificationUrl"], self.relay["url"] + NOTIFICATION_PATH)
        self.assertEqual(graph["lifecycleNotificationUrl"], self.relay["url"] + LIFECYCLE_PATH)
        self.assertEqual(graph["clientState"], sub.client_state)
        self.assertGreaterEqual(len(sub.client_state), 40)
        # At Graph's maximum for Outlook contacts (7 days), less a few minutes of margin.
        lifetime = sub.expires_at - sub.renewed_at
        self.assertGreater(lifetime, timedelta(days=6, hours=23))
        self.assertLessEqual(lifetime, timedelta(days=7))
        # The user sees that Outlook's changes come within a minute; the secret stays hidden.
        as_user = self.account.with_user(self.account_user)
        self.assertEqual(as_user.outlook_changes_arrive, "notified")
        self.assertFalse(
            self.env["microsoft.contacts.subscription"]
            .with_user(self.account_user)
            .has_access("read")
        )

    def test_an_endpoint_graph_cannot_reach_is_reported_and_the_schedule_goes_on(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts.notification_url", "https://127.0.0.1:9/nowhere"
        )
        self._seed([person("Ada", "Lovelace", "ada@example.com")])
        self.account.initial_sync_confirmed = True
        self._synced()
        with self.assertLogs(
            "odoo.addons.microsoft_contacts.models.microsoft_contacts_account_subscription",
            "WARNING",
        ):
            self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertFalse(self.account.subscription_ids)
        error = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("microsoft_contacts.notification_last_error")
        )
        self.assertIn("https://127.0.0.1:9/nowhere", error)
        self.assertEqual(self.account.outlook_changes_arrive, "scheduled")

    # -- notifications --------------------------------------------------------------------

    def test_a_change_in_outlook_reaches_odoo_through_a_notification(self):
        sub = self._subscribed()
        ada = self._partners("ada@example.com")
        triggers = self._sync_cron_triggers()
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Countess")
        log = self._deliveries(1)
        self.assertEqual((log[0]["outcome"], log[0]["status"]), ("delivered", 202))
        self.assertTrue(sub.pending_since)
        # The sync workers were woken (now, and at the end of the debounce delay).
        self.assertGreater(self._sync_cron_triggers(), triggers)
        synced = self.env["microsoft.contacts.account"]._cron_sync_accounts()
        self.assertEqual(synced, 1)
        self.assertEqual(ada.function, "Countess")
        # Served: the next call has nothing to do for this account.
        self.assertEqual(self.env["microsoft.contacts.account"]._cron_sync_accounts(), 0)

    def test_a_duplicated_notification_makes_one_run(self):
        self._subscribed()
        self.simulator._call("POST", "notification_faults", json={"kind": "duplicate"})
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Countess")
        log = self._deliveries(2)
        self.assertEqual([entry["status"] for entry in log], [202, 202])
        runs = self.account.sync_run_ids
        Account = self.env["microsoft.contacts.account"]
        self.assertEqual(Account._cron_sync_accounts(), 1)
        self.assertEqual(Account._cron_sync_accounts(), 0)
        self.assertEqual(len(self.account.sync_run_ids - runs), 1)
        self.assertEqual(self._partners("ada@example.com").function, "Countess")

    def test_several_notifications_make_one_run(self):
        sub = self._subscribed()
        self.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts.notification_debounce", "2"
        )
        self.env.flush_all()
        more = self._seed(
            [
                person("Grace", "Hopper", "grace@example.com"),
                person("Alan", "Turing", "alan@example.com"),
            ]
        )
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Countess")
        self._deliveries(3)
        first = sub.pending_since
        self.assertTrue(first)
        triggers = self._sync_cron_triggers()
        self.assertEqual(len(more), 2)
        self.env.flush_all()
        self.mailbox.edit(more[0]["id"], jobTitle="Admiral")
        self._deliveries(4)
        self.assertEqual(sub.pending_since, first, "a waiting notification keeps its time")
        self.assertEqual(self._sync_cron_triggers(), triggers, "no more wake-ups")
        Account = self.env["microsoft.contacts.account"]
        runs = self.account.sync_run_ids
        if fields.Datetime.now() < first + timedelta(seconds=2):
            self.assertEqual(Account._cron_sync_accounts(), 0, "not before the delay")
        time.sleep(max(0.0, (first + timedelta(seconds=3) - fields.Datetime.now()).total_seconds()))
        self.assertEqual(Account._cron_sync_accounts(), 1)
        self.assertEqual(Account._cron_sync_accounts(), 0)
        self.assertEqual(len(self.account.sync_run_ids - runs), 1)
        self.assertEqual(self._partners("ada@example.com").function, "Countess")
        self.assertEqual(self._partners("grace@example.com").function, "Admiral")
        self.assertTrue(self._partners("alan@example.com"))

    def test_a_notification_during_a_run_queues_the_next_one(self):
        sub = self._subscribed()
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Countess")
        self._deliveries(1)
        # A run that started after the notification serves it.
        self.account.notifications_served_at = fields.Datetime.now() - timedelta(seconds=5)
        sub.pending_since = fields.Datetime.now() - timedelta(seconds=10)
        self.assertFalse(self.account._has_pending_notification())
        self.env.flush_all()
        # A notification while the run holds the account: a new wait, then another run.
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Analyst")
        self._deliveries(2)
        self.assertGreater(sub.pending_since, self.account.notifications_served_at)
        self.assertEqual(self.env["microsoft.contacts.account"]._cron_sync_accounts(), 1)
        self.assertEqual(self._partners("ada@example.com").function, "Analyst")

    def test_a_forged_notification_is_refused_without_any_write(self):
        sub = self._subscribed()
        self.env.flush_all()
        before = (sub.notified_at, sub.pending_since, self._sync_cron_triggers())
        writes = []
        execute = Cursor.execute

        def watch(cursor, query, params=None, log_exceptions=True):
            text = (query.code if isinstance(query, SQL) else str(query)).lstrip().upper()
            if text.startswith(("INSERT", "UPDATE", "DELETE")):
                writes.append(text[:80])
            return execute(cursor, query, params, log_exceptions)

        forged = [
            self._payload(sub, "not-the-secret"),
            self._payload(sub, None),
            self._payload(sub, sub.client_state, subscriptionId="0000-unknown"),
            self._payload(sub, sub.client_state[:-1]),
        ]
        with (
            patch.object(Cursor, "execute", watch),
            self.assertLogs(SUBSCRIPTION_LOGGER, "WARNING"),
            mute_logger(CONTROLLER_LOGGER),
        ):
            for payload in forged:
                response = self._post(payload)
                self.assertEqual(response.status_code, 403, response.text)
            garbage = self._post({"value": "nope"})
            self.assertEqual(garbage.status_code, 400)
        self.assertEqual(writes, [])
        self.env.invalidate_all()
        self.assertEqual((sub.notified_at, sub.pending_since, self._sync_cron_triggers()), before)
        # The same payload with the right secret is accepted.
        self.assertEqual(self._post(self._payload(sub, sub.client_state)).status_code, 202)
        self.env.invalidate_all()
        self.assertTrue(sub.pending_since)

    def test_a_stale_subscription_is_refused(self):
        sub = self._subscribed()
        client_state = sub.client_state
        self.env["ir.config_parameter"].sudo().set_param("microsoft_contacts.notifications", "")
        self.env.flush_all()
        with mute_logger(SUBSCRIPTION_LOGGER):
            self.assertEqual(self._post(self._payload(sub, client_state)).status_code, 403)
        self.env.invalidate_all()
        self.assertFalse(sub.pending_since)

    def test_notifications_are_rate_limited_per_subscription(self):
        sub = self._subscribed()
        statuses = [self._post(self._payload(sub, sub.client_state)).status_code for _ in range(24)]
        self.assertEqual(statuses[:20], [202] * 20)
        self.assertIn(429, statuses[20:])
        limited = self._post(self._payload(sub, sub.client_state))
        self.assertEqual(limited.status_code, 429)
        self.assertGreaterEqual(int(limited.headers["Retry-After"]), 1)

    # -- lifecycle ------------------------------------------------------------------------

    def test_renewal_before_expiry(self):
        sub = self._subscribed()
        Account = self.env["microsoft.contacts.account"]

        def renewals():
            return self.simulator.stats()["by_kind"].get("subscriptions.patch", 0)

        # Nothing to do while less than half of its life has passed.
        Account._cron_manage_subscriptions()
        self.assertEqual(renewals(), 0)
        now = fields.Datetime.now()
        sub.write({"renewed_at": now - timedelta(days=4), "expires_at": now + timedelta(days=3)})
        Account._cron_manage_subscriptions()
        self.assertEqual(renewals(), 1)
        self.assertEqual(self._sim_subscriptions()[0]["id"], sub.graph_id)
        self.assertGreater(sub.expires_at, now + timedelta(days=6, hours=23))
        self.assertEqual(sub.renewed_at, now)

    def test_reauthorization_required_renews(self):
        sub = self._subscribed()
        self.simulator._call(
            "POST",
            f"subscriptions/{sub.graph_id}/lifecycle",
            json={"event": "reauthorizationRequired"},
        )
        self._deliveries(1)
        self.assertEqual(sub.state, "renew")
        self.assertTrue(self._sim_subscriptions()[0]["needsReauthorization"])
        self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        self.assertEqual(sub.state, "active")
        self.assertFalse(self._sim_subscriptions()[0]["needsReauthorization"])

    def test_subscription_removed_subscribes_again_and_catches_up(self):
        sub = self._subscribed()
        old_id = sub.graph_id
        self.simulator._call(
            "POST", f"subscriptions/{old_id}/lifecycle", json={"event": "subscriptionRemoved"}
        )
        self._deliveries(1)
        self.assertEqual(sub.state, "removed")
        self.assertTrue(self.account._has_pending_notification())
        self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        graph = self._sim_subscriptions()
        self.assertEqual(len(graph), 1)
        self.assertNotEqual(graph[0]["id"], old_id)
        self.assertEqual(self.account.subscription_ids.graph_id, graph[0]["id"])

    def test_missed_notifications_are_recovered_by_delta(self):
        self._subscribed()
        Account = self.env["microsoft.contacts.account"]
        ada = self._partners("ada@example.com")
        # Dropped: nothing reaches Odoo, nothing runs.
        self.simulator._call("POST", "notification_faults", json={"kind": "drop", "count": 1})
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Countess")
        self.assertEqual(self._deliveries(1)[0]["outcome"], "dropped")
        self.assertEqual(Account._cron_sync_accounts(), 0)
        # Graph says it missed some: a normal delta run catches up.
        graph_id = self.account.subscription_ids.graph_id
        self.simulator._call(
            "POST", f"subscriptions/{graph_id}/lifecycle", json={"event": "missed"}
        )
        self._deliveries(2)
        self.assertEqual(Account._cron_sync_accounts(), 1)
        self.assertEqual(ada.function, "Countess")
        # Dropped with no word from Graph: the scheduled delta run is the safety net.
        self.env.flush_all()
        self.simulator._call("POST", "notification_faults", json={"kind": "drop", "count": 1})
        self.mailbox.edit(self._ada_item()["id"], jobTitle="Analyst")
        self._deliveries(3)
        self.assertEqual(Account._cron_sync_accounts(), 0)
        self.account.last_sync_at = fields.Datetime.now() - timedelta(hours=1)
        self.assertEqual(Account._cron_sync_accounts(), 1)
        self.assertEqual(ada.function, "Analyst")

    # -- the ways out ---------------------------------------------------------------------

    def test_disconnect_by_the_user_deletes_the_subscription(self):
        self._subscribed()
        self.account.with_user(self.account_user).action_disconnect()
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertFalse(self.Sub.search([("account_id", "=", self.account.id)]))

    def test_reset_by_the_user_deletes_the_subscription(self):
        self._subscribed()
        self.account.with_user(self.account_user).action_reset_outlook_sync()
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertFalse(self.account.subscription_ids)
        # Not subscribed again before the user confirms the first sync anew.
        self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        self.assertEqual(self._sim_subscriptions(), [])

    def test_offboarding_deletes_the_subscription(self):
        self._subscribed()
        self.account_user.active = False
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertEqual(self.account.state, "not_connected")

    def test_uninstall_deletes_the_subscriptions(self):
        self._subscribed()
        uninstall_hook(self.env)
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertFalse(self.Sub.search([]))

    def test_settings_refuse_an_address_graph_cannot_call(self):
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param("microsoft_contacts.notifications", "")
        icp.set_param("microsoft_contacts.notification_url", "")
        icp.set_param("web.base.url", "http://odoo.example.com")
        icp.set_param("web.base.url.freeze", "True")
        settings = self.env["res.config.settings"].create(
            {"microsoft_contacts_notifications": True}
        )
        with self.assertRaisesRegex(UserError, "reachable from the internet over HTTPS"):
            settings.execute()
        self.assertFalse(self.env["microsoft.contacts.account"]._notifications_enabled())
        icp.set_param("web.base.url", "https://odoo.example.com")
        settings = self.env["res.config.settings"].create(
            {"microsoft_contacts_notifications": True}
        )
        self.assertEqual(
            settings.microsoft_contacts_notification_endpoint,
            "https://odoo.example.com" + NOTIFICATION_PATH,
        )
        settings.execute()
        self.assertTrue(self.env["microsoft.contacts.account"]._notifications_enabled())

    def test_offboarding_many_at_once_never_waits_past_its_deadline(self):
        graph_id = self._subscribed().graph_id
        late = self.account.with_context(microsoft_contacts_unsubscribe_deadline=time.time() - 1)
        late._disconnect()
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self.account.subscription_ids, "forgotten here")
        # Past the shared deadline no call is made: Graph's copy runs out by itself, and its
        # notifications are refused (unknown subscription).
        self.assertEqual([s["id"] for s in self._sim_subscriptions()], [graph_id])

    def test_turning_notifications_off_unsubscribes(self):
        self._subscribed()
        settings = self.env["res.config.settings"].create(
            {"microsoft_contacts_notifications": False}
        )
        settings.execute()
        self.env["microsoft.contacts.account"]._cron_manage_subscriptions()
        self.assertEqual(self._sim_subscriptions(), [])
        self.assertEqual(self.account.outlook_changes_arrive, "scheduled")
