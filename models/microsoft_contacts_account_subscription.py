"""Near-real-time: Graph change notifications bring an account's Outlook changes within a
minute (R12); the scheduled delta run stays as the safety net.

When Settings say this Odoo is reachable from the internet over HTTPS, each connected account
whose first sync is confirmed subscribes to its synced folder. A notification (see
microsoft_contacts_subscription.py) marks the account and wakes a sync worker, which waits
for the debounce delay and syncs it as a requested account: the run is an ordinary delta run,
claimed and locked like any other, so no account is ever synced twice at once.

The cron "keep change notifications alive" subscribes, renews at half-life, answers lifecycle
events (reauthorization, removal) and deletes what is no longer wanted; Disconnect, a reset,
offboarding, the removal of an account and the uninstallation delete subscriptions at once,
best effort.
"""

import logging
import time
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..graph import (
    AuthExpiredError,
    BadRequestError,
    GraphClient,
    GraphError,
    NotFoundError,
    pacer_for,
)
from ..graph.session import shared_session
from ..graph.subscriptions import SubscriptionClient, new_client_state, notification_urls
from .microsoft_contacts_subscription import precise_now

_logger = logging.getLogger(__name__)

SUBSCRIPTION_CRON = "microsoft_contacts.ir_cron_microsoft_contacts_subscriptions"
ENABLED_PARAM = "microsoft_contacts.notifications"
URL_PARAM = "microsoft_contacts.notification_url"
DEBOUNCE_PARAM = "microsoft_contacts.notification_debounce"
ERROR_PARAM = "microsoft_contacts.notification_last_error"
# The longest a woken sync worker sleeps out a debounce delay in its cron thread.
MAX_CRON_WAIT = 15
DEFAULT_DEBOUNCE = 10  # seconds: notifications within this delay make one run
MAX_DEBOUNCE = 300
# Accounts whose subscription one cron call takes care of; the cron is called again for more.
SUBSCRIPTION_BATCH = 50
SUBSCRIPTION_RETRY = timedelta(minutes=15)
# Subscribing or renewing may wait for Graph (and Graph for the handshake) this long.
SUBSCRIPTION_CALL_SECONDS = 60
# A deletion on the way out (Disconnect, reset, uninstall) never holds its caller longer.
QUIET_DELETE_SECONDS = 15
UNINSTALL_SECONDS = 60


class MicrosoftContactsAccountSubscription(models.Model):
    _inherit = "microsoft.contacts.account"

    subscription_ids = fields.One2many(
        "microsoft.contacts.subscription", "account_id", groups="base.group_system"
    )
    # When the last run started, to the microsecond: the notifications received before it are
    # served by it (see microsoft_contacts_subscription.py).
    notifications_served_at = fields.Datetime(groups="base.group_system", copy=False, readonly=True)
    # When the subscription cron last failed for this account: it waits SUBSCRIPTION_RETRY
    # before the next try, behind the others, and never holds them back.
    subscription_failed_at = fields.Datetime(groups="base.group_system", copy=False, readonly=True)
    outlook_changes_arrive = fields.Selection(
        [
            ("notified", "Within a minute (Outlook tells Odoo)"),
            ("scheduled", "At the next scheduled sync"),
        ],
        compute="_compute_outlook_changes_arrive",
        compute_sudo=True,
        help="With change notifications, Microsoft tells Odoo when a contact of your Outlook "
        "folder changes and the sync follows within a minute; otherwise Outlook's changes "
        "reach Odoo at the next scheduled sync. Odoo's changes go to Outlook with the "
        "scheduled sync either way.",
    )

    def _compute_outlook_changes_arrive(self):
        live = (
            self.env["microsoft.contacts.subscription"]
            .sudo()
            .search([("account_id", "in", self.ids), ("state", "=", "active")])
        )
        notified = set(live.account_id.ids) if self._notifications_enabled() else set()
        for account in self:
            account.outlook_changes_arrive = "notified" if account.id in notified else "scheduled"

    # -- Settings -------------------------------------------------------------------------

    @api.model
    def _notifications_enabled(self):
        value = self.env["ir.config_parameter"].sudo().get_param(ENABLED_PARAM) or ""
        return value.strip().lower() in ("1", "true", "yes", "on")

    @api.model
    def _notification_base_url(self):
        """The public address Graph calls: the system parameter microsoft_contacts.notification_url
        (a reverse proxy or tunnel in front of Odoo) when set, else web.base.url."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        return (get_param(URL_PARAM) or get_param("web.base.url") or "").strip()

    @api.model
    def _notification_urls(self):
        """(notification URL, lifecycle URL), or a UserError saying what to set."""
        base = self._notification_base_url()
        try:
            return notification_urls(base)
        except ValueError as error:
            raise UserError(
                self.env._(
                    "Outlook change notifications need this Odoo to be reachable from the "
                    "internet over HTTPS, and %(url)s is not (%(error)s). Set the system "
                    "parameter web.base.url to the public https:// address of this Odoo (and "
                    "web.base.url.freeze to True so that it stays), or set "
                    "microsoft_contacts.notification_url to the public HTTPS address of a "
                    "reverse proxy or tunnel in front of Odoo.",
                    url=base or "web.base.url",
                    error=error,
                )
            ) from error

    @api.model
    def _notification_debounce(self):
        """How long a run waits after the first notification: the others join it."""
        value = self.env["ir.config_parameter"].sudo().get_param(DEBOUNCE_PARAM)
        try:
            seconds = int(value) if value not in (None, False, "") else DEFAULT_DEBOUNCE
        except ValueError:
            seconds = DEFAULT_DEBOUNCE
        return timedelta(seconds=min(max(seconds, 0), MAX_DEBOUNCE))

    @api.model
    def _set_notification_error(self, message):
        """What Settings show about the last failure to subscribe (False: none)."""
        icp = self.env["ir.config_parameter"].sudo()
        if (icp.get_param(ERROR_PARAM) or False) != (message or False):
            icp.set_param(ERROR_PARAM, message or False)

    # -- waking the sync workers ----------------------------------------------------------

    @api.model
    def _trigger_subscription_cron(self):
        cron = self.env.ref(SUBSCRIPTION_CRON, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _trigger_notified_sync(self, due):
        """Wake a sync worker now (it waits until `due`), and once more at `due` should that
        worker be gone by then: Odoo's cron threads only look at future triggers every minute."""
        for cron in self._get_sync_crons():
            cron._trigger()
            cron._trigger(at=due)

    def _pending_sql(self):
        return SQL(
            """s.pending_since IS NOT NULL
               AND (a.notifications_served_at IS NULL
                    OR s.pending_since > a.notifications_served_at)
               AND a.state = 'connected' AND a.initial_sync_confirmed"""
        )

    @api.model
    def _notified_due_account_ids(self, now):
        """Accounts a notification is waiting for, past the debounce delay."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT s.account_id FROM microsoft_contacts_subscription s
                     JOIN microsoft_contacts_account a ON a.id = s.account_id
                    WHERE %s AND s.pending_since <= %s""",
                self._pending_sql(),
                max(now, precise_now()) - self._notification_debounce(),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _next_notified_due(self):
        """When the earliest waiting notification's run is due, or None."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT MIN(s.pending_since) FROM microsoft_contacts_subscription s
                     JOIN microsoft_contacts_account a ON a.id = s.account_id
                    WHERE %s""",
                self._pending_sql(),
            )
        )
        first = self.env.cr.fetchone()[0]
        return first + self._notification_debounce() if first else None

    def _has_pending_notification(self):
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT 1 FROM microsoft_contacts_subscription s
                     JOIN microsoft_contacts_account a ON a.id = s.account_id
                    WHERE a.id = %s AND %s LIMIT 1""",
                self.id,
                self._pending_sql(),
            )
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _requested_sync_domain(self, now):
        """Accounts Graph notified, past the debounce delay, are served with the requested."""
        domain = super()._requested_sync_domain(now)
        if not self._notifications_enabled():
            return domain
        notified = self._notified_due_account_ids(now)
        return ["|", ("id", "in", notified), *domain] if notified else domain

    @api.model
    def _cron_sync_accounts(self):
        """A worker woken by a notification waits out the debounce delay (a few seconds),
        then syncs the account as a requested one."""
        if self._sync_auto_commit() and self._notifications_enabled():
            self._wait_for_notified_accounts()
        return super()._cron_sync_accounts()

    @api.model
    def _wait_for_notified_accounts(self):
        due = self._next_notified_due()
        if not due:
            return
        seconds = (due - fields.Datetime.now()).total_seconds()
        # A cron thread waits a few seconds at most (other jobs need it); a longer delay is
        # left to the trigger the route set for its end.
        if 0 < seconds <= min(self._notification_debounce().total_seconds() + 1, MAX_CRON_WAIT):
            # Nothing is written yet: the commit only lets the next read see what came since.
            self.env.cr.commit()  # pylint: disable=invalid-commit
            time.sleep(seconds)

    def _run_locked(self, trigger_user, confirm_deletions, chosen):
        """A run serves the notifications received before it starts: it commits this mark
        before it reads Outlook's changes."""
        if not self._notifications_enabled():
            return super()._run_locked(trigger_user, confirm_deletions, chosen)
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE microsoft_contacts_account SET notifications_served_at = %s WHERE id = %s",
                precise_now(),
                self.id,
            )
        )
        self.invalidate_recordset(["notifications_served_at"])
        return super()._run_locked(trigger_user, confirm_deletions, chosen)

    def _sync_outlook(self, trigger_user=None, confirm_deletions=False, chosen=None):
        """After a run: a notification that came during it queues the next one, and a folder
        without a subscription (the first sync made it, or it changed) gets one soon."""
        run = super()._sync_outlook(
            trigger_user=trigger_user, confirm_deletions=confirm_deletions, chosen=chosen
        )
        if run and self._notifications_enabled():
            account = self.sudo()
            if account._has_pending_notification():
                self._trigger_notified_sync(fields.Datetime.now() + self._notification_debounce())
            if account._subscription_wanted() and not account.subscription_ids.filtered(
                lambda sub: sub.state == "active" and sub.folder_id == account.folder_id
            ):
                self._trigger_subscription_cron()
        return run

    # -- subscriptions --------------------------------------------------------------------

    def _subscription_wanted(self):
        self.ensure_one()
        return bool(
            self.state == "connected"
            and self.initial_sync_confirmed
            and self.folder_id
            and not self._is_offboarded()
        )

    @api.model
    def _cron_manage_subscriptions(self):
        """Subscribe, renew at half-life, answer lifecycle events, delete what is not wanted.

        Returns how many accounts it took care of; the cron is called again while more wait.
        """
        Sub = self.env["microsoft.contacts.subscription"].sudo()
        now = fields.Datetime.now()
        if not self._notifications_enabled():
            accounts = Sub.search([], limit=SUBSCRIPTION_BATCH).account_id
            for account in accounts:
                account._unsubscribe(self.env._("change notifications were turned off"))
                self._commit_if_allowed()
            self._set_notification_error(False)
            remaining = Sub.search_count([])
            self.env["ir.cron"]._notify_progress(done=len(accounts), remaining=remaining)
            return len(accounts)
        try:
            urls = self._notification_urls()
        except UserError as error:
            _logger.warning("Outlook change notifications: %s", error)
            self._set_notification_error(str(error))
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return 0
        work = self._subscription_work(now, urls[0])
        done = 0
        for account in work[:SUBSCRIPTION_BATCH]:
            outcome = account._keep_subscription(now, urls)
            account.sudo().subscription_failed_at = now if outcome != "ok" else False
            self._commit_if_allowed()
            done += 1
            if outcome == "unreachable":
                break  # Graph cannot reach this Odoo: the other accounts would fail alike
        remaining = 0 if done < min(len(work), SUBSCRIPTION_BATCH) else len(work) - done
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _subscription_work(self, now, notification_url):
        """The accounts whose subscription needs a Graph call: those that did not fail first,
        then those that failed longest ago; one that failed within SUBSCRIPTION_RETRY waits."""
        Sub = self.env["microsoft.contacts.subscription"].sudo()
        wanted = self.sudo().search(
            [
                ("state", "=", "connected"),
                ("initial_sync_confirmed", "=", True),
                ("folder_id", "!=", False),
                ("user_id.active", "=", True),
                ("user_id.share", "=", False),
            ],
            order="id",
        )
        wanted_ids = set(wanted.ids)
        subs = Sub.search([])
        work_ids = wanted_ids - set(subs.account_id.ids)
        for sub in subs:
            account = sub.account_id
            if account.id not in wanted_ids:
                # Gone from the sync (disconnected, reset): unsubscribe; an account waiting
                # for a reconnect keeps it until it reconnects or it runs out.
                if (
                    account.state == "not_connected"
                    or not account.initial_sync_confirmed
                    or (sub.expires_at and sub.expires_at <= now)
                ):
                    work_ids.add(account.id)
            elif (
                sub.state != "active"
                or sub.folder_id != account.folder_id
                or sub.notification_url != notification_url
                or sub._renewal_due(now)
            ):
                work_ids.add(account.id)
        work = self.sudo().browse(work_ids)
        retry_from = now - SUBSCRIPTION_RETRY
        work = work.filtered(
            lambda a: not a.subscription_failed_at or a.subscription_failed_at <= retry_from
        )
        return work.sorted(lambda a: (a.subscription_failed_at or datetime.min, a.id))

    def _keep_subscription(self, now, urls):
        """Bring this account's subscriptions where they should be; returns what happened:
        "ok", "failed" (logged) or "unreachable" (Graph could not reach this Odoo)."""
        self.ensure_one()
        account = self.sudo()
        if not account._subscription_wanted():
            for sub in account.subscription_ids:
                if sub.expires_at and sub.expires_at <= now:
                    sub.unlink()
            if account.state == "not_connected" or not account.initial_sync_confirmed:
                account._unsubscribe(self.env._("the account no longer syncs"))
            return "ok"
        try:
            client = SubscriptionClient(
                account._get_graph_client(deadline=time.time() + SUBSCRIPTION_CALL_SECONDS)
            )
            live = self.env["microsoft.contacts.subscription"]
            for sub in account.subscription_ids:
                stale = (
                    sub.state == "removed"
                    or (sub.expires_at and sub.expires_at <= now)
                    or sub.folder_id != account.folder_id
                    or sub.notification_url != urls[0]
                )
                if stale:
                    if sub.state != "removed" and sub.expires_at and sub.expires_at > now:
                        client.delete(sub.graph_id)
                    sub.unlink()
                elif sub.state == "renew" or sub._renewal_due(now):
                    try:
                        renewed = client.renew(sub.graph_id)
                    except NotFoundError:
                        sub.unlink()  # Graph forgot it: a new one below
                        continue
                    sub.write(
                        {
                            "state": "active",
                            "renewed_at": now,
                            "expires_at": _naive(renewed.expires_at),
                            "last_error": False,
                        }
                    )
                    live |= sub
                else:
                    live |= sub
            if not live:
                account._subscribe(client, urls, now)
        except BadRequestError as error:
            message = self.env._(
                "Microsoft Graph could not subscribe %(account)s to change notifications: "
                "%(error)s. Graph must reach %(url)s over HTTPS from the internet; until it "
                "does, Outlook's changes arrive with the scheduled sync.",
                account=account.display_name,
                error=error,
                url=urls[0],
            )
            _logger.warning("Outlook change notifications: %s", message)
            self._set_notification_error(message)
            return "unreachable"
        except (AuthExpiredError, GraphError, UserError) as error:
            _logger.info("Outlook account %s: change notifications not renewed: %s", self.id, error)
            account.subscription_ids.write({"last_error": str(error)})
            return "failed"
        self._set_notification_error(False)
        return "ok"

    def _subscribe(self, client, urls, now):
        self.ensure_one()
        client_state = new_client_state()
        created = client.subscribe(self.folder_id, urls[0], urls[1], client_state)
        self.env["microsoft.contacts.subscription"].sudo().create(
            {
                "account_id": self.id,
                "graph_id": created.id,
                "folder_id": self.folder_id,
                "notification_url": urls[0],
                "client_state": client_state,
                "renewed_at": now,
                "expires_at": _naive(created.expires_at),
            }
        )
        _logger.info(
            "Outlook account %s subscribed to change notifications until %s",
            self.id,
            created.expires_at,
        )

    def _unsubscribe(self, reason, deadline=None):
        """Delete the accounts' subscriptions at Graph, best effort, and forget them.

        A subscription Graph still holds after a failure runs out within days, and its
        notifications are refused meanwhile (unknown subscription)."""
        for account in self.sudo():
            subs = account.subscription_ids
            if not subs:
                continue
            live = subs.filtered(
                lambda sub: sub.state != "removed"
                and (not sub.expires_at or sub.expires_at > fields.Datetime.now())
            )
            if live and account.token_cache and account.home_account_id:
                client = None
                try:
                    client = SubscriptionClient(account._quiet_graph_client(deadline))
                    for sub in live:
                        client.delete(sub.graph_id)
                except (GraphError, UserError) as error:
                    _logger.info(
                        "Outlook account %s: subscription not deleted at Microsoft (%s); it "
                        "runs out by itself",
                        account.id,
                        error,
                    )
            _logger.info("Outlook account %s: change notifications off (%s)", account.id, reason)
            subs.unlink()

    def _quiet_graph_client(self, deadline=None):
        """A client for a deletion on the way out: short, and an expired sign-in is not
        reported to the user (they are leaving it anyway)."""
        self.ensure_one()
        account = self.sudo()

        def token(force_refresh):
            value, cache = account._get_identity().access_token(
                account.token_cache, account.home_account_id, force_refresh=force_refresh
            )
            if cache:
                account.token_cache = cache
            return value

        return GraphClient(
            self._get_endpoints().graph,
            token,
            session=shared_session(),
            pacer=pacer_for(("outlook", self.id)),
            timeout=(5, 10),
            max_retries=1,
            max_retry_seconds=10,
            deadline=deadline or time.time() + QUIET_DELETE_SECONDS,
        )

    @api.model
    def _commit_if_allowed(self):
        if self._sync_auto_commit():
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # -- the ways out ---------------------------------------------------------------------

    def _disconnect(self):
        """Disconnect (and offboarding, which disconnects) deletes the subscription first,
        while the sign-in still allows it. Many at once (Settings restricting who may sync)
        share one deadline (context key microsoft_contacts_unsubscribe_deadline): past it, the
        subscriptions left run out by themselves and their notifications are refused."""
        deadline = self.env.context.get("microsoft_contacts_unsubscribe_deadline")
        self._unsubscribe(self.env._("disconnected"), deadline=deadline)
        return super()._disconnect()

    def action_reset_outlook_sync(self):
        result = super().action_reset_outlook_sync()
        self._unsubscribe(self.env._("the sync was reset"))
        return result

    def unlink(self):
        self._unsubscribe(self.env._("the account was deleted"))
        return super().unlink()

    @api.model
    def _uninstall_subscriptions(self):
        """Best effort on uninstall, within a minute in all: never blocks the uninstall."""
        deadline = time.time() + UNINSTALL_SECONDS
        accounts = self.env["microsoft.contacts.subscription"].sudo().search([]).account_id
        for index, account in enumerate(accounts):
            if time.time() >= deadline:
                _logger.info(
                    "Outlook change notifications: the subscriptions of %s accounts are left "
                    "to run out by themselves (within 7 days)",
                    len(accounts) - index,
                )
                break
            try:
                account._unsubscribe(
                    self.env._("the module is uninstalled"),
                    deadline=min(deadline, time.time() + QUIET_DELETE_SECONDS),
                )
            except Exception:  # never let a subscription hold an uninstall
                _logger.exception("Outlook account %s: subscription not deleted", account.id)


def _naive(value):
    """An aware datetime as Odoo stores it: naive UTC, whole seconds."""
    return value.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
