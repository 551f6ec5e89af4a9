"""A Graph change notification subscription of one account's synced folder (R12).

System-only bookkeeping: the subscription's id at Graph, the secret clientState Graph echoes in
every notification, its expiry, and the debounce marks of the notifications received.
microsoft_contacts_account_subscription.py subscribes, renews and deletes; the public route
(controllers/notifications.py) calls `_receive_notifications`.

Debounce without a lock: a notification writes only this row (`notified_at`, and
`pending_since` when no notification was waiting yet); a run writes only its account row
(`notifications_served_at`, at its start, committed before it reads Outlook's changes). A
notification is waiting while `pending_since > notifications_served_at` (both to the
microsecond): the next run serves it, and the route never waits for a running sync to commit.
"""

import hmac
import logging
from datetime import datetime, timezone

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def precise_now():
    """UTC now to the microsecond (Odoo's fields.Datetime.now() drops them): a notification
    and the start of a run in the same second must still be told apart."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# States in which Graph's notifications for a subscription are acted on.
LIVE_STATES = ("active", "renew")


class MicrosoftContactsSubscription(models.Model):
    _name = "microsoft.contacts.subscription"
    _description = "Outlook Change Notification Subscription"
    _order = "id"
    _rec_name = "graph_id"

    account_id = fields.Many2one(
        "microsoft.contacts.account", required=True, ondelete="cascade", index=True
    )
    graph_id = fields.Char("Subscription ID", required=True, readonly=True, copy=False)
    folder_id = fields.Char("Outlook Folder ID", readonly=True)
    notification_url = fields.Char(readonly=True)
    client_state = fields.Char(
        groups="base.group_system", readonly=True, copy=False, prefetch=False
    )
    state = fields.Selection(
        [
            ("active", "Active"),
            ("renew", "Reauthorization required"),
            ("removed", "Removed by Microsoft"),
        ],
        default="active",
        required=True,
        readonly=True,
    )
    renewed_at = fields.Datetime(
        readonly=True, help="When it was created or last renewed: it is renewed at half-life."
    )
    expires_at = fields.Datetime(readonly=True)
    notified_at = fields.Datetime("Last Notification", readonly=True)
    pending_since = fields.Datetime(
        readonly=True,
        help="The first notification not served by a sync yet; the sync starts once the "
        "debounce delay has passed since then.",
    )
    last_error = fields.Text(readonly=True)

    _sql_constraints = [
        ("graph_id_unique", "UNIQUE(graph_id)", "A Graph subscription is recorded once."),
    ]

    def _renewal_due(self, now):
        """Renewed at half-life: a missed cron call or two never lets it run out."""
        self.ensure_one()
        if not self.expires_at:
            return True
        renewed = self.renewed_at or self.create_date
        return now >= renewed + (self.expires_at - renewed) / 2

    @api.model
    def _receive_notifications(self, notifications):
        """Act on notifications whose clientState matches their subscription's; True when one
        did. Anything else (an unknown or stale subscription, a wrong clientState) is refused
        with a log line and nothing written."""
        Account = self.env["microsoft.contacts.account"].sudo()
        ids = {n.subscription_id for n in notifications}
        subscriptions = self.sudo().search([("graph_id", "in", list(ids))]) if ids else self
        by_graph_id = {sub.graph_id: sub for sub in subscriptions}
        enabled = Account._notifications_enabled()
        changed, renew, removed = set(), set(), set()
        unknown, forged = [], []  # logged once per payload, however many entries it holds
        for notification in notifications:
            sub = by_graph_id.get(notification.subscription_id)
            if sub is None:
                unknown.append(notification.subscription_id[:64])
                continue
            if not hmac.compare_digest(
                (sub.client_state or "").encode(), (notification.client_state or "").encode()
            ):
                forged.append(f"{sub.graph_id} (account {sub.account_id.id})")
                continue
            account = sub.account_id
            if (
                not enabled
                or sub.state not in LIVE_STATES
                or account.state != "connected"
                or not account.initial_sync_confirmed
            ):
                _logger.info(
                    "Outlook change notification refused: subscription %s of account %s is "
                    "no longer live",
                    sub.graph_id,
                    account.id,
                )
                continue
            event = notification.lifecycle_event
            if event == "reauthorizationRequired":
                renew.add(sub.id)
            elif event == "subscriptionRemoved":
                removed.add(sub.id)
                changed.add(sub.id)  # changes may have gone unnotified meanwhile
            else:  # a change, or "missed": a delta run catches up either way
                changed.add(sub.id)
        if unknown:
            _logger.warning(
                "Outlook change notifications refused: %s entries for unknown subscriptions "
                "(first: %r)",
                len(unknown),
                unknown[0],
            )
        if forged:
            _logger.warning(
                "Outlook change notifications refused: %s entries with a wrong clientState "
                "(first: subscription %s)",
                len(forged),
                forged[0],
            )
        if not (changed or renew or removed):
            return False
        if renew:
            self.browse(renew - removed).sudo().write({"state": "renew"})
        if removed:
            self.browse(removed).sudo().write({"state": "removed"})
        if renew or removed:
            Account._trigger_subscription_cron()
        if changed:
            self.browse(changed)._mark_pending()
        return True

    def _mark_pending(self):
        """Note the notification; a run is queued when none was waiting for these accounts."""
        now = precise_now()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE microsoft_contacts_subscription s
                      SET notified_at = %(now)s,
                          pending_since = CASE
                              WHEN s.pending_since IS NULL
                                OR (a.notifications_served_at IS NOT NULL
                                    AND s.pending_since <= a.notifications_served_at)
                              THEN %(now)s ELSE s.pending_since END
                     FROM microsoft_contacts_account a
                    WHERE a.id = s.account_id AND s.id IN %(ids)s
                RETURNING s.pending_since""",
                now=now,
                ids=tuple(self.ids),
            )
        )
        started = [row[0] for row in self.env.cr.fetchall() if row[0] == now]
        self.invalidate_recordset(["notified_at", "pending_since"])
        if started:
            Account = self.env["microsoft.contacts.account"].sudo()
            Account._trigger_notified_sync(now + Account._notification_debounce())
