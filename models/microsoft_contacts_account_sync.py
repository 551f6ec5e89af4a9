"""One Outlook sync run for one account: the ORM adapter around sync.plan_sync.

The order follows sync/README.md: lookups, links, Outlook delta (+ our extended property for
unlinked items), the Odoo side, the plan, the guard, then the plan applied group by group
(Outlook writes through $batch first, Odoo writes in bulk), links upserted, and the delta link
stored only when every change of the round was applied.
"""

import ast
import json
import logging
import threading
import time
import zlib
from collections import deque
from contextlib import nullcontext
from urllib.parse import quote, urlencode

from psycopg2 import OperationalError

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, escape_psql

from ..graph import (
    AuthExpiredError,
    BatchRequest,
    GraphError,
    NotFoundError,
    SyncStateLostError,
)
from ..sync import planner as sp
from ..sync import preview as sp_preview
from ..sync.contact import Snapshot
from ..sync.mapping import PARTNER_REF_PROPERTY_ID, PLAIN_FIELDS
from ..sync.normalize import CountryResolver

_logger = logging.getLogger(__name__)

EXPAND_PARTNER_REF = f"singleValueExtendedProperties($filter=id eq '{PARTNER_REF_PROPERTY_ID}')"
# Namespace of the PostgreSQL advisory locks that keep one run per account at a time.
SYNC_LOCK_CLASS = zlib.crc32(b"microsoft.contacts.account.sync") & 0x7FFFFFFF
# Record pairs applied between two commits (a crash keeps what the earlier chunks did).
DEFAULT_CHUNK_SIZE = 500
# How long a run waits to take its lock again after a commit.
LOCK_WAIT_SECONDS = 60
# Runs a record may fail in a row before it is reported stuck and the delta moves on.
MAX_ATTEMPTS = 3
# How long the search of a custom scope domain may take, in milliseconds, and its size.
CUSTOM_SCOPE_TIMEOUT_MS = 30_000
MAX_DOMAIN_LENGTH = 2_000
MAX_DOMAIN_TERMS = 50

PARTNER_FIELDS = [
    "name",
    "title",
    "function",
    "company_name",
    "parent_id",
    "email",
    "phone",
    "mobile",
    "street",
    "street2",
    "city",
    "state_id",
    "country_id",
    "zip",
    "website",
    "comment",
    "category_id",
    "write_date",
]
# Written to the partner as they are; title and company are resolved to records apart.
PLAIN_VALUES = tuple(f for f in PLAIN_FIELDS if f not in ("title", "company_name"))
ADDRESS_FIELDS = ("street", "street2", "city", "zip", "state_id", "country_id")
OUTLOOK_KINDS = frozenset(
    {sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK, sp.UPDATE_OUTLOOK, sp.DELETE_IN_OUTLOOK}
)
# kind -> (line action, line direction, record type)
LINE_OF_KIND = {
    sp.CREATE_IN_OUTLOOK: ("created", "to_outlook", "new"),
    sp.RECREATE_IN_OUTLOOK: ("created", "to_outlook", "new"),
    sp.UPDATE_OUTLOOK: ("updated", "to_outlook", "existing"),
    sp.DELETE_IN_OUTLOOK: ("deleted", "to_outlook", "existing"),
    sp.CREATE_IN_ODOO: ("created", "to_odoo", "new"),
    sp.UPDATE_ODOO: ("updated", "to_odoo", "existing"),
    sp.ARCHIVE_PARTNER: ("archived", "to_odoo", "existing"),
    sp.LINK: ("linked", "to_odoo", "existing"),
    sp.UNLINK: ("unlinked", "to_odoo", "existing"),
    sp.CONFLICT: ("conflict", "to_odoo", "existing"),
    sp.INVALID: ("refused", "to_odoo", "existing"),
    sp.NOT_ALLOWED: ("not_allowed", "to_odoo", "existing"),
    sp.SKIP: ("kept", "to_odoo", "existing"),
    sp.UNCHANGED: ("unchanged", "to_odoo", "existing"),
}
COUNT_OF_ACTION = {
    "created": "new",
    "updated": "updated",
    "archived": "archived",
    "deleted": "archived",
    "unchanged": "unchanged",
}


class FolderGoneError(Exception):
    """The folder synced before vanished in Outlook: nothing may be read as deleted."""


class SyncLockLostError(Exception):
    """Another worker took the account between a commit and the lock taken again."""


class MicrosoftContactsAccountSync(models.Model):
    _inherit = "microsoft.contacts.account"

    # -- entry points ---------------------------------------------------------------------

    @api.model
    def _cron_sync_accounts(self):
        """One account per call, requested ones first, then due ones; the cron calls again
        while some remain. Accounts whose first sync the user has not confirmed wait; those of
        users who left are disconnected, never synced."""
        self.sudo().search(self._offboarded_domain())._offboard()
        ready = [
            ("state", "=", "connected"),
            ("initial_sync_confirmed", "=", True),
            ("user_id.active", "=", True),
            ("user_id.share", "=", False),
        ]
        requested = self.sudo().search(
            [*ready, ("sync_requested_by_id", "!=", False)], order="write_date, id"
        )
        due = requested | self.sudo().search(
            [
                *ready,
                "|",
                ("last_sync_at", "=", False),
                ("last_sync_at", "<=", fields.Datetime.now() - self._get_sync_interval()),
            ],
            order="last_sync_at asc nulls first, id",
        )
        done = 0
        auto_commit = self._sync_auto_commit()
        for index, account in enumerate(due):
            requester = account.sync_requested_by_id
            if requester:
                # Served by this run: a click while it runs is told a sync is running.
                account.sync_requested_by_id = False
            try:
                with nullcontext() if auto_commit else self.env.cr.savepoint():
                    run = account._sync_outlook(trigger_user=requester or None)
            except Exception:
                # _sync_outlook logs its own failures on the run; this is a last resort so
                # that one account never stops the others.
                _logger.exception("Outlook sync of account %s failed", account.id)
                if auto_commit:
                    self.env.cr.rollback()
                account.last_sync_at = fields.Datetime.now()
                run = True
            if run is None:
                # Another worker holds this account: its request waits; try the next one.
                account.sync_requested_by_id = requester
                continue
            done = 1
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(due) - index - 1)
            return
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)

    folder_reset = fields.Boolean(
        groups="base.group_system",
        copy=False,
        help="The sync was reset: the next run finds its folder by name again and reads it whole.",
    )

    def action_reset_outlook_sync(self):
        """Start over: the folder is found by name again and read whole, behind a preview.

        What the user decided stays: contacts left out, pairs no longer synced, contacts
        archived or deleted in Odoo keep their links, so nothing comes back unasked. The pairs
        of a folder that is not the same any more are forgotten by the next run, which matches
        the contacts in the new folder again (see _links).
        """
        self._check_can_manage()
        for account in self.sudo():
            account._hold_sync_lock()
            account.write(
                {"delta_link": False, "folder_reset": True, "initial_sync_confirmed": False}
            )
            self.env["microsoft.contacts.sync.retry"].sudo().search(
                [("account_id", "=", account.id)]
            ).unlink()
        return True

    def _forget_mailbox(self):
        """Another mailbox signs in after a Disconnect: nothing of the old one applies.

        Contacts the user stopped syncing stay left out; the rest is matched anew, behind the
        preview of a first sync.
        """
        for account in self.sudo():
            account._hold_sync_lock()
            stopped = account.link_ids.filtered("excluded").partner_id
            account.excluded_partner_ids = [Command.link(pid) for pid in stopped.ids]
            account.link_ids.unlink()
            self.env["microsoft.contacts.sync.retry"].sudo().search(
                [("account_id", "=", account.id)]
            ).unlink()
            account.write(
                {
                    "folder_id": False,
                    "delta_link": False,
                    "folder_reset": False,
                    "initial_sync_confirmed": False,
                }
            )

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
        if not account._lock_sync():
            _logger.info("Outlook account %s is being synced by another worker", self.id)
            return None
        auto_commit = self._sync_auto_commit()
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
        account.last_sync_at = fields.Datetime.now()
        try:
            account._get_access_token()
        except AuthExpiredError as error:
            account._mark_needs_reconnect(str(error))
            return account._fail_run(run, str(error), trigger_user)
        except (GraphError, UserError) as error:
            return account._fail_run(run, str(error), trigger_user)
        outlook_run = _OutlookRun(account, run, confirm_deletions, auto_commit)
        try:
            if auto_commit:
                outlook_run.checkpoint()
            # First, so that what it brings in is matched, not copied into the folder.
            account._import_default_folder(outlook_run)
            # Without commits, a savepoint undoes a failed run as a whole.
            with nullcontext() if auto_commit else self.env.cr.savepoint():
                outlook_run.execute(chosen)
        except Exception as error:  # every failure ends on the run
            account._end_failed_run(run, error, auto_commit)
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
        outlook_run = _OutlookRun(self.sudo(), None, True, dry_run=True)
        plan = outlook_run.plan()
        return plan, outlook_run.partner_labels, outlook_run.item_labels

    def _sync_auto_commit(self):
        """Commit per chunk, except inside tests (which may ask for it through the context)."""
        return self.env.context.get(
            "microsoft_contacts_auto_commit",
            not getattr(threading.current_thread(), "testing", False),
        )

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

    def _end_failed_run(self, run, error, auto_commit):
        """Record why the run stopped; with commits, back to the last chunk first."""
        if auto_commit:
            # A token refreshed since the last commit must outlive the rollback.
            token_cache = self.token_cache
            self.env.cr.rollback()
            if token_cache != self.token_cache:
                self.token_cache = token_cache
            self._lock_sync()
        if isinstance(error, AuthExpiredError):
            self._mark_needs_reconnect(str(error))
            message = str(error)
        elif isinstance(error, FolderGoneError):
            message = self.env._(
                "The folder %s was deleted in Outlook. Nothing was changed; reset the "
                "Outlook sync of this account to sync again.",
                self.folder_name,
            )
        elif isinstance(error, SyncLockLostError):
            message = self.env._("Another worker took this account over; the sync goes on there.")
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
        warned = run.message or run.count_failed or run.count_conflict
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

    # -- inputs of the planner -------------------------------------------------------------

    def _sync_policies(self, confirm_deletions=False):
        return sp.Policies(
            direction=self.sync_direction,
            conflict=self.conflict_policy,
            outlook_deletion=self.outlook_deletion,
            odoo_deletion=self.odoo_deletion,
            outlook_may_clear=self.outlook_may_clear,
            sync_categories=self.sync_categories,
            mass_delete_ratio=max(self.mass_delete_percent, 0) / 100.0,
            mass_delete_minimum=max(self.mass_delete_minimum, 0),
            mass_delete_confirmed=confirm_deletions,
        )

    def _partner_scope_domain(self):
        domain = []
        if not self.include_companies:
            domain.append(("is_company", "=", False))
        if self.sync_scope == "reachable":
            domain += ["|", "|", ("email", "!=", False), ("phone", "!=", False)]
            domain.append(("mobile", "!=", False))
        elif self.sync_scope == "my":
            domain.append(("user_id", "=", self.user_id.id))
        elif self.sync_scope == "tags":
            domain.append(("category_id", "in", self.sync_tag_ids.ids))
        elif self.sync_scope == "domain":
            domain += self._custom_scope_domain()
        return domain

    @api.constrains("sync_scope", "sync_domain")
    def _check_sync_domain(self):
        for account in self.filtered(lambda a: a.sync_scope == "domain"):
            try:
                account._custom_scope_domain()
            except UserError as error:
                raise ValidationError(str(error)) from error

    def _custom_scope_domain(self):
        """The account's custom domain, checked; a UserError says what is wrong with it.

        It runs in the shared cron, so it is read as data (literals and `uid`, bounded in
        size), never evaluated as code, and resolved with the user's rights.
        """
        text = (self.sync_domain or "").strip()
        try:
            domain = parse_domain(text or "[]", self.user_id.id)
            # Resolve it once: unknown fields and malformed terms fail here, readably.
            self.env["res.partner"].with_user(self.user_id)._search(domain)
        except Exception as error:  # the parser and the ORM raise many kinds
            raise UserError(
                self.env._(
                    "The custom domain of this account is not valid (%(domain)s): %(error)s",
                    domain=text,
                    error=error,
                )
            ) from error
        return domain


def parse_domain(text, uid):
    """A domain typed as a Python literal (`uid` allowed), as a list; ValueError otherwise."""
    if len(text) > MAX_DOMAIN_LENGTH:
        raise ValueError(f"longer than {MAX_DOMAIN_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a domain: {error.msg}") from None

    def value(node):
        if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, str | int | float | bool)
        ):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            items = [value(item) for item in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Name) and node.id == "uid":
            return uid
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            return -node.operand.value
        raise ValueError(
            f"only plain values and uid may be used, not {ast.get_source_segment(text, node)}"
        )

    domain = value(tree.body)
    if not isinstance(domain, list):
        raise ValueError("a domain is a list, e.g. [('is_company', '=', False)]")
    if len(domain) > MAX_DOMAIN_TERMS:
        raise ValueError(f"more than {MAX_DOMAIN_TERMS} terms")
    return domain


class _OutlookRun:
    """The state of one run: kept out of the model so that helpers share it plainly."""

    retry_target = "folder"  # whose records microsoft.contacts.sync.retry counts

    def __init__(self, account, run, confirm_deletions, auto_commit=False, dry_run=False):
        self.account = account
        self.dry_run = dry_run  # plan only: no folder created, no position stored
        self.folder_id = None
        self.read_from = None  # the delta link to read from, when not the account's
        self.delta_link = None
        self.full = False
        self.env = account.env
        self.run = run
        self.auto_commit = auto_commit
        self.chunk_size = self._chunk_size()
        self.policies = self._policies(confirm_deletions)
        self.lookups = None  # (country resolver, default region), read once by _lookups()
        self.lines = []
        self.counts = dict.fromkeys(("new", "updated", "unchanged", "archived", "failed"), 0)
        self.incomplete = False  # something of the round was not applied: keep the delta link
        self.notes = []  # what an earlier phase of the run has to say (the default folder)
        self.Link = self.env["microsoft.contacts.link"].sudo()
        # Contacts, companies, titles and tags are read and written as the account's user, in
        # all of the user's companies (R9): what the user may not do is refused here as in the
        # UI. Links, runs and lines are the system's bookkeeping (sudo).
        self.user = account.user_id
        self.as_user = account.env(
            user=self.user.id,
            su=False,
            context={
                "lang": self.user.lang,
                "tz": self.user.tz,
                "allowed_company_ids": self.user.company_ids.ids,
            },
        )
        self.Partner = self.as_user["res.partner"]
        self.forget_pairs = False  # a reset found another folder: see _ensure_folder
        self.retries = {}  # group key -> microsoft.contacts.sync.retry, read by _links()
        self.failed = {}  # group key -> (attempts, reason, partner id): kept by _keep_retries()
        self.held_keys = set()  # groups left alone this run (stuck, unchanged since)
        self.by_partner = {}
        self.by_outlook = {}
        self.partner_labels = {}  # partner id -> (name, email)
        self.item_labels = {}  # outlook id -> (name, email)
        self.existing_partners = set()
        self.company_by_name = {}  # lower-cased Outlook company name -> company partner id
        self.company_address = {}  # company partner id -> its address (ADDRESS_FIELDS)
        self.title_by_name = {}  # lower-cased title -> res.partner.title id
        self.tag_by_name = {}  # lower-cased tag -> res.partner.category id
        self.created_names = []  # (cache, key) of what this run created: undone on rollback

    def _chunk_size(self):
        return max(
            int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("microsoft_contacts.sync_chunk_size", DEFAULT_CHUNK_SIZE)
            ),
            1,
        )

    def _policies(self, confirm_deletions):
        return self.account._sync_policies(confirm_deletions)

    # -- the run ----------------------------------------------------------------------------

    def execute(self, chosen=None):
        """Plan and apply; with `chosen` (group -> kinds seen in a preview), only those."""
        self.apply(self.plan(), chosen)

    def plan(self):
        """Read both sides and plan. A dry run writes nothing, in Odoo or in Outlook."""
        self.client = self.account._get_graph_client()
        resolver, self.default_region = self._lookups()
        self.folder_id = self._ensure_folder()
        links = self._links()
        changes, self.delta_link, self.full = self._read_outlook(self.folder_id)
        odoo_side = self._odoo_side()
        return sp.plan_sync(
            self.policies,
            links,
            changes,
            odoo_side,
            database_uuid=self.env["ir.config_parameter"].sudo().get_param("database.uuid"),
            countries=resolver,
            default_region=self.default_region,
        )

    def apply(self, plan, chosen=None):
        message = ""
        aside = []
        if chosen is not None:
            plan, aside = sp_preview.select_actions(plan, chosen)
        if plan.blocked:
            # Nothing is applied and the delta link stays: the same changes come back.
            message = plan.blocked_reason
            self.incomplete = True
        else:
            self._apply(plan, self.folder_id)
            self._keep_retries(plan)
        if aside:
            # Not seen as they are now (or left out): the next sync reads them again.
            self.incomplete = True
            message = self.env._(
                "%s contacts changed since the preview (or were not in it); they are "
                "synced on the next sync.",
                len(aside),
            )
        if not self.incomplete:
            self._store_delta_link(self.delta_link)
            self._done_reading_again()
        self._save_lines()
        if not message and self.incomplete:
            message = self.env._(
                "Some changes could not be applied; they are tried again on the next sync."
            )
        self._finish(message, plan.blocked)

    def _finish(self, message, blocked):
        """The run is done: its counts and message (after any notes of an earlier phase)."""
        message = "\n".join(filter(None, [*self.notes, message]))
        self.run.write(
            {
                "state": "done",
                "full_sync": self.full,
                "message": message or False,
                "finished_at": fields.Datetime.now(),
                **{f"count_{key}": value for key, value in self.counts.items()},
            }
        )
        self.account.last_error = message if blocked else False

    def _done_reading_again(self):
        """The contacts taken in again were read and applied: from now on the delta does.

        An Outlook contact alone that was not taken in (gone, or refused) is forgotten.
        """
        rows = self.read_again.exists()
        rows.filtered(lambda row: not row.partner_ref).unlink()
        rows.exists().write({"read_again": False})

    def _store_delta_link(self, delta_link):
        self.account.delta_link = delta_link

    def _stored_delta_link(self):
        return self.account.delta_link

    def _delta_start(self, folder_id):
        return f"/me/contactFolders/{quote(folder_id, safe='')}/contacts/delta"

    def checkpoint(self):
        """Keep what is done so far: lines and counts on the run, then commit if allowed."""
        self._save_lines()
        self.run.write({f"count_{key}": value for key, value in self.counts.items()})
        if not self.auto_commit:
            return
        # Background runs only (cron, or a request that asked for it): the chunks already
        # written to Outlook must stay linked in Odoo whatever happens next.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        # A preview may hold the lock for its request meanwhile: wait for it, a while.
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not self.account._lock_sync():
            if time.monotonic() > deadline:
                raise SyncLockLostError()
            time.sleep(0.5)

    def _save_lines(self):
        for line in self.lines:
            line["run_id"] = self.run.id
        self.env["microsoft.contacts.sync.run.line"].sudo().create(self.lines)
        self.lines = []

    # -- lookups ---------------------------------------------------------------------------

    def _lookups(self):
        """Countries, states and the default region: read once per run."""
        if self.lookups is None:
            self.lookups = self._read_lookups()
        return self.lookups

    def _read_lookups(self):
        countries = self.env["res.country"].sudo().search_read([], ["code", "name"])
        self.country_by_code = {c["code"].upper(): c["id"] for c in countries if c["code"]}
        self.country_code_by_id = {c["id"]: c["code"].upper() for c in countries if c["code"]}
        aliases = {}
        lang = self.account.user_id.lang
        if lang:
            for country in (
                self.env["res.country"]
                .sudo()
                .with_context(lang=lang)
                .search_read([], ["code", "name"])
            ):
                if country["code"]:
                    aliases[country["name"]] = country["code"]
        states = {}
        self.state_by_id = {}
        self.states_by_country = {}
        for state in (
            self.env["res.country.state"].sudo().search_read([], ["code", "name", "country_id"])
        ):
            code = self.country_code_by_id.get(state["country_id"][0])
            if not code:
                continue
            states.setdefault(code, {})[state["code"]] = state["name"]
            self.state_by_id[state["id"]] = (state["code"], state["name"])
            self.states_by_country.setdefault(code, []).append(state)
        resolver = CountryResolver(
            {c["code"]: c["name"] for c in countries if c["code"]}, states, aliases
        )
        region = self.account.user_id.company_id.country_id.code
        return resolver, region.upper() if region else None

    # -- folder ------------------------------------------------------------------------------

    def _ensure_folder(self):
        """The folder's id; a dry run never creates it (None: plan against an empty one).

        After a reset the folder is found by name again; when it is not the one the pairs
        were made in, those pairs are forgotten (`forget_pairs`, see _links).
        """
        account, client = self.account, self.client
        if account.folder_id and not account.folder_reset:
            try:
                client.get(f"/me/contactFolders/{quote(account.folder_id, safe='')}")
                return account.folder_id
            except NotFoundError:
                if account.delta_link or account.link_ids.filtered(lambda lk: not lk.detached):
                    raise FolderGoneError() from None
        wanted = (account.folder_name or "Odoo Contacts").strip()
        folder = next(
            (
                f
                for f in client.iter_pages("/me/contactFolders")
                if isinstance(f, dict) and (f.get("displayName") or "").lower() == wanted.lower()
            ),
            None,
        )
        found = folder["id"] if folder else None
        self.forget_pairs = bool(account.folder_reset and found != account.folder_id)
        if self.dry_run:
            self.read_from = False  # a folder found by its name is read from its start
            return found
        if folder is None:
            folder = client.post("/me/contactFolders", json={"displayName": wanted})
        account.write({"folder_id": folder["id"], "delta_link": False, "folder_reset": False})
        return folder["id"]

    # -- links -------------------------------------------------------------------------------

    def _links(self):
        self.retries = {
            retry.key: retry
            for retry in self.env["microsoft.contacts.sync.retry"]
            .sudo()
            .search([("account_id", "=", self.account.id), ("target", "=", self.retry_target)])
        }
        rows = self.Link.search([("account_id", "=", self.account.id)])
        if self.forget_pairs:
            # The synced pairs of the folder used before a reset: their contacts are matched
            # anew in this one. Pairs that record a decision (left out, no longer synced, a
            # contact archived or deleted in Odoo) stay.
            stale = rows.filtered(
                lambda row: (not row.detached and row.partner_id.active)
                or (row.read_again and not row.partner_ref)
            )
            if not self.dry_run:
                stale.unlink()
            rows -= stale
        # Taken in again after a stop: their Outlook contacts are read again (_read_outlook).
        self.read_again = rows.filtered("read_again")
        links = []
        for row in rows:
            self.by_outlook[row.outlook_id] = row
            if row.read_again and not row.partner_ref:
                continue  # an Outlook contact alone: planned as a new one, matched or created
            # An Outlook contact left out of the sync has no partner: its own key keeps it
            # apart from the others (the planner holds one link per partner id).
            pid = row.partner_ref or row.partner_id.id or -row.id
            self.by_partner[pid] = row
            try:
                snapshot = Snapshot.from_json(json.loads(row.snapshot)) if row.snapshot else None
            except ValueError:
                snapshot = None
            links.append(
                sp.Link(
                    row.outlook_id,
                    pid,
                    snapshot,
                    row.change_key or None,
                    row.detached,
                    resumed=row.read_again,
                    created_in_outlook=row.created_in_outlook,
                )
            )
        return links

    # -- Outlook -----------------------------------------------------------------------------

    def _read_outlook(self, folder_id):
        if folder_id is None:  # a dry run before the folder exists
            return sp.OutlookChanges(complete=True), None, True
        start = self._delta_start(folder_id)
        read_from = self._stored_delta_link() if self.read_from is None else self.read_from
        full = not read_from
        try:
            result = self.client.delta(read_from or start)
        except SyncStateLostError:
            _logger.info("Outlook account %s: delta state lost, reading all", self.account.id)
            full = True
            result = self.client.delta(start)
        items = {item["id"]: item for item in result.items}
        removed = set(result.removed)
        # Ids seen both removed and present, and items without a link: read them once more,
        # with our extended property (delta cannot expand it). So are the contacts taken in
        # again after a stop: what changed in Outlook meanwhile lies behind the delta position.
        to_read = set(result.ambiguous) | {oid for oid in items if oid not in self.by_outlook}
        to_read |= set(self.read_again.mapped("outlook_id"))
        for oid, outcome in self._read_items(sorted(to_read)).items():
            if outcome is None:
                removed.add(oid)
                items.pop(oid, None)
            elif outcome is False:
                # Unknown: never plan on it (it could be ours and be duplicated); next round.
                items.pop(oid, None)
                removed.discard(oid)
                self.incomplete = True
            else:
                removed.discard(oid)
                base = items.get(oid) or outcome
                props = outcome.get("singleValueExtendedProperties")
                items[oid] = {**base, "singleValueExtendedProperties": props or []}
        for oid, item in items.items():
            self.item_labels[oid] = _item_label(item)
        changes = sp.OutlookChanges(items=list(items.values()), removed=removed, complete=full)
        return changes, result.delta_link, full

    def _read_items(self, ids):
        """id -> the item with our property, None when gone, False when it could not be read."""
        if not ids:
            return {}
        query = urlencode(
            {"$expand": EXPAND_PARTNER_REF},
            quote_via=quote,
        )
        requests_ = [
            BatchRequest("GET", f"/me/contacts/{quote(oid, safe='')}?{query}", id=str(i))
            for i, oid in enumerate(ids)
        ]
        try:
            outcomes = self.client.batch(requests_)
        except AuthExpiredError:
            raise
        except GraphError as error:
            outcomes = [o for o in (error.batch_outcomes or []) if o is not None]
        found = dict.fromkeys(ids, False)
        for outcome in outcomes:
            oid = ids[int(outcome.request.id)]
            if outcome.ok and isinstance(outcome.body, dict):
                found[oid] = outcome.body
            elif outcome.status == 404:
                found[oid] = None
        return found

    # -- Odoo ------------------------------------------------------------------------------

    def _odoo_side(self):
        # The user's own Outlook contacts taken into Odoo stay in the sync whatever the scope:
        # an Odoo filter chooses what Odoo sends, not what Outlook may keep.
        from_outlook = [
            pid
            for pid, row in self.by_partner.items()
            if pid > 0 and not row.detached and not row.created_in_outlook
        ]
        domain = self._scope_domain()
        if from_outlook:
            domain = expression.OR([domain, [("id", "in", from_outlook)]])
        scope = self._search_scope(domain)
        # Read as the system what the user was found to see: the names of parent companies
        # the user does not see are part of the contact as shown to the user.
        Sudo = self.Partner.sudo()
        rows = Sudo.browse(scope.ids).read(PARTNER_FIELDS, load=None)
        titles = {
            t["id"]: t["name"]
            for t in self.env["res.partner.title"].sudo().search_read([], ["name"])
        }
        parent_ids = {r["parent_id"] for r in rows if r["parent_id"]}
        parents = {p["id"]: p["name"] for p in Sudo.browse(parent_ids).read(["name"])}
        tag_ids = {t for r in rows for t in r["category_id"]}
        tags = {
            t["id"]: t["name"]
            for t in self.env["res.partner.category"].sudo().browse(tag_ids).read(["name"])
        }
        partners = []
        for row in rows:
            state = self.state_by_id.get(row["state_id"]) if row["state_id"] else None
            values = {
                "name": row["name"],
                "title": titles.get(row["title"]) if row["title"] else False,
                "function": row["function"],
                "company_name": parents.get(row["parent_id"]) or row["company_name"],
                "email": row["email"],
                "phone": row["phone"],
                "mobile": row["mobile"],
                "street": row["street"],
                "street2": row["street2"],
                "city": row["city"],
                "state_code": state[0] if state else False,
                "state_name": state[1] if state else False,
                "country_code": self.country_code_by_id.get(row["country_id"], False),
                "zip": row["zip"],
                "website": row["website"],
                "comment": row["comment"],
                "category_names": [tags[t] for t in row["category_id"] if t in tags],
                "company_country_code": self.default_region or False,
            }
            partners.append(sp.OdooPartner(row["id"], values, row["write_date"]))
            self.partner_labels[row["id"]] = (row["name"], row["email"])
        in_scope = {row["id"] for row in rows}
        self.existing_partners |= in_scope
        gone = {}
        linked = {
            pid: row
            for pid, row in self.by_partner.items()
            if not row.detached and pid not in in_scope
        }
        alive = Sudo.with_context(active_test=False).browse(list(linked)).exists()
        active = {p.id: p.active for p in alive}
        for p in alive:
            self.partner_labels[p.id] = (p.name, p.email)
            self.existing_partners.add(p.id)
        for pid in linked:
            if pid not in active:
                gone[pid] = "deleted"
            elif not active[pid]:
                gone[pid] = "archived"
            else:
                gone[pid] = "out_of_scope"
        return sp.OdooSide(
            partners=partners,
            gone=gone,
            held_in_outlook=frozenset(self._held_in_outlook()),
            held=self._held_partners(rows),
            **self._user_rights(sorted(in_scope)),
        )

    def _left_out_partner_ids(self):
        """Partners the user stopped syncing (partner form, preview): never touched."""
        account = self.account
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search_read(
                [
                    ("account_id", "=", account.id),
                    ("excluded", "=", True),
                    ("partner_id", "!=", False),
                ],
                ["partner_id"],
                load=None,
            )
        )
        return set(account.excluded_partner_ids.ids) | {link["partner_id"] for link in links}

    def _search_scope(self, domain):
        """The partners of `domain` the user sees; a custom domain gets a time limit, as one
        user's slow domain must not hold the shared cron."""
        if self.account.sync_scope != "domain":
            return self.Partner.search(domain, order="id")
        cr = self.env.cr
        cr.execute("SHOW statement_timeout")
        previous = cr.fetchone()[0]
        cr.execute(SQL("SET LOCAL statement_timeout = %s", CUSTOM_SCOPE_TIMEOUT_MS))
        try:
            with cr.savepoint():
                return self.Partner.search(domain, order="id")
        except OperationalError as error:
            raise UserError(
                self.env._(
                    "The custom domain of this account took longer than %(seconds)s seconds to "
                    "search: simplify it (My Outlook Sync > Contacts to Sync).",
                    seconds=CUSTOM_SCOPE_TIMEOUT_MS // 1000,
                )
            ) from error
        finally:
            cr.execute(SQL("SET LOCAL statement_timeout = %s", previous))

    def _user_rights(self, partner_ids):
        """What the user may do to these partners, as Odoo would decide it in the UI.

        Access rights, record rules (companies included) and Odoo's protection of internal
        users' contacts (only who may edit users may change them); contacts of active users
        cannot be archived by anyone. Grouped: a few queries for all the partners.
        """
        Partner = self.Partner
        rights = {"may_create": Partner.browse().has_access("create")}
        if not rights["may_create"]:
            rights["create_refusal"] = self.env._(
                "your access rights do not allow creating contacts in Odoo"
            )
        partners = Partner.browse(partner_ids)
        if not Partner.browse().has_access("write"):
            reason = self.env._("your access rights do not allow changing contacts in Odoo")
            not_writable = dict.fromkeys(partner_ids, reason)
        else:
            reason = self.env._(
                "a record rule keeps you from changing this contact (for instance, it belongs "
                "to a company you are not in)"
            )
            not_writable = dict.fromkeys(
                (partners - partners._filtered_access("write")).ids, reason
            )
        users = (
            self.env["res.users"]
            .sudo()
            .search_read([("partner_id", "in", partner_ids)], ["partner_id", "share"], load=None)
        )
        if not self.as_user["res.users"].browse().has_access("write"):
            reason = self.env._(
                "it is the contact of an Odoo user, which only administrators may change"
            )
            for user in users:
                if not user["share"] and user["id"] != self.user.id:
                    not_writable.setdefault(user["partner_id"], reason)
        not_archivable = dict(not_writable)
        reason = self.env._("it is the contact of an active Odoo user")
        for user in users:
            not_archivable.setdefault(user["partner_id"], reason)
        return {**rights, "not_writable": not_writable, "not_archivable": not_archivable}

    def _held_partners(self, rows):
        """Partners left alone this run: those the user left out of the sync, and those whose
        sync kept failing and that did not change since. They stay in the Odoo side, so that
        no Outlook contact holding their email is created again beside them."""
        written = {row["id"]: row["write_date"] for row in rows}
        reason = self.env._("left out of the sync by you")
        held = dict.fromkeys(self._left_out_partner_ids() & set(written), reason)
        for key, retry in self.retries.items():
            pid = retry.partner_id.id
            if retry.attempts < MAX_ATTEMPTS or pid not in written or key != f"partner:{pid}":
                continue
            if written[pid] and retry.last_failed_at and written[pid] > retry.last_failed_at:
                continue  # changed since: tried again
            held[pid] = self.env._(
                "stuck after %(attempts)s failed attempts (%(reason)s); tried again once the "
                "contact changes in Odoo",
                attempts=retry.attempts,
                reason=retry.reason,
            )
        self.held_keys |= {f"partner:{pid}" for pid in held}
        return held

    def _scope_domain(self):
        return self.account._partner_scope_domain()

    def _held_in_outlook(self):
        """Partners Outlook holds in the imported default folder: not copied here again."""
        return self.account._default_folder_partner_ids()

    def _partner_values(self, values, partner=None, notes=None):
        """Planner values (mapping.ODOO_KEYS) -> res.partner values; `notes` gets remarks."""
        vals = {key: values[key] or False for key in PLAIN_VALUES if key in values}
        if "title" in values:
            title = (values["title"] or "").strip().lower()
            vals["title"] = self.title_by_name.get(title) or False if title else False
            if title and not vals["title"] and notes is not None:
                notes.append(self.env._("title %s left out: not allowed to create it", title))
        if "country_code" in values:
            code = (values["country_code"] or "").upper()
            vals["country_id"] = self.country_by_code.get(code, False)
            vals["state_id"] = self._state(code, values.get("state_code"), values.get("state_name"))
        if "company_name" in values and not (partner and partner.parent_id):
            # A contact of a company shows the company's name: that one is not rewritten.
            name = (values["company_name"] or "").strip()
            company_id = self.company_by_name.get(name.lower()) if name else None
            if company_id and (partner and (partner.is_company or partner.id == company_id)):
                company_id = None
            if company_id and self._address_conflicts(company_id, vals, partner):
                # Odoo gives a company's contacts the company's address: linking would
                # overwrite the address Outlook holds, so the name stays text.
                company_id = None
                if notes is not None:
                    notes.append(
                        self.env._(
                            "not linked to the company %s: its address differs from this "
                            "contact's, which is kept",
                            name,
                        )
                    )
            if company_id:
                vals["parent_id"] = company_id
                vals["company_name"] = False
            else:
                vals["company_name"] = values["company_name"] or False
        if "comment" in values:
            vals["comment"] = values["comment"] or False
        if "category_names" in values and self.policies.sync_categories:
            names = [n.strip().lower() for n in values["category_names"]]
            tags = {self.tag_by_name.get(n) for n in names}
            vals["category_id"] = [Command.set(sorted(t for t in tags if t))]
            refused = sorted(n for n in names if n and not self.tag_by_name.get(n))
            if refused and notes is not None:
                notes.append(
                    self.env._("tags left out, not allowed to create them: %s", ", ".join(refused))
                )
        return vals

    def _new_partner_values(self):
        """What a contact created from Outlook gets besides its values: with the scope "My
        contacts", its salesperson is the user, as the user would have typed it."""
        if self.account.sync_scope == "my":
            return {"user_id": self.user.id}
        return {}

    def _address_conflicts(self, company_id, vals, partner):
        """Whether the contact has an address of its own that differs from the company's."""
        own = tuple(
            _address_value(vals[key] if key in vals else (partner[key] if partner else False))
            for key in ADDRESS_FIELDS
        )
        theirs = self.company_address.get(company_id)
        if not theirs or not any(theirs):
            if any(own):
                # Odoo may give a company without an address the one of its first contact.
                self.company_address[company_id] = own
            return False
        return any(own) and own != theirs

    def _store_company_addresses(self, rows):
        for row in rows:
            self.company_address[row["id"]] = tuple(
                _address_value(row[key]) for key in ADDRESS_FIELDS
            )

    def _link_companies(self, names):
        """Resolve company names to companies (R3), in one query for a batch of records.

        The exact name (case ignored) → the earliest created company of that name; else the
        single company whose name contains it; else, as the account says, a new company or
        the name kept as text (no entry).
        """
        wanted = {}
        for name in names:
            name = (name or "").strip()
            if name and name.lower() not in self.company_by_name:
                wanted.setdefault(name.lower(), name)
        if not wanted:
            return
        domain = expression.OR([[("name", "ilike", name)] for name in wanted.values()])
        companies = self.Partner.search_read(
            expression.AND([[("is_company", "=", True)], domain]),
            ["name", *ADDRESS_FIELDS],
            order="create_date, id",
            load=None,
        )
        self._store_company_addresses(companies)
        missing = []
        for key, name in wanted.items():
            exact = [c["id"] for c in companies if (c["name"] or "").strip().lower() == key]
            partial = [c["id"] for c in companies if key in (c["name"] or "").lower()]
            if exact or len(partial) == 1:
                self.company_by_name[key] = (exact or partial)[0]
            elif self.account.company_linking == "create":
                missing.append(name)
            else:
                self.company_by_name[key] = None
        if missing:
            created = self.Partner.create([{"name": n, "is_company": True} for n in missing])
            for name, company in zip(missing, created, strict=True):
                self.company_by_name[name.lower()] = company.id
                self.created_names.append((self.company_by_name, name.lower()))

    def _resolve_names(self, model, cache, names):
        """Find titles or tags by name (case ignored) in one query; create the missing ones."""
        wanted = {}
        for name in names:
            name = (name or "").strip()
            if name and name.lower() not in cache:
                wanted.setdefault(name.lower(), name)
        if not wanted:
            return
        Model = self.as_user[model]
        domain = expression.OR([[("name", "=ilike", escape_psql(n))] for n in wanted.values()])
        for record in Model.search_read(domain, ["name"], order="id"):
            cache.setdefault((record["name"] or "").strip().lower(), record["id"])
        missing = [name for key, name in wanted.items() if key not in cache]
        if not Model.browse().has_access("create"):
            # Not the user's to create: the value is left out (a note on the record says so).
            for name in missing:
                cache[name.lower()] = None
                self.created_names.append((cache, name.lower()))
            return
        for name, record in zip(missing, Model.create([{"name": n} for n in missing]), strict=True):
            cache[name.lower()] = record.id
            self.created_names.append((cache, name.lower()))

    def _state(self, country_code, code, name):
        for state in self.states_by_country.get(country_code, ()):
            if code and state["code"].lower() == code.lower():
                return state["id"]
        for state in self.states_by_country.get(country_code, ()):
            if name and state["name"].lower() == name.lower():
                return state["id"]
        return False

    # -- apply -------------------------------------------------------------------------------

    def _apply(self, plan, folder_id):
        self.folder_id = folder_id
        groups = {}
        for action in plan.actions:
            group = groups.setdefault(action.group, _Group(action.group))
            group.actions.append(action)
            group.partner_id = group.partner_id or action.partner_id
            group.outlook_id = group.outlook_id or action.outlook_id
        # Pairs that only need counting go at once; the others in chunks, committed apart.
        quiet = {sp.UNCHANGED, sp.SKIP}
        busy, idle = [], []
        for group in groups.values():
            (busy if any(a.kind not in quiet for a in group.actions) else idle).append(group)
        self._apply_chunk(idle)
        for start in range(0, len(busy), self.chunk_size):
            if start:
                self.checkpoint()
            self._apply_chunk(busy[start : start + self.chunk_size])

    def _apply_chunk(self, groups):
        pending = [g for g in groups if g.actions]
        while pending:
            # Odoo-side heads first (bulk), then the Outlook heads in one $batch, in waves:
            # each group goes on in its own order and stops at its first failure.
            while True:
                heads = [g for g in pending if g.actions and g.actions[0].kind not in OUTLOOK_KINDS]
                if not heads:
                    break
                self._apply_odoo_heads(heads)
            outlook = [g for g in pending if g.actions]
            if outlook:
                self._apply_outlook_heads(outlook)
            pending = [g for g in pending if g.actions]

    # Odoo side ---------------------------------------------------------------------------

    def _apply_odoo_heads(self, groups):
        """Apply each group's head action; all in one savepoint, else one by one."""
        actions = [g.actions.popleft() for g in groups]
        try:
            with self.env.cr.savepoint():
                effects = self._odoo_actions(list(zip(groups, actions, strict=True)))
        except Exception:  # one bad record: redo them one by one to find it
            effects = self._one_by_one(list(zip(groups, actions, strict=True)))
        for effect in effects:
            effect()

    def _one_by_one(self, pairs):
        effects = []
        self._forget_created()  # rolled back with the savepoint
        self._forget_creates(pairs)  # rolled back with the savepoint
        for group, action in pairs:
            try:
                with self.env.cr.savepoint():
                    effects += self._odoo_actions([(group, action)])
            except Exception as error:
                self._forget_creates([(group, action)])
                self._forget_created()
                reason = str(error)
                if isinstance(error, AccessError):
                    reason = self.env._("not allowed: %s", reason)
                self._fail(group, action, reason[:500])
        return effects

    def _forget_created(self):
        for cache, key in self.created_names:
            cache.pop(key, None)
        self.created_names.clear()

    def _forget_creates(self, pairs):
        for group, action in pairs:
            if action.kind == sp.CREATE_IN_ODOO and group.partner_id:
                self.existing_partners.discard(group.partner_id)
                self.partner_labels.pop(group.partner_id, None)
                group.partner_id = None

    def _odoo_actions(self, pairs):
        """Write what the actions say; return the in-memory effects to run once committed."""
        effects = []
        incoming = [
            a.values
            for _g, a in pairs
            if a.kind in (sp.CREATE_IN_ODOO, sp.UPDATE_ODOO) and a.values
        ]
        self._link_companies(v.get("company_name") for v in incoming)
        self._resolve_names(
            "res.partner.title", self.title_by_name, (v.get("title") for v in incoming)
        )
        if self.policies.sync_categories:
            self._resolve_names(
                "res.partner.category",
                self.tag_by_name,
                (name for v in incoming for name in v.get("category_names") or ()),
            )
        creates = [(g, a) for g, a in pairs if a.kind == sp.CREATE_IN_ODOO]
        if creates:
            for group, _action in creates:
                group.notes = []
            partners = self.Partner.create(
                [
                    {**self._partner_values(a.values, notes=g.notes), **self._new_partner_values()}
                    for g, a in creates
                ]
            )
            for (group, _action), partner in zip(creates, partners, strict=True):
                group.partner_id = partner.id
                self.existing_partners.add(partner.id)
                self.partner_labels[partner.id] = (partner.name, partner.email)
        archive = [a.partner_id for _g, a in pairs if a.kind == sp.ARCHIVE_PARTNER]
        if archive:
            self.Partner.browse(archive).write({"active": False})
        # Grouped writes: partners receiving the very same values are written at once.
        writes = {}
        updates = [(g, a) for g, a in pairs if a.kind == sp.UPDATE_ODOO]
        # One recordset: the partners' fields are read in one query, not one per partner.
        updated = self.Partner.browse([g.partner_id for g, _a in updates])
        for (group, action), partner in zip(updates, updated, strict=True):
            group.notes = []
            vals = self._partner_values(action.values, partner, group.notes)
            writes.setdefault(repr(sorted(vals.items())), (vals, []))[1].append(group.partner_id)
        for vals, partner_ids in writes.values():
            self.Partner.browse(partner_ids).write(vals)
        new_links = []  # (values, holder): created at once, the holder then gets the row
        for group, action in pairs:
            effects += self._link_op(group, action, new_links)
            effects.append(self._line_effect(group, action))
        if new_links:
            rows = self.Link.create([values for values, _holder in new_links])
            for (_values, holder), row in zip(new_links, rows, strict=True):
                holder.append(row)
        return effects

    # Outlook side -------------------------------------------------------------------------

    def _apply_outlook_heads(self, groups):
        actions = [g.actions.popleft() for g in groups]
        folder = quote(self.folder_id, safe="")
        requests_ = []
        for index, (group, action) in enumerate(zip(groups, actions, strict=True)):
            if action.kind in (sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK):
                request = BatchRequest(
                    "POST", f"/me/contactFolders/{folder}/contacts", body=dict(action.payload)
                )
            else:
                path = f"/me/contacts/{quote(group.outlook_id, safe='')}"
                if action.kind == sp.UPDATE_OUTLOOK:
                    headers = {"If-Match": f'W/"{action.if_match}"'} if action.if_match else None
                    request = BatchRequest(
                        "PATCH", path, body=dict(action.payload), headers=headers
                    )
                else:
                    request = BatchRequest("DELETE", path)
            requests_.append(
                BatchRequest(request.method, request.url, request.body, request.headers, str(index))
            )
        whole_error = None
        try:
            outcomes = self.client.batch(requests_)
        except AuthExpiredError:
            raise
        except GraphError as error:
            whole_error = error
            outcomes = [o for o in (error.batch_outcomes or []) if o is not None]
        by_index = {int(o.request.id): o for o in outcomes}
        done = []
        for index, (group, action) in enumerate(zip(groups, actions, strict=True)):
            outcome = by_index.get(index)
            if outcome is None:
                self._fail(group, action, str(whole_error or "no answer from Outlook"))
                continue
            gone_already = action.kind == sp.DELETE_IN_OUTLOOK and outcome.status == 404
            if not outcome.ok and not gone_already:
                self._fail(group, action, str(outcome.error))
                continue
            body = outcome.body if isinstance(outcome.body, dict) else {}
            if action.kind in (sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK) and body.get("id"):
                group.outlook_id = body["id"]
            if isinstance(body.get("changeKey"), str):
                group.change_key = body["changeKey"]
            done.append((group, action))
        if not done:
            return
        # The Outlook writes landed: their link ops and lines, in bulk.
        try:
            with self.env.cr.savepoint():
                effects = self._odoo_actions(done)
        except Exception:
            effects = self._one_by_one(done)
        for effect in effects:
            effect()

    # links and log ---------------------------------------------------------------------

    def _link_op(self, group, action, new_links):
        """Write the link the action asks for; a new row is queued in `new_links`."""
        op = action.link_op
        pid, oid = group.partner_id, group.outlook_id
        if not op:
            return []
        row = self.by_partner.get(pid) or self.by_outlook.get(oid)
        if op == sp.LINK_STORE:
            vals = {
                "partner_id": pid,
                "partner_ref": pid,
                "outlook_id": oid,
                "snapshot": json.dumps(action.snapshot.to_json(), sort_keys=True),
                "fingerprint": action.snapshot.fingerprint(),
                "change_key": group.change_key or action.change_key or False,
                "detached": False,
                "synced_at": fields.Datetime.now(),
            }
            if action.created_in_outlook:
                vals["created_in_outlook"] = True  # never unset: the item stays the sync's
            other = self.by_outlook.get(oid)
            if row and other and other != row:
                other.unlink()  # a stale row holding this Outlook id
            if row:
                old_pid, old_oid = row.partner_ref, row.outlook_id
                row.write(vals)
                holder = [row]
            else:
                old_pid = old_oid = None
                holder = []
                new_links.append(({**vals, "account_id": self.account.id}, holder))

            def effect():
                row = holder[0]
                if other and other != row:
                    self.by_outlook.pop(oid, None)
                    self.by_partner.pop(other.partner_ref, None)
                if old_pid is not None:
                    self.by_partner.pop(old_pid, None)
                    self.by_outlook.pop(old_oid, None)
                self.by_partner[pid] = row
                self.by_outlook[oid] = row

            return [effect]
        if not row:
            return []
        if op == sp.LINK_DETACH:
            row.write({"detached": True, "synced_at": fields.Datetime.now()})
            return []
        # LINK_DELETE: read the keys first, the effect runs once the row is gone.
        ref, outlook_id = row.partner_ref, row.outlook_id
        row.unlink()

        def forget(ref=ref, outlook_id=outlook_id):
            self.by_partner.pop(ref, None)
            self.by_outlook.pop(outlook_id, None)

        return [forget]

    def _line(self, group, action, status="success", reason=None):
        line_action, direction, record_type = LINE_OF_KIND[action.kind]
        pid = group.partner_id
        name, email = (
            self.partner_labels.get(pid)
            or self.item_labels.get(group.outlook_id)
            or (
                None,
                None,
            )
        )
        if action.values and not name:
            name, email = action.values.get("name"), action.values.get("email")
        problems = "; ".join([*(p.message for p in action.problems if p.message), *group.notes])
        text = reason or action.reason or ""
        if problems and problems not in text:
            text = f"{text} ({problems})" if text else problems
        return {
            "partner_id": pid if pid in self.existing_partners else False,
            "external_id": group.outlook_id or False,
            "name": name or False,
            "email": email or False,
            "record_type": record_type,
            "action": line_action,
            "direction": direction,
            "status": status,
            "reason": text[:500] or False,
        }

    def _line_effect(self, group, action):
        def effect():
            if action.kind == sp.INVALID:
                self.counts["failed"] += 1
                self.lines.append(self._line(group, action, status="failed"))
                return
            if action.kind == sp.SKIP and group.key in self.held_keys:
                return  # left out, or stuck and reported when it stuck: not every run
            line = self._line(group, action)
            key = COUNT_OF_ACTION.get(line["action"])
            if key:
                self.counts[key] += 1
            if action.kind == sp.UNCHANGED and not action.problems:
                return  # counted, not logged: unchanged pairs would flood the log
            self.lines.append(line)

        return effect

    def _fail(self, group, action, reason):
        """The group stops here; its item is read again next round (delta link kept).

        A record that failed MAX_ATTEMPTS runs in a row is reported stuck instead: the delta
        position moves on, and the record is tried again once it changes.
        """
        group.actions.clear()
        retry = self.retries.get(group.key)
        attempts = (retry.attempts if retry else 0) + 1
        self.failed[group.key] = (attempts, reason, group.partner_id or action.partner_id)
        self.counts["failed"] += 1
        line = self._line(group, action, status="failed", reason=reason)
        if attempts >= MAX_ATTEMPTS:
            line["action"] = "stuck"
            line["reason"] = self.env._(
                "stuck after %(attempts)s failed attempts: %(reason)s. It is left as it is on "
                "both sides and tried again when it changes.",
                attempts=attempts,
                reason=reason,
            )[:500]
        else:
            self.incomplete = True
        self.lines.append(line)

    def _keep_retries(self, plan):
        """Count the failures of this run; forget those of the records it synced."""
        Retry = self.env["microsoft.contacts.sync.retry"].sudo()
        now = fields.Datetime.now()
        new = []
        for key, (attempts, reason, partner_id) in self.failed.items():
            values = {
                "attempts": attempts,
                "reason": (reason or "")[:500],
                "last_failed_at": now,
                "partner_id": partner_id if partner_id and partner_id > 0 else False,
            }
            if key in self.retries:
                self.retries[key].write(values)
            else:
                new.append(
                    {
                        **values,
                        "account_id": self.account.id,
                        "target": self.retry_target,
                        "key": key,
                    }
                )
        Retry.create(new)
        synced = {a.group for a in plan.actions} - set(self.failed) - self.held_keys
        done = [self.retries[key].id for key in synced if key in self.retries]
        Retry.browse(done).unlink()
        self.retries = {k: r for k, r in self.retries.items() if r.id not in done}
        self.failed = {}


def _item_label(item):
    """(name, email) of an Outlook item for the log, whatever types Graph sent."""
    name = item.get("displayName")
    emails = item.get("emailAddresses")
    first = emails[0] if isinstance(emails, list) and emails else None
    email = first.get("address") if isinstance(first, dict) else None
    return (
        name.strip() or None if isinstance(name, str) else None,
        email.strip() or None if isinstance(email, str) else None,
    )


def _address_value(value):
    """An address field, comparable whatever its source (record, id, text)."""
    if isinstance(value, models.BaseModel):
        return value.id or False
    if isinstance(value, str):
        return " ".join(value.split()).lower() or False
    return value or False


class _Group:
    __slots__ = ("actions", "change_key", "key", "notes", "outlook_id", "partner_id")

    def __init__(self, key):
        self.key = key
        self.actions = deque()
        self.notes = []
        self.partner_id = None
        self.outlook_id = None
        self.change_key = None
