"""Undoing a run: what a sync's lines keep for it, and the undo itself, as the user.

A sync's log lines keep what an undo needs (sync.undo.line_undo_data): the fields an action
changed with their previous and new values, the res.partner values an update overwrote, the
last synced snapshot of an Outlook copy it deleted. An undo reads the run's lines, the Odoo
contacts and links they name as they are now, and which later runs changed them again;
sync.undo.plan_undo decides record by record; this applies it as a sync applies a plan:
Outlook first (in $batch, paced, every PATCH and DELETE under If-Match), then Odoo with the
account user's rights, then the links, each record whole or not at all; committed per chunk
in the background, logged as a run of its own (source "undo") with a line per record.
"""

import json
import time
from contextlib import nullcontext

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..graph import ContactFolder, ContactWrite, PacingDeadlineError, WriteResult
from ..graph.contacts import CREATE, DELETE, UPDATE
from ..sync import planner as sp
from ..sync import undo as su
from ..sync.mapping import (
    PARTNER_COLUMNS,
    PARTNER_REF_PROPERTY_ID,
    MappingContext,
    partner_ref_value,
)
from .microsoft_contacts_outlook_sync_log import COUNT_OF_ACTION
from .microsoft_contacts_outlook_sync_read import _snapshot

# Line actions of a run that changed a record: a later run with one of them blocks an undo.
CHANGING_ACTIONS = ("created", "updated", "archived", "deleted", "linked", "unlinked", "restored")
WRITE_OF_STEP = {su.PUT_BACK_OUTLOOK: UPDATE, su.DELETE_COPY: DELETE, su.CREATE_AGAIN: CREATE}
# step -> (line action, line direction)
LINE_OF_STEP = {
    su.PUT_BACK_OUTLOOK: ("updated", "to_outlook"),
    su.DELETE_COPY: ("deleted", "to_outlook"),
    su.CREATE_AGAIN: ("created", "to_outlook"),
    su.PUT_BACK_ODOO: ("updated", "to_odoo"),
    su.ARCHIVE: ("archived", "to_odoo"),
    su.RESTORE: ("restored", "to_odoo"),
    su.LEAVE_OUT: ("unlinked", "to_odoo"),
    su.NOTHING: ("unchanged", "to_odoo"),
}
LINK_MODELS = {
    su.SYNCED_FOLDER: "microsoft.contacts.link",
    "default_folder": "microsoft.contacts.default.folder.link",
}
# What Outlook answers a PATCH of a contact changed (412) or deleted (404) since the run.
CHANGED_IN_OUTLOOK = (404, 412)


class _Outcome:
    """What became of one record of the undo."""

    __slots__ = ("done", "failure", "result")

    def __init__(self):
        self.done = []  # its steps carried out
        self.result = None  # the WriteResult of its Outlook step
        self.failure = None  # why the rest was not done, once a step was


class UndoWork:
    """The state of one undo: the job (account, user, Graph, lines, counts) and the records'
    outcomes, passed from step to step."""

    def __init__(self, job, run, translate):
        self.job = job
        self.run = run  # the run undone
        self.translate = translate
        self.labels = {}  # line id of the run -> (name, email)
        self.partners = set()  # ids of the partners the lines name that still exist
        self.outcomes = {}  # id(record) -> _Outcome
        self.wait = ""  # set once Graph asked to wait past the run's time

    def outcome(self, record):
        return self.outcomes.setdefault(id(record), _Outcome())


class MicrosoftContactsOutlookSyncUndo(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    # -- what a sync's lines keep -----------------------------------------------------------

    @api.model
    def _line(self, job, record, action, status="success", reason=None):
        line = super()._line(job, record, action, status=status, reason=reason)
        if status == "success" and action.kind in su.UNDOABLE_KINDS:
            pid = record.partner_id or action.partner_id
            line["undo_data"] = su.line_undo_data(
                action,
                target=job.target.name,
                partner_id=pid,
                outlook_id=record.outlook_id or action.outlook_id,
                before=job.values_before.get(pid) if action.kind == sp.UPDATE_ODOO else None,
                snapshot=self._snapshot_deleted(job, action, pid),
            )
        return line

    @api.model
    def _snapshot_deleted(self, job, action, partner_id):
        """The last synced snapshot of an Outlook copy the action deletes (JSON), or None."""
        if action.kind != sp.DELETE_IN_OUTLOOK or not job.snapshots.get(partner_id):
            return None
        try:
            return json.loads(job.snapshots[partner_id])
        except ValueError:
            return None

    @api.model
    def _odoo_writes(self, job, pairs):
        self._keep_values_before(job, pairs)
        return super()._odoo_writes(job, pairs)

    @api.model
    def _keep_values_before(self, job, pairs):
        """The res.partner values the updates are about to overwrite, in one read: an undo
        writes them back as they were (formatting and linked records included)."""
        wanted = {}
        for record, action in pairs:
            pid = record.partner_id
            if action.kind == sp.UPDATE_ODOO and action.values and pid not in job.values_before:
                wanted[pid] = su.odoo_columns(action.values)
        if not wanted:
            return
        columns = sorted({column for names in wanted.values() for column in names})
        Sudo = job.Partner.sudo().with_context(active_test=False)
        for row in Sudo.browse(list(wanted)).read(columns, load=None):
            job.values_before[row["id"]] = {name: row[name] for name in wanted[row["id"]]}

    # -- the undo -----------------------------------------------------------------------------

    @api.model
    def _undo(self, account, run, user):
        """Undo `run` of `account` for `user` (its owner or an administrator): a new run,
        under the account's sync lock, acting with the account user's rights."""
        if not account._lock_sync_for_run():
            raise UserError(
                self.env._(
                    "A sync of these Outlook contacts is running; undo the run once it is done."
                )
            )
        try:
            undo = (
                self.env["microsoft.contacts.sync.run"]
                .sudo()
                .create(
                    {
                        "source": "undo",
                        "account_id": account.id,
                        "user_id": user.id,
                        "undo_of_id": run.id,
                    }
                )
            )
            auto_commit = account._sync_auto_commit()
            try:
                self._undo_run(account, run, undo, auto_commit)
            except Exception as error:  # every failure ends on the undo run
                account._end_failed_run(undo, error, auto_commit)
            self._toast_undo(user, undo)
            return undo
        finally:
            account._unlock_sync_for_run()

    @api.model
    def _undo_run(self, account, run, undo, auto_commit):
        if auto_commit:
            self._commit(account)  # the undo run stays whatever happens next
        deadline = time.time() + self._run_time_budget(in_request=True)
        job = self._job(
            account,
            self._synced_folder_target(account),
            undo,
            auto_commit=auto_commit,
            deadline=deadline,
        )
        work = UndoWork(job, run, self._undo_translate())
        # Without commits, a savepoint undoes a failed undo as a whole.
        with nullcontext() if auto_commit else self.env.cr.savepoint():
            records = self._plan_undo(work).records
            for start in range(0, len(records), job.chunk_size):
                if start:
                    self._checkpoint(job)
                self._apply_undo_chunk(work, records[start : start + job.chunk_size])
            self._save_lines(job)
        undo.write(
            {
                "state": "done",
                "message": work.wait or False,
                "finished_at": fields.Datetime.now(),
                **{f"count_{key}": value for key, value in job.counts.items()},
            }
        )

    @api.model
    def _undo_translate(self):
        """sync.undo.TEXTS in the user's language; literal here, where the translation tool
        finds them (the field labels are the preview's)."""
        texts = self.env["microsoft.contacts.sync.preview"]._preview_texts()
        texts.update(
            {
                su.PUT_BACK_TEXT: self.env._("put back as before run #%(run)s: %(fields)s"),
                su.DELETE_COPY_TEXT: self.env._(
                    "created in Outlook by run #%(run)s: deleted there; the contact is left "
                    "out of your sync until you take it in again"
                ),
                su.CREATE_AGAIN_TEXT: self.env._(
                    "deleted in Outlook by run #%(run)s: created again there as it was last "
                    "synced, and left out of your sync until you take it in again"
                ),
                su.ARCHIVE_TEXT: self.env._(
                    "created in Odoo by run #%(run)s: archived; its Outlook contact is left out "
                    "of your sync until you take it in again"
                ),
                su.ARCHIVE_IMPORT_TEXT: self.env._(
                    "imported by run #%(run)s: archived; its Outlook contact is no longer "
                    "imported"
                ),
                su.RESTORE_TEXT: self.env._("archived by run #%(run)s: restored"),
                su.LEAVE_OUT_TEXT: self.env._(
                    "paired by run #%(run)s: the two contacts are kept apart, left out of your "
                    "sync until you take them in again"
                ),
                su.STOP_IMPORT_TEXT: self.env._(
                    "paired by run #%(run)s: this Outlook contact is no longer imported"
                ),
                su.ALREADY_TEXT: self.env._("already as before run #%(run)s"),
                su.LATER_RUN_TEXT: self.env._(
                    "not undone: changed again by run #%(later)s on %(date)s"
                ),
                su.ODOO_CHANGED_TEXT: self.env._(
                    "not undone: changed in Odoo since run #%(run)s (%(fields)s)"
                ),
                su.OUTLOOK_CHANGED_TEXT: self.env._(
                    "not undone: changed in Outlook since run #%(run)s"
                ),
                su.PARTNER_GONE_TEXT: self.env._(
                    "not undone: the Odoo contact was deleted since run #%(run)s"
                ),
                su.NOT_LINKED_TEXT: self.env._(
                    "not undone: this contact is no longer synced with that Outlook contact"
                ),
                su.LINKED_AGAIN_TEXT: self.env._(
                    "not undone: this contact is synced with an Outlook contact again"
                ),
                su.NO_SNAPSHOT_TEXT: self.env._(
                    "not undone: run #%(run)s kept no synced version of this contact"
                ),
                su.NOT_ALLOWED_TEXT: self.env._("not undone: not allowed: %(why)s"),
                su.INVALID_TEXT: self.env._("not undone: %(why)s"),
                su.FAILED_TEXT: self.env._("not undone: %(error)s"),
            }
        )
        return lambda text: texts.get(text, text)

    # -- reading what to undo -----------------------------------------------------------------

    @api.model
    def _plan_undo(self, work):
        """The run's lines, and what their records are now: sync.undo.plan_undo decides."""
        job, run = work.job, work.run
        Line = self.env["microsoft.contacts.sync.run.line"].sudo()
        rows = Line.search_read(
            [("run_id", "=", run.id)], ["undo_data", "name", "email"], order="id", load=None
        )
        entries = []
        for row in rows:
            label = job.account._left_out_label(row["name"], row["email"])
            entry = su.Entry.of(row["id"], run.id, row["undo_data"], label=label)
            if entry is not None:
                entries.append(entry)
                work.labels[row["id"]] = (row["name"], row["email"])
        pids = sorted({e.partner_id for e in entries if e.partner_id})
        oids = sorted({e.outlook_id for e in entries if e.outlook_id})
        resolver, region = self._lookups(job)
        partners = self._undo_partners(work, pids)
        rights = self._user_rights(job, sorted(partners))
        not_archivable = {**self._synced_by_others(job, pids), **rights["not_archivable"]}
        touched_partners, touched_items = self._touched_later(work, pids, oids)
        return su.plan_undo(
            entries,
            partners=partners,
            links=self._undo_links_now(job, pids, oids),
            touched_partners=touched_partners,
            touched_items=touched_items,
            undone=self._lines_undone(run),
            not_writable=rights["not_writable"],
            not_archivable=not_archivable,
            database_uuid=self._database_uuid(),
            ctx=MappingContext(resolver, region, sync_categories=True),
        )

    @api.model
    def _synced_by_others(self, job, pids):
        """Partners another user's Outlook holds too: an undo never archives them, since
        their sync would then delete that user's own Outlook contact (R9)."""
        others = {}
        for model in ("microsoft.contacts.link", "microsoft.contacts.default.folder.link"):
            rows = (
                self.env[model]
                .sudo()
                .search_read(
                    [
                        ("partner_id", "in", pids),
                        ("account_id", "!=", job.account.id),
                        ("detached", "=", False),
                    ],
                    ["partner_id"],
                    load=None,
                )
            )
            for row in rows:
                others[row["partner_id"]] = self.env._(
                    "another user syncs this contact with their Outlook; archiving it would "
                    "delete it there"
                )
        return others

    @api.model
    def _undo_partners(self, work, pids):
        """The partners the lines name, as they are now (those deleted since are missing)."""
        Sudo = work.job.Partner.sudo().with_context(active_test=False)
        rows = Sudo.browse(pids).exists().read([*PARTNER_COLUMNS, "active"], load=None)
        values = self._planner_values(work.job, rows)
        partners = {
            row["id"]: su.PartnerNow(row["active"], vals)
            for row, vals in zip(rows, values, strict=True)
        }
        work.partners = set(partners)
        return partners

    @api.model
    def _lines_undone(self, run):
        """Lines of `run` that an earlier undo of it put back."""
        rows = (
            self.env["microsoft.contacts.sync.run.line"]
            .sudo()
            .search_read(
                [
                    ("run_id", "in", run.undo_ids.ids),
                    ("status", "=", "success"),
                    ("undo_line_id", "!=", False),
                ],
                ["undo_line_id"],
                load=None,
            )
        )
        return {row["undo_line_id"] for row in rows}

    @api.model
    def _touched_later(self, work, pids, oids):
        """The first later run (undos of this run aside) that changed each partner and each
        Outlook contact again, in one query: partner id -> Touch, Outlook id -> Touch."""
        job, run = work.job, work.run
        if not pids and not oids:
            return {}, {}
        rows = (
            self.env["microsoft.contacts.sync.run.line"]
            .sudo()
            .search_read(
                [
                    ("run_id.account_id", "=", job.account.id),
                    ("run_id", ">", run.id),
                    ("run_id", "not in", run.undo_ids.ids),
                    ("status", "=", "success"),
                    ("action", "in", CHANGING_ACTIONS),
                    "|",
                    ("partner_id", "in", pids),
                    ("external_id", "in", oids),
                ],
                ["run_id", "partner_id", "external_id"],
                order="run_id, id",
                load=None,
            )
        )
        runs = self.env["microsoft.contacts.sync.run"].sudo().browse({r["run_id"] for r in rows})
        when = {
            later.id: fields.Datetime.context_timestamp(job.Partner, later.started_at).strftime(
                "%Y-%m-%d %H:%M"
            )
            for later in runs
        }
        by_partner, by_item = {}, {}
        for row in rows:
            touch = su.Touch(row["run_id"], when[row["run_id"]])
            if row["partner_id"]:
                by_partner.setdefault(row["partner_id"], touch)
            if row["external_id"]:
                by_item.setdefault(row["external_id"], touch)
        return by_partner, by_item

    @api.model
    def _undo_links_now(self, job, pids, oids):
        """The account's link rows (of every target) of these partners and Outlook contacts."""
        links = []
        for target, model in LINK_MODELS.items():
            rows = (
                self.env[model]
                .sudo()
                .search_read(
                    [
                        ("account_id", "=", job.account.id),
                        "|",
                        ("partner_ref", "in", pids),
                        ("outlook_id", "in", oids),
                    ],
                    ["partner_ref", "outlook_id", "change_key", "snapshot"],
                    load=None,
                )
            )
            links += [
                su.LinkNow(
                    target,
                    row["partner_ref"] or 0,
                    row["outlook_id"],
                    row["change_key"] or None,
                    _snapshot(row["snapshot"]) if row["snapshot"] else None,
                )
                for row in rows
            ]
        return links

    # -- applying it ----------------------------------------------------------------------

    @api.model
    def _apply_undo_chunk(self, work, records):
        """Outlook's steps of the records in $batch, then Odoo's and the links' of those that
        went through; a line per step done and per record not undone."""
        todo = [record for record in records if record.refusal is None]
        outlook = [record for record in todo if record.outlook_step]
        if outlook:
            self._undo_in_outlook(work, outlook)
        self._undo_in_odoo(work, [record for record in todo if record.refusal is None])
        for record in records:
            self._undo_lines(work, record)

    @api.model
    def _undo_folder(self, work):
        """The synced folder the run wrote to; None when a reset let go of it since."""
        job, account = work.job, work.job.account
        if job.folder is None and account.folder_id and not account.folder_reset:
            job.client = job.client or account._get_graph_client(deadline=job.deadline)
            job.folder = ContactFolder(job.client, account.folder_id)
        return job.folder

    @api.model
    def _undo_in_outlook(self, work, records):
        folder = self._undo_folder(work)
        if folder is None or work.wait:
            why = work.wait or self.env._("the Outlook sync was reset since; nothing was sent")
            for record in records:
                record.refusal = su.Reason(su.FAILED_TEXT, {"error": why})
            return
        results = dict(self._copies_made_before(work, folder, records))
        to_send = [record for record in records if id(record) not in results]
        writes = [
            ContactWrite(
                WRITE_OF_STEP[record.outlook_step.kind],
                contact_id=None
                if record.outlook_step.kind == su.CREATE_AGAIN
                else record.outlook_id,
                body=record.outlook_step.payload,
                if_match=record.outlook_step.if_match,
            )
            for record in to_send
        ]
        try:
            sent = folder.write_contacts(writes) if writes else []
        except PacingDeadlineError as error:
            sent = error.write_results
            work.wait = self.env._(
                "Microsoft Graph asked to wait until %(time)s (UTC): the contacts not put back "
                "yet can be, by undoing this run again then.",
                time=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(error.retry_at)),
            )
        results.update(zip((id(record) for record in to_send), sent, strict=True))
        for record in records:
            result = results[id(record)]
            step = record.outlook_step
            if result is None:
                record.refusal = su.Reason(su.FAILED_TEXT, {"error": work.wait})
            elif not result.ok:
                changed = result.status in CHANGED_IN_OUTLOOK and step.kind != su.CREATE_AGAIN
                record.refusal = (
                    su.Reason(su.OUTLOOK_CHANGED_TEXT, {"run": work.run.id})
                    if changed
                    else su.Reason(su.FAILED_TEXT, {"error": result.error[:300]})
                )
            else:
                outcome = work.outcome(record)
                outcome.result = result
                outcome.done.append(step)

    @api.model
    def _copies_made_before(self, work, folder, records):
        """Copies to create again that an earlier undo created already, before a crash lost
        their link: found by our extended property, linked instead of made twice. Yields
        (id(record), WriteResult) for those found or unreadable now."""
        again = [r for r in records if r.outlook_step.kind == su.CREATE_AGAIN]
        if not again:
            return
        uuid = self._database_uuid()
        refs = {id(record): partner_ref_value(uuid, record.partner_id) for record in again}
        found = folder.find_by_property(PARTNER_REF_PROPERTY_ID, sorted(set(refs.values())))
        for record in again:
            item = found.get(refs[id(record)])
            if item is False:
                error = self.env._("Outlook could not be read now; undo this run again later")
                yield id(record), WriteResult(False, error=error)
            elif item:
                change_key = item.get("changeKey")
                yield (
                    id(record),
                    WriteResult(
                        True,
                        contact_id=item["id"],
                        change_key=change_key if isinstance(change_key, str) else None,
                    ),
                )

    @api.model
    def _undo_in_odoo(self, work, records):
        """Odoo's steps and the links of these records: together in one savepoint, else one
        record at a time to find the one Odoo refuses (a line says why)."""
        if not records:
            return
        try:
            with self.env.cr.savepoint():
                self._undo_odoo_writes(work, records)
        except Exception:
            for record in records:
                try:
                    with self.env.cr.savepoint():
                        self._undo_odoo_writes(work, [record])
                except Exception as error:
                    reason = str(error)
                    if isinstance(error, AccessError):
                        reason = self.env._("not allowed: %s", reason)
                    failure = su.Reason(su.FAILED_TEXT, {"error": reason[:300]})
                    if work.outcome(record).done:
                        # Outlook was written: its pair must say so, whatever Odoo refused.
                        work.outcome(record).failure = failure
                        with self.env.cr.savepoint():
                            self._undo_links(work, [record])
                    else:
                        record.refusal = failure
                    continue
                self._undo_odoo_done(work, [record])
            return
        self._undo_odoo_done(work, records)

    @api.model
    def _undo_odoo_done(self, work, records):
        for record in records:
            work.outcome(record).done += [s for s in record.steps if s.kind not in su.OUTLOOK_STEPS]

    @api.model
    def _undo_odoo_writes(self, work, records):
        """Partners as the account's user (what the user may not do raises here, as in the UI);
        the links as bookkeeping. Partners receiving the same values are written at once."""
        Partner = work.job.Partner.with_context(active_test=False)
        steps = [step for record in records for step in record.steps]
        archive = [step.partner_id for step in steps if step.kind == su.ARCHIVE]
        if archive:
            Partner.browse(archive).write({"active": False})
        restore = [step.partner_id for step in steps if step.kind == su.RESTORE]
        if restore:
            Partner.browse(restore).write({"active": True})
        writes = {}
        for step in steps:
            if step.kind == su.PUT_BACK_ODOO:
                vals = self._restored_values(Partner, step.values)
                writes.setdefault(repr(sorted(vals.items())), (vals, []))[1].append(step.partner_id)
        for vals, partner_ids in writes.values():
            Partner.browse(partner_ids).write(vals)
        self._undo_links(work, records)

    @api.model
    def _restored_values(self, Partner, values):
        """res.partner values as a line kept them (sync.undo.odoo_columns), ready to write."""
        vals = {}
        for column, value in values.items():
            field = Partner._fields.get(column)
            if field is None:
                continue
            if field.type == "many2many":
                vals[column] = [Command.set(value or [])]
            else:
                vals[column] = value
        return vals

    @api.model
    def _undo_links(self, work, records):
        """What becomes of each record's pair (sync.undo's link ops), grouped per kind."""
        job = work.job
        account, now = job.account, fields.Datetime.now()
        by_op = {}
        for record in records:
            if record.link_op:
                by_op.setdefault(record.link_op, []).append(record)
        if not by_op:
            return
        rows = {}
        for target, model in LINK_MODELS.items():
            oids = [r.outlook_id for r in records if r.target == target and r.outlook_id]
            if oids:
                found = (
                    self.env[model]
                    .sudo()
                    .search([("account_id", "=", account.id), ("outlook_id", "in", oids)])
                )
                rows.update({(target, row.outlook_id): row for row in found})

        def rows_of(op):
            """The rows of the records of `op`, one recordset per link model."""
            ids = {}
            for record in by_op.get(op, []):
                row = rows.get((record.target, record.outlook_id))
                if row:
                    ids.setdefault(row._name, []).append(row.id)
            return [self.env[model].sudo().browse(row_ids) for model, row_ids in ids.items()]

        for found in rows_of(su.FORGET_PARTNER):
            found.unlink()
        for found in rows_of(su.LEAVE_OUT_ITEM):
            found.write({"partner_id": False, "partner_ref": 0})
        for found in rows_of(su.STOP_IMPORT):
            found.write({"detached": True, "synced_at": now})
        new_rows = []
        for record in by_op.get(su.NEW_LEFT_OUT, []):
            result = work.outcome(record).result
            pid = record.partner_id
            new_rows.append(
                {
                    "account_id": account.id,
                    "partner_id": pid if pid in work.partners else False,
                    "partner_ref": pid,
                    "outlook_id": result.contact_id,
                    "change_key": result.change_key or False,
                    "snapshot": json.dumps(record.snapshot.to_json(), sort_keys=True),
                    "fingerprint": record.snapshot.fingerprint(),
                    "detached": True,
                    "excluded": True,
                    "created_in_outlook": True,
                    "label": record.label or False,
                    "synced_at": now,
                }
            )
        self.env["microsoft.contacts.link"].sudo().create(new_rows)
        left_out = [(r.partner_id, None, r.label) for r in by_op.get(su.FORGET_PARTNER, [])]
        left_out += [(0, r.outlook_id, r.label) for r in by_op.get(su.LEAVE_OUT_ITEM, [])]
        pairs = by_op.get(su.LEAVE_OUT_PAIR, [])
        left_out += [(r.partner_id, r.outlook_id, r.label) for r in pairs]
        if left_out:
            account._leave_out([(pid or 0, oid, label or False) for pid, oid, label in left_out])
        # Taken in again, a pair the run made is matched anew, as on a first sync.
        if pairs:
            self.env["microsoft.contacts.link"].sudo().search(
                [
                    ("account_id", "=", account.id),
                    ("outlook_id", "in", [r.outlook_id for r in pairs]),
                ]
            ).write({"snapshot": False, "fingerprint": False})

    # -- the log --------------------------------------------------------------------------

    @api.model
    def _undo_lines(self, work, record):
        """A line per step done (naming the line it undid), and one for what was not done."""
        job = work.job
        name, email = work.labels.get(record.line_ids[0], (None, None))
        pid = record.partner_id if record.partner_id in work.partners else False
        base = {
            "partner_id": pid,
            "external_id": record.outlook_id or False,
            "name": name or False,
            "email": email or False,
            "record_type": "existing",
        }
        outcome = work.outcomes.get(id(record)) or _Outcome()
        for step in outcome.done:
            action, direction = LINE_OF_STEP[step.kind]
            line = {
                **base,
                "action": action,
                "direction": direction,
                "status": "success",
                "reason": step.reason.describe(work.translate)[:500],
                "undo_line_id": step.line_id,
            }
            if step.kind == su.CREATE_AGAIN and outcome.result:
                line["external_id"] = outcome.result.contact_id
            count = COUNT_OF_ACTION.get(action)
            if count:
                job.counts[count] += 1
            job.lines.append(line)
        failure = outcome.failure or (record.refusal if not outcome.done else None)
        if failure is not None:
            outlook = record.outlook_step
            failed_in_outlook = outlook is not None and outlook not in outcome.done
            job.counts["failed"] += 1
            job.lines.append(
                {
                    **base,
                    "action": "refused",
                    "direction": "to_outlook" if failed_in_outlook else "to_odoo",
                    "status": "failed",
                    "reason": failure.describe(work.translate)[:500],
                }
            )

    @api.model
    def _toast_undo(self, user, undo):
        failed = undo.state == "failed"
        user.partner_id._bus_send(
            "simple_notification",
            {
                "type": "danger" if failed else "warning" if undo.count_failed else "success",
                "title": self.env._("Undo failed") if failed else self.env._("Run undone"),
                "message": undo._get_summary_message(),
                "sticky": failed,
            },
        )
