"""The Outlook sync as a service: one run of one account, over one or more targets.

A target is a folder the account syncs with its own delta position, link model and policies:
the synced folder (both ways), and, when the user asks for it, the default Contacts folder
(imported one way, first, so that what it brings in is matched rather than copied). One job
per target goes through the same steps, each a method other addons may extend (`_inherit`):

    read  (microsoft_contacts_outlook_sync_read.py)     links, Outlook's changes, the Odoo side
    plan  (sync.plan_sync)                              pure: what to do, record by record
    apply (microsoft_contacts_outlook_sync_odoo.py,     Odoo's writes as the user, Outlook's
           microsoft_contacts_outlook_sync_outlook.py)  in $batch, record by record in order
    log   (microsoft_contacts_outlook_sync_log.py)      lines, counts, records that keep failing

sync/README.md says what each step must do; this file runs them and commits per chunk.
"""

import logging
import math
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone

from odoo import api, fields, models
from odoo.tools import config

from ..graph import AuthExpiredError, PacingDeadlineError
from ..sync import planner as sp
from ..sync import preview as sp_preview

# Record pairs applied between two commits (a crash keeps what the earlier chunks did).
DEFAULT_CHUNK_SIZE = 500
# How long a run may wait for Graph, in seconds (Settings may say otherwise), and a preview.
DEFAULT_RUN_TIME_BUDGET = 600
PREVIEW_TIME_BUDGET = 30
OUTLOOK_KINDS = frozenset(
    {sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK, sp.UPDATE_OUTLOOK, sp.DELETE_IN_OUTLOOK}
)
# Applied apart, once the record's other actions are done (microsoft_contacts_outlook_sync_photo)
ODOO_KINDS_AFTER = OUTLOOK_KINDS | sp.PHOTO_KINDS
COUNT_KEYS = ("new", "updated", "unchanged", "archived", "failed")

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncTarget:
    """What one job syncs. The steps that differ are named, not overridden: `find_folder`
    and `odoo_partners` name methods of the service."""

    name: str  # also the key of microsoft.contacts.sync.retry's target
    label: str  # how the run's message names it when it is not the last target
    link_model: str
    policies: sp.Policies
    folder_field: str  # the account field holding the folder's id
    delta_field: str  # the account field holding the delta position
    find_folder: str  # "_find_synced_folder" or "_find_default_folder"
    odoo_partners: str  # "_partners_in_scope" or "_partners_an_item_may_match"
    writes_outlook: bool = True
    incremental: bool = False  # between whole reads, only the partners that changed are read
    held_in_outlook: frozenset = frozenset()  # partners another target holds in Outlook


class SyncJob:
    """The state of one target's sync within a run, passed from step to step."""

    def __init__(self, account, target, run, *, auto_commit=False, dry_run=False):
        env = account.env
        self.account = account
        self.target = target
        self.policies = target.policies
        self.run = run
        self.env = env
        self.auto_commit = auto_commit
        self.dry_run = dry_run  # plan only: no folder created, no position stored
        self.deadline = None  # when Graph may be waited for no longer (epoch seconds)
        self.Link = env[target.link_model].sudo()
        # Contacts, companies, titles and tags are read and written as the account's user, in
        # all of the user's companies (R9): what the user may not do is refused here as in the
        # UI. Links, runs and lines are the system's bookkeeping (sudo).
        self.user = account.user_id
        self.as_user = env(
            user=self.user.id,
            su=False,
            context={
                "lang": self.user.lang,
                "tz": self.user.tz,
                "allowed_company_ids": self.user.company_ids.ids,
            },
        )
        self.Partner = self.as_user["res.partner"]
        self.client = None
        self.folder = None  # graph.ContactFolder, or None for a dry run before it exists
        self.read_from = None  # the delta position to read from, when not the stored one
        self.delta_link = None
        self.full = False
        self.forget_pairs = False  # a reset found another folder: see _find_synced_folder
        self.photos_first = False  # read Outlook's photos before planning (a preview's apply)
        self.photo_checks = set()  # partners whose Outlook photo is read this run anyway
        self.outlook_photos = {}  # Outlook id -> graph.PhotoRead, read before planning
        self.custom_domain = False  # the partners come from the user's own domain: time it
        self.odoo_read_at = None  # when the Odoo side was read
        self.whole_read = False  # the whole scope was read (not only what changed)
        self.lookups = None  # (country resolver, default region): see _lookups
        self.country_by_code = {}  # filled by _read_lookups with the resolver
        self.country_code_by_id = {}
        self.state_by_id = {}
        self.states_by_country = {}
        self.lines = []
        self.values_before = {}  # partner id -> res.partner values an update overwrote (undo)
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.incomplete = False  # something of the round was not applied: keep the position
        self.message = ""  # what the run says about this job
        self.blocked = False  # the mass-deletion guard held the plan back
        self.links = []  # sync.Link of this target
        self.read_again = None  # link rows whose Outlook contact is read by id
        self.by_partner = {}  # partner id (or -row id) -> StoredLink
        self.by_outlook = {}  # Outlook id -> StoredLink
        self.snapshots = {}  # partner id (or -row id) -> the link's snapshot, as stored
        self.partner_labels = {}  # partner id -> (name, email)
        self.item_labels = {}  # Outlook id -> (name, email)
        self.existing_partners = set()
        self.company_by_name = {}  # name key -> company partner id, or None: keep the text
        self.company_address = {}  # company partner id -> its address key
        self.title_by_name = {}  # name key -> res.partner.title id, or None: not allowed
        self.tag_by_name = {}  # name key -> res.partner.category id, or None: not allowed
        self.cached_creations = []  # (cache, key) of records created: undone on rollback
        self.retries = {}  # group key -> microsoft.contacts.sync.retry
        self.failed = {}  # group key -> (attempts, reason, partner id)
        self.held_keys = set()  # groups left alone this run
        self.chunk_size = max(
            int(
                env["ir.config_parameter"]
                .sudo()
                .get_param("microsoft_contacts.sync_chunk_size", DEFAULT_CHUNK_SIZE)
            ),
            1,
        )


class RecordActions:
    """The planned actions of one record (one plan group), applied in order."""

    __slots__ = ("actions", "change_key", "key", "notes", "outlook_id", "partner_id")

    def __init__(self, key):
        self.key = key
        self.actions = deque()
        self.notes = []
        self.partner_id = None
        self.outlook_id = None
        self.change_key = None


def _only_counted(record):
    """An unchanged pair with nothing to store and nothing to say."""
    if len(record.actions) != 1:
        return False
    action = record.actions[0]
    return action.kind == sp.UNCHANGED and not action.link_op and not action.problems


class MicrosoftContactsOutlookSync(models.AbstractModel):
    _name = "microsoft.contacts.outlook.sync"
    _description = "Outlook Contacts Sync"

    # -- targets --------------------------------------------------------------------------

    @api.model
    def _earlier_targets(self, account):
        """The targets a run syncs before the synced folder: the default folder, imported
        first so that what it brings in is matched there rather than copied."""
        return [self._default_folder_target(account)] if account.import_default_folder else []

    @api.model
    def _synced_folder_target(self, account, confirm_deletions=False):
        return SyncTarget(
            name="folder",
            label=account.folder_name,
            link_model="microsoft.contacts.link",
            policies=account._sync_policies(confirm_deletions),
            folder_field="folder_id",
            delta_field="delta_link",
            find_folder="_find_synced_folder",
            odoo_partners="_partners_in_scope",
            incremental=True,
            held_in_outlook=frozenset(account._default_folder_partner_ids()),
        )

    @api.model
    def _default_folder_target(self, account):
        return SyncTarget(
            name="default_folder",
            label=self.env._("Outlook Contacts folder"),
            link_model="microsoft.contacts.default.folder.link",
            policies=sp.Policies(
                direction=sp.OUTLOOK_TO_ODOO,
                conflict=account.conflict_policy,
                outlook_deletion=sp.OUTLOOK_DELETE_UNLINK,  # deleted there: stop importing
                odoo_deletion=sp.ODOO_DELETE_KEEP,
                outlook_may_clear=account.outlook_may_clear,
                sync_categories=account.sync_categories,
                sync_photos=account.sync_photos,
                mass_delete_confirmed=True,  # deletions here only stop importing a contact
                field_directions=self.env["microsoft.contacts.field.direction"]._sync_directions(),
            ),
            folder_field="default_folder_id",
            delta_field="default_folder_delta_link",
            find_folder="_find_default_folder",
            odoo_partners="_partners_an_item_may_match",
            writes_outlook=False,
        )

    # -- a run ----------------------------------------------------------------------------

    @api.model
    def _sync_account(self, account, run, *, confirm_deletions=False, chosen=None):
        """Sync every target of the account into one run; the last, the synced folder, takes
        the preview's choices. An earlier target's failure is noted on the run, and the
        others go on, but for an expired sign-in, which ends the run."""
        auto_commit = account._sync_auto_commit()
        if auto_commit:
            self._commit(account)  # a token refreshed by the caller is never rolled back
        deadline = time.time() + self._run_time_budget()
        notes, counts = [], dict.fromkeys(COUNT_KEYS, 0)
        for target in self._earlier_targets(account):
            job = self._job(account, target, run, auto_commit=auto_commit, deadline=deadline)
            try:
                with nullcontext() if auto_commit else self.env.cr.savepoint():
                    self._execute(job)
            except PacingDeadlineError as error:
                return self._pause_run(job, error)
            except AuthExpiredError:
                raise
            except Exception as error:
                if auto_commit:
                    account._rollback_keeping_tokens()
                _logger.info("Account %s, %s failed: %s", account.id, target.name, error)
                notes.append(
                    self.env._(
                        "%(target)s could not be synced: %(error)s",
                        target=target.label,
                        error=error,
                    )
                )
                continue
            for key, value in job.counts.items():
                counts[key] += value
            if job.message:
                notes.append(
                    job.message
                    if job.blocked
                    else self.env._(
                        "%(target)s: %(message)s", target=target.label, message=job.message
                    )
                )
        # Made now: what the earlier targets hold in Outlook is not copied into this one.
        last = self._synced_folder_target(account, confirm_deletions)
        job = self._job(account, last, run, auto_commit=auto_commit, deadline=deadline)
        job.counts = counts
        try:
            # Without commits, a savepoint undoes a failed run as a whole.
            with nullcontext() if auto_commit else self.env.cr.savepoint():
                self._execute(job, chosen)
        except PacingDeadlineError as error:
            return self._pause_run(job, error, notes)
        self._finish_run(job, notes)
        return job

    @api.model
    def _run_time_budget(self, in_request=False):
        """Seconds a run may spend, waiting for Graph included (Settings), within the time
        Odoo gives a cron job (limit_time_real_cron), less a fifth for the last commit; and,
        for a run inside an HTTP request (an undo), within the request's (limit_time_real),
        so that it stops and says so rather than being killed with its worker."""
        value = (
            self.env["ir.config_parameter"].sudo().get_param("microsoft_contacts.run_time_budget")
        )
        try:
            budget = int(value or DEFAULT_RUN_TIME_BUDGET)
        except ValueError:
            budget = DEFAULT_RUN_TIME_BUDGET
        limits = [config.get("limit_time_real_cron") or 0]
        if in_request:
            limits.append(config.get("limit_time_real") or 0)
        for limit in limits:
            if limit > 0:
                budget = min(budget, int(limit * 0.8))
        return max(budget, 1)

    @api.model
    def _pause_run(self, job, error, notes=()):
        """Graph asked this mailbox to wait beyond the run's time: what is done stays (a
        background run commits it; the position in Outlook's changes stays where it was, so
        nothing is missed), the run ends as paused, and the workers come back for the account
        as soon as Graph allows. Nothing of it is a failure."""
        account, run = job.account, job.run
        # Whole seconds, as the workers compare it with the time (rounded up: not too early).
        resume_at = datetime.fromtimestamp(math.ceil(error.retry_at), tz=timezone.utc)
        resume_at = resume_at.replace(tzinfo=None)
        if job.auto_commit:
            self._save_lines(job)
        message = self.env._(
            "Paused: Microsoft Graph asked to wait until %(time)s (UTC) before more requests to "
            "this mailbox. The sync goes on from there, on its own.",
            time=resume_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
        run.write(
            {
                "state": "paused",
                "message": "\n".join(filter(None, [*notes, message])),
                "finished_at": fields.Datetime.now(),
                **{f"count_{key}": value for key, value in job.counts.items()},
            }
        )
        account.write({"resume_at": resume_at, "last_error": False})
        for cron in account._get_sync_crons():
            cron._trigger(at=resume_at)
        if job.auto_commit:
            self._commit(account)
        return job

    @api.model
    def _dry_run(self, account):
        """The plan of the synced folder's next sync, planned as if its deletions were
        confirmed (a preview shows them all), and the job (labels of its records)."""
        job = self._job(account, self._synced_folder_target(account, True), dry_run=True)
        return self._plan(job), job

    @api.model
    def _job(self, account, target, run=None, deadline=None, **options):
        job = SyncJob(account, target, run, **options)
        job.deadline = deadline or time.time() + PREVIEW_TIME_BUDGET
        return job

    @api.model
    def _execute(self, job, chosen=None):
        """Plan and apply; with `chosen` (group -> kinds seen in a preview), only those."""
        job.photos_first = chosen is not None  # plan the photos as the preview did
        self._apply(job, self._plan(job), chosen)

    @api.model
    def _plan(self, job):
        """Read both sides and plan. A dry run writes nothing, in Odoo or in Outlook."""
        job.client = job.account._get_graph_client(deadline=job.deadline)
        resolver, region = self._lookups(job)
        job.folder = getattr(self, job.target.find_folder)(job)
        self._read_links(job)
        changes = self._read_outlook(job)
        odoo_side = self._read_odoo(job, changes)
        changes = self._photos_before_planning(job, changes, odoo_side)
        return sp.plan_sync(
            job.policies,
            self._links_for_plan(job, odoo_side, changes),
            changes,
            odoo_side,
            database_uuid=self._database_uuid(),
            countries=resolver,
            default_region=region,
        )

    @api.model
    def _database_uuid(self):
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid")

    @api.model
    def _apply(self, job, plan, chosen=None):
        """Apply a plan (or the part of it chosen in a preview), then close the job."""
        message = ""
        aside = []
        if chosen is not None:
            plan, aside = sp_preview.select_actions(plan, chosen)
        if plan.blocked:
            # Nothing is applied and the position stays: the same changes come back.
            message = plan.blocked_reason
            job.incomplete = True
        else:
            self._apply_in_chunks(job, plan)
            self._keep_retries(job, plan)
        if aside:
            # Not seen as they are now (or left out): the next sync reads them again.
            job.incomplete = True
            message = self.env._(
                "%s contacts changed since the preview (or were not in it); they are "
                "synced on the next sync.",
                len(aside),
            )
        if not job.incomplete:
            job.account[job.target.delta_field] = job.delta_link
            self._done_reading_again(job)
            if job.target.incremental:
                self._mark_odoo_read(job)
        self._save_lines(job)
        if not message and job.incomplete:
            message = self.env._(
                "Some changes could not be applied; they are tried again on the next sync."
            )
        job.message, job.blocked = message, plan.blocked

    @api.model
    def _mark_odoo_read(self, job):
        """Everything written before this read is synced: the next read may start there."""
        values = {"odoo_read_at": job.odoo_read_at}
        if job.whole_read:
            values["odoo_whole_read_at"] = job.odoo_read_at
        job.account.write(values)

    @api.model
    def _apply_in_chunks(self, job, plan):
        records = {}
        for action in plan.actions:
            record = records.setdefault(action.group, RecordActions(action.group))
            record.actions.append(action)
            record.partner_id = record.partner_id or action.partner_id
            record.outlook_id = record.outlook_id or action.outlook_id
        # Records that only need counting go at once; the others in chunks, committed apart.
        quiet = {sp.UNCHANGED, sp.SKIP}
        busy, idle = [], []
        for record in records.values():
            if _only_counted(record):
                job.counts["unchanged"] += 1  # most pairs of a run: no write, no line
            elif any(a.kind not in quiet for a in record.actions):
                busy.append(record)
            else:
                idle.append(record)
        self._apply_chunk(job, idle)
        for start in range(0, len(busy), job.chunk_size):
            if start:
                self._checkpoint(job)
            self._apply_chunk(job, busy[start : start + job.chunk_size])

    @api.model
    def _apply_chunk(self, job, records):
        """Each record's actions in order, stopping at its first failure; the Odoo ones of all
        records together, then the Outlook ones in one $batch, in waves."""
        pending = [r for r in records if r.actions]
        while pending:
            while True:
                odoo_next = [
                    r for r in pending if r.actions and r.actions[0].kind not in ODOO_KINDS_AFTER
                ]
                if not odoo_next:
                    break
                self._apply_odoo_actions(job, odoo_next)
            outlook_next = [r for r in pending if r.actions and r.actions[0].kind in OUTLOOK_KINDS]
            if outlook_next:
                self._apply_outlook_actions(job, outlook_next)
            else:
                # A record's photo comes last: all of the chunk's photos at once.
                photo_next = [r for r in pending if r.actions]
                if photo_next:
                    self._apply_photo_actions(job, photo_next)
            pending = [r for r in pending if r.actions]

    @api.model
    def _checkpoint(self, job):
        """Keep what is done so far: lines and counts on the run, then commit if allowed."""
        self._save_lines(job)
        job.run.write({f"count_{key}": value for key, value in job.counts.items()})
        if job.auto_commit:
            # Background runs only (cron, or a request that asked for it): the chunks already
            # written to Outlook must stay linked in Odoo whatever happens next.
            self._commit(job.account)

    @api.model
    def _commit(self, account):
        """Commit what is done; the run's lock outlives it (see _lock_sync_for_run)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _finish_run(self, job, notes=()):
        """The run is done: its counts and message (after what earlier jobs noted)."""
        message = "\n".join(filter(None, [*notes, job.message]))
        job.run.write(
            {
                "state": "done",
                "full_sync": job.full,
                "message": message or False,
                "finished_at": fields.Datetime.now(),
                "held_deletions": job.blocked,
                **{f"count_{key}": value for key, value in job.counts.items()},
            }
        )
        job.account.last_error = message if job.blocked else False
