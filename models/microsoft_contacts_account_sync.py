"""Running Outlook syncs: the cron, one run of an account, its lock, its end in the log.

The run itself is the service microsoft.contacts.outlook.sync (its steps, one file each:
microsoft_contacts_outlook_sync*.py); this model decides when an account runs and records
how the run ended.
"""

import logging
import threading
import zlib
from contextlib import nullcontext

from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger

from ..graph import AuthExpiredError, FolderGoneError, GraphError

_logger = logging.getLogger(__name__)

# Due accounts a cron call considers (fairly ordered): more than parallel workers can hold.
DUE_BATCH = 64
# Namespace of the PostgreSQL advisory locks that keep one run per account at a time.
SYNC_LOCK_CLASS = zlib.crc32(b"microsoft.contacts.account.sync") & 0x7FFFFFFF


class MicrosoftContactsAccountSync(models.Model):
    _inherit = "microsoft.contacts.account"

    # When the synced folder's Odoo side was last read whole, and read at all by a complete
    # run: the next run reads only the partners written since (see the sync service).
    odoo_whole_read_at = fields.Datetime(groups="base.group_system", copy=False, readonly=True)
    odoo_read_at = fields.Datetime(groups="base.group_system", copy=False, readonly=True)
    resume_at = fields.Datetime(
        "Sync Resumes At",
        copy=False,
        readonly=True,
        help="Microsoft Graph asked this mailbox to wait: the last run paused, and the next "
        "one starts as soon as Graph allows.",
    )

    def _read_odoo_whole_next(self):
        """The next run reads every partner of the scope: something changed that a read of
        the partners written since would miss (settings, contacts left out or taken in)."""
        self.sudo().write({"odoo_read_at": False})

    # -- entry points ---------------------------------------------------------------------

    @api.model
    def _cron_sync_accounts(self):
        """One account per call, requested ones first, then due ones; the cron calls again
        while some remain. Accounts whose first sync the user has not confirmed wait; those of
        users who left are disconnected, never synced. Returns how many it synced (0 or 1)."""
        self.sudo().search(self._offboarded_domain())._offboard()
        now = fields.Datetime.now()
        ready = [
            ("state", "=", "connected"),
            ("initial_sync_confirmed", "=", True),
            ("user_id.active", "=", True),
            ("user_id.share", "=", False),
            # Graph asked to wait: not before it allows.
            "|",
            ("resume_at", "=", False),
            ("resume_at", "<=", now),
        ]
        # Paused runs go on first, then what users asked for, then the due ones.
        requested = self.sudo().search(
            [*ready, *self._requested_sync_domain(now)],
            order="resume_at asc nulls last, write_date, id",
        )
        # The first ones in line are enough: a call syncs one, the others are busy elsewhere.
        due = requested | self.sudo().search(
            [
                *ready,
                "|",
                ("last_sync_at", "=", False),
                ("last_sync_at", "<=", now - self._get_sync_interval()),
            ],
            order="last_sync_at asc nulls first, id",
            limit=DUE_BATCH,
        )
        done = 0
        auto_commit = self._sync_auto_commit()
        for index, account in enumerate(due):
            if not account._claim_for_cron():
                continue
            requester = account.sync_requested_by_id
            if requester:
                # Served by this run: a click while it runs is told a sync is running.
                account.sync_requested_by_id = False
            try:
                with nullcontext() if auto_commit else self.env.cr.savepoint():
                    account._sync_outlook(trigger_user=requester or None)
            except Exception:
                # _sync_outlook logs its own failures on the run; this is a last resort so
                # that one account never stops the others.
                _logger.exception("Outlook sync of account %s failed", account.id)
                if auto_commit:
                    self.env.cr.rollback()
                account.last_sync_at = fields.Datetime.now()
            done = 1
            remaining = len(due) - index - 1 or int(len(due) - len(requested) >= DUE_BATCH)
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            return done
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done

    @api.model
    def _requested_sync_domain(self, now):
        """The accounts served before the due ones: paused runs, and syncs users asked for."""
        return ["|", ("resume_at", "!=", False), ("sync_requested_by_id", "!=", False)]

    def _sync_outlook(self, trigger_user=None, confirm_deletions=False, chosen=None):
        """Run one sync; returns the run, or None when another worker holds the account.

        `chosen` (group -> kinds, from a preview) applies only those records. Outside tests
        the run commits after each chunk of records (and once the token is fetched, so that
        a rotated refresh token is never rolled back); the advisory lock that keeps other
        workers out is a transaction lock, taken again after each commit.
        """
        self.ensure_one()
        account = self.sudo()
        if account._is_offboarded():
            account._offboard()
            return account.sync_run_ids[:1]
        if not account._lock_sync_for_run():
            _logger.info("Outlook account %s is being synced by another worker", self.id)
            return None
        try:
            return account._run_locked(trigger_user, confirm_deletions, chosen)
        finally:
            account._unlock_sync_for_run()

    def _run_locked(self, trigger_user, confirm_deletions, chosen):
        account = self
        run = (
            self.env["microsoft.contacts.sync.run"]
            .sudo()
            .create(
                {
                    "source": "outlook",
                    "account_id": self.id,
                    "user_id": trigger_user.id if trigger_user else False,
                }
            )
        )
        account.write({"last_sync_at": fields.Datetime.now(), "resume_at": False})
        try:
            account._get_access_token()
        except AuthExpiredError as error:
            account._mark_needs_reconnect(str(error))
            return account._fail_run(run, str(error), trigger_user)
        except (GraphError, UserError) as error:
            return account._fail_run(run, str(error), trigger_user)
        try:
            self.env["microsoft.contacts.outlook.sync"]._sync_account(
                account, run, confirm_deletions=confirm_deletions, chosen=chosen
            )
        except Exception as error:  # every failure ends on the run
            account._end_failed_run(run, error, account._sync_auto_commit())
        else:
            account._tell_held_run(run, toast=not trigger_user)
        if trigger_user:
            account._toast_run(trigger_user, run)
        return run

    def _plan_outlook_sync(self):
        """A dry run: the plan of the next sync and the labels of its records.

        Deletions are planned as if confirmed, so that the preview shows them all. Raises
        what a sync would fail with (AuthExpiredError, GraphError, UserError,
        FolderGoneError); nothing is written, in Odoo or in Outlook.
        """
        self.ensure_one()
        plan, job = self.env["microsoft.contacts.outlook.sync"]._dry_run(self.sudo())
        return plan, job.partner_labels, job.item_labels

    def _sync_auto_commit(self):
        """Commit per chunk, except inside tests (which may ask for it through the context)."""
        return self.env.context.get(
            "microsoft_contacts_auto_commit",
            not getattr(threading.current_thread(), "testing", False),
        )

    def _claim_for_cron(self):
        """Whether this cron worker may sync this account now. Another worker's account is
        skipped before its row is written (that would wait for the worker's commit), and so
        is one another worker synced since this transaction began (its snapshot, which made
        the account due, is stale): the row's lock tells both, without waiting."""
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT 1 FROM %s WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                        SQL.identifier(self._table),
                        self.id,
                    )
                )
        except (LockNotAvailable, SerializationFailure):
            return False
        return not self._is_sync_running()

    def _lock_sync_for_run(self):
        """Take this account's sync lock for a run, across its commits; False if held.

        A session lock: a run commits after each chunk, and the lock must not be free in
        between. PostgreSQL frees it if the worker dies; the run frees it when it ends."""
        self.env.cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", SYNC_LOCK_CLASS, self.id))
        return self.env.cr.fetchone()[0]

    def _unlock_sync_for_run(self):
        self.env.cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", SYNC_LOCK_CLASS, self.id))

    def _lock_sync(self):
        """Take this account's sync lock for the current transaction; False if held."""
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SYNC_LOCK_CLASS, self.id)
        )
        return self.env.cr.fetchone()[0]

    def _hold_sync_lock(self):
        """Keep syncs of this account out until this transaction ends, or say one is running.

        Changing links or the delta position under a running sync would be overwritten by it.
        """
        for account in self:
            if not account._lock_sync():
                raise UserError(
                    self.env._(
                        "A sync of your Outlook contacts is running; try again once it is done."
                    )
                )

    def _is_sync_running(self):
        """Whether another worker holds this account's sync lock right now."""
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                """SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
                      AND database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())
                      AND classid = %s AND objid = %s AND objsubid = 2""",
                SYNC_LOCK_CLASS,
                self.id,
            )
        )
        return bool(self.env.cr.fetchone())

    def _rollback_keeping_tokens(self):
        """Back to the last commit; a token refreshed since must outlive the rollback."""
        token_cache = self.token_cache
        self.env.cr.rollback()
        if token_cache != self.token_cache:
            self.token_cache = token_cache

    def _end_failed_run(self, run, error, auto_commit):
        """Record why the run stopped; with commits, back to the last chunk first."""
        if auto_commit:
            self._rollback_keeping_tokens()
        if isinstance(error, AuthExpiredError):
            self._mark_needs_reconnect(str(error))
            message = str(error)
        elif isinstance(error, FolderGoneError):
            message = self.env._(
                "The folder %s was deleted in Outlook. Nothing was changed; reset the "
                "Outlook sync of this account to sync again.",
                self.folder_name,
            )
        elif isinstance(error, GraphError | UserError):
            _logger.info("Outlook sync of account %s failed: %s", self.id, error)
            message = str(error)
        else:
            _logger.exception("Outlook sync of account %s failed unexpectedly", self.id)
            message = self.env._("Unexpected error: %s", error)
        self._fail_run(run, message)

    def _fail_run(self, run, message, trigger_user=None):
        run.write({"state": "failed", "message": message, "finished_at": fields.Datetime.now()})
        self.last_error = message
        if trigger_user:
            self._toast_run(trigger_user, run)
        return run

    def _toast_run(self, user, run):
        failed = run.state == "failed"
        warned = run.message or run.count_failed or run.count_conflict or run.state == "paused"
        user.partner_id._bus_send(
            "simple_notification",
            {
                "type": "danger" if failed else "warning" if warned else "success",
                "title": self.env._("Outlook contacts synced")
                if not failed
                else self.env._("Outlook contacts sync failed"),
                "message": run._get_summary_message(),
                "sticky": bool(failed),
            },
        )
