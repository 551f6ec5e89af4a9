"""Undoing a run: what each record of it needs put back, and whether it still may be (pure).

A run's log line keeps, for every action that changed a contact or paired two, what the undo
needs (``line_undo_data``): the fields it changed with their previous and new values (Odoo's
side also as the res.partner values it overwrote, so that they come back exactly), the last
synced snapshot of an Outlook copy it deleted, and which record (plan group) it belonged to.

``plan_undo`` turns a run's lines into one ``UndoRecord`` per record: the steps that put it
back, in the order they are applied (Outlook first, then Odoo, then the link), or why it is
not undone. A record is undone whole or not at all: a later run changed it again, Odoo's
values are no longer what the run wrote, the user may not make the write, or the link it
needs is gone. What Outlook changed since the run is found by the writes themselves
(If-Match): the adapter reports it.

What becomes of a record afterwards (see README.md, "Undoing a run"):
- fields put back count as edits made after the run: the next sync carries them to the
  other side, as it carries any edit (the link stays as the run left it);
- where the next sync would only do the run's work again (a contact it created, a pair it
  made, an Outlook copy it deleted because the Odoo contact is archived or out of scope),
  the record is left out of the user's sync instead, until the user takes it in again;
- a partner it archived is active again: the next sync copies it to Outlook again.

The words of the reasons (``TEXTS``) go through the adapter's ``translate``, as in
``preview.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .contact import Contact, Snapshot
from .mapping import (
    FIELD_LABELS,
    FIELDS,
    MERGE_FIELDS,
    MappingContext,
    build_outlook_patch,
    check_payload_limits,
    contact_to_graph,
    odoo_to_contact,
    partner_ref_value,
)
from .planner import (
    ARCHIVE_PARTNER,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    LINK,
    RECREATE_IN_OUTLOOK,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
    Action,
)
from .problems import describe as describe_problems

UNDO_DATA_VERSION = 1
# The actions a line keeps undo data for: they changed a contact, or paired two.
UNDOABLE_KINDS = frozenset(
    {
        CREATE_IN_OUTLOOK,
        RECREATE_IN_OUTLOOK,
        UPDATE_OUTLOOK,
        DELETE_IN_OUTLOOK,
        CREATE_IN_ODOO,
        UPDATE_ODOO,
        ARCHIVE_PARTNER,
        LINK,
    }
)
# The sync target whose links hold the synced folder's pairs; the others are imported one way.
SYNCED_FOLDER = "folder"

# Steps, in the order a record's steps are applied.
PUT_BACK_OUTLOOK = "put_back_outlook"  # PATCH the previous values (If-Match)
DELETE_COPY = "delete_copy"  # DELETE the Outlook copy the run created (If-Match)
CREATE_AGAIN = "create_again"  # POST the Outlook copy the run deleted, as last synced
PUT_BACK_ODOO = "put_back_odoo"  # write the res.partner values the run overwrote
ARCHIVE = "archive"  # the partner the run created
RESTORE = "restore"  # unarchive the partner the run archived
LEAVE_OUT = "leave_out"  # the pair the run made is kept apart (no contact written)
NOTHING = "nothing"  # already as before the run
OUTLOOK_STEPS = frozenset({PUT_BACK_OUTLOOK, DELETE_COPY, CREATE_AGAIN})
ODOO_STEPS = frozenset({PUT_BACK_ODOO, ARCHIVE, RESTORE})

# What becomes of the record's link once its steps are done (None: the link stays as it is).
FORGET_PARTNER = "forget_partner"  # no row; the partner is left out of the user's scope
LEAVE_OUT_ITEM = "leave_out_item"  # the row holds the Outlook contact alone, left out
LEAVE_OUT_PAIR = "leave_out_pair"  # the row is left out; its snapshot is dropped
NEW_LEFT_OUT = "new_left_out"  # a new row for the copy created again, left out
STOP_IMPORT = "stop_import"  # a one-way import's row is detached: no longer imported

# The words of the reasons, before translation.
PUT_BACK_TEXT = "put back as before run #%(run)s: %(fields)s"
DELETE_COPY_TEXT = (
    "created in Outlook by run #%(run)s: deleted there; the contact is left out of your "
    "sync until you take it in again"
)
CREATE_AGAIN_TEXT = (
    "deleted in Outlook by run #%(run)s: created again there as it was last synced, and left "
    "out of your sync until you take it in again"
)
ARCHIVE_TEXT = (
    "created in Odoo by run #%(run)s: archived; its Outlook contact is left out of your sync "
    "until you take it in again"
)
ARCHIVE_IMPORT_TEXT = (
    "imported by run #%(run)s: archived; its Outlook contact is no longer imported"
)
RESTORE_TEXT = "archived by run #%(run)s: restored"
LEAVE_OUT_TEXT = (
    "paired by run #%(run)s: the two contacts are kept apart, left out of your sync until "
    "you take them in again"
)
STOP_IMPORT_TEXT = "paired by run #%(run)s: this Outlook contact is no longer imported"
ALREADY_TEXT = "already as before run #%(run)s"
LATER_RUN_TEXT = "not undone: changed again by run #%(later)s on %(date)s"
ODOO_CHANGED_TEXT = "not undone: changed in Odoo since run #%(run)s (%(fields)s)"
OUTLOOK_CHANGED_TEXT = "not undone: changed in Outlook since run #%(run)s"
PARTNER_GONE_TEXT = "not undone: the Odoo contact was deleted since run #%(run)s"
NOT_LINKED_TEXT = "not undone: this contact is no longer synced with that Outlook contact"
LINKED_AGAIN_TEXT = "not undone: this contact is synced with an Outlook contact again"
NO_SNAPSHOT_TEXT = "not undone: run #%(run)s kept no synced version of this contact"
NOT_ALLOWED_TEXT = "not undone: not allowed: %(why)s"
INVALID_TEXT = "not undone: %(why)s"
FAILED_TEXT = "not undone: %(error)s"
TEXTS = frozenset(
    {
        PUT_BACK_TEXT,
        DELETE_COPY_TEXT,
        CREATE_AGAIN_TEXT,
        ARCHIVE_TEXT,
        ARCHIVE_IMPORT_TEXT,
        RESTORE_TEXT,
        LEAVE_OUT_TEXT,
        STOP_IMPORT_TEXT,
        ALREADY_TEXT,
        LATER_RUN_TEXT,
        ODOO_CHANGED_TEXT,
        OUTLOOK_CHANGED_TEXT,
        PARTNER_GONE_TEXT,
        NOT_LINKED_TEXT,
        LINKED_AGAIN_TEXT,
        NO_SNAPSHOT_TEXT,
        NOT_ALLOWED_TEXT,
        INVALID_TEXT,
        FAILED_TEXT,
        *FIELD_LABELS.values(),
    }
)


def _untranslated(text: str) -> str:
    return text


@dataclass(frozen=True)
class Reason:
    """A sentence of ``TEXTS`` and its values; ``fields`` (merge fields) are named by label."""

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, translate: Callable[[str], str] = _untranslated) -> str:
        params = dict(self.params)
        if "fields" in params:
            params["fields"] = ", ".join(translate(FIELD_LABELS[f]) for f in params["fields"])
        return translate(self.text) % params


# --- what a line keeps -------------------------------------------------------------------------


def odoo_columns(value_keys: Iterable[str]) -> list[str]:
    """The res.partner columns that planner values with these keys (mapping.ODOO_KEYS) write."""
    keys = set(value_keys)
    if keys & {"country_code", "state_code", "state_name"}:
        keys |= {"country_code", "state_code", "state_name"}  # written together
    columns = []
    for mapped in FIELDS:
        if keys & set(mapped.odoo_keys):
            columns += [c for c in mapped.columns if c not in columns]
    return columns


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def line_undo_data(
    action: Action,
    *,
    target: str,
    partner_id: int | None,
    outlook_id: str | None,
    before: Mapping[str, Any] | None = None,
    snapshot: Mapping[str, Any] | None = None,
) -> dict | None:
    """What the log line of a successful action keeps for an undo (JSON), or None.

    ``before``: the res.partner values an ``update_odoo`` overwrote (its columns only);
    ``snapshot``: the link's snapshot (JSON) before a ``delete_in_outlook``.
    """
    if action.kind not in UNDOABLE_KINDS:
        return None
    data: dict[str, Any] = {
        "v": UNDO_DATA_VERSION,
        "kind": action.kind,
        "target": target,
        "group": action.group,
    }
    if partner_id and partner_id > 0:
        data["partner"] = partner_id
    if outlook_id:
        data["outlook"] = outlook_id
    if action.changes:
        data["changes"] = {c.field: [_jsonable(c.old), _jsonable(c.new)] for c in action.changes}
    if before is not None and action.kind == UPDATE_ODOO:
        data["before"] = dict(before)
    if snapshot is not None and action.kind == DELETE_IN_OUTLOOK:
        data["snapshot"] = snapshot
    return data


def _field_value(name: str, value: Any) -> Any:
    if name == "state":
        parts = list(value) if isinstance(value, list | tuple) else []
        parts = [p if isinstance(p, str) else "" for p in parts[:2]]
        return tuple(parts + [""] * (2 - len(parts)))
    if name == "categories":
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Entry:
    """One line of the run to undo, read back from what it kept."""

    line_id: int
    run_id: int
    kind: str
    target: str
    group: str
    partner_id: int | None = None
    outlook_id: str | None = None
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    before: Mapping[str, Any] | None = None
    snapshot: Snapshot | None = None
    label: str = ""  # how the Left Out tab names the record

    @classmethod
    def of(cls, line_id: int, run_id: int, data: Any, label: str = "") -> Entry | None:
        """Tolerant: what cannot be read is None (the line is then not undone)."""
        if not isinstance(data, Mapping) or data.get("kind") not in UNDOABLE_KINDS:
            return None
        changes = {}
        raw_changes = data.get("changes")
        if isinstance(raw_changes, Mapping):
            # In the mapping's order (JSON columns may not keep the order they were given).
            for name in MERGE_FIELDS:
                pair = raw_changes.get(name)
                if isinstance(pair, list) and len(pair) == 2:
                    changes[name] = (_field_value(name, pair[0]), _field_value(name, pair[1]))
        partner = data.get("partner")
        outlook = data.get("outlook")
        before = data.get("before")
        snapshot = data.get("snapshot")
        return cls(
            line_id=line_id,
            run_id=run_id,
            kind=data["kind"],
            target=data.get("target") if isinstance(data.get("target"), str) else SYNCED_FOLDER,
            group=data.get("group") if isinstance(data.get("group"), str) else f"line:{line_id}",
            partner_id=partner if isinstance(partner, int) and partner > 0 else None,
            outlook_id=outlook if isinstance(outlook, str) and outlook else None,
            changes=changes,
            before=before if isinstance(before, Mapping) else None,
            snapshot=Snapshot.from_json(snapshot) if isinstance(snapshot, Mapping) else None,
            label=label,
        )


# --- the state now -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    """A later run that changed a record (a partner, or an Outlook contact) again."""

    run_id: int
    when: str  # its start, as the user reads it


@dataclass(frozen=True)
class PartnerNow:
    """An Odoo contact as it is now: active or not, and its values as the planner reads them
    (mapping.ODOO_KEYS)."""

    active: bool
    values: Mapping[str, Any]


@dataclass(frozen=True)
class LinkNow:
    """A link row of the account now, of one target."""

    target: str
    partner_id: int  # 0 for an Outlook contact alone
    outlook_id: str
    change_key: str | None = None
    snapshot: Snapshot | None = None


# --- the undo ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoStep:
    kind: str
    line_id: int  # the line of the run this step undoes
    reason: Reason
    partner_id: int | None = None
    outlook_id: str | None = None
    payload: Mapping[str, Any] | None = None  # Graph body (PATCH or POST)
    if_match: str | None = None
    values: Mapping[str, Any] | None = None  # res.partner values to write back


@dataclass
class UndoRecord:
    """One record of the run: its steps and what becomes of its link, or why not."""

    target: str
    group: str
    partner_id: int | None
    outlook_id: str | None
    line_ids: tuple[int, ...]
    label: str = ""
    steps: list[UndoStep] = field(default_factory=list)
    link_op: str | None = None
    snapshot: Snapshot | None = None  # the row NEW_LEFT_OUT makes
    refusal: Reason | None = None

    @property
    def outlook_step(self) -> UndoStep | None:
        return next((s for s in self.steps if s.kind in OUTLOOK_STEPS), None)


@dataclass
class UndoPlan:
    records: list[UndoRecord] = field(default_factory=list)

    @property
    def refused(self) -> list[UndoRecord]:
        return [r for r in self.records if r.refusal is not None]

    @property
    def undone(self) -> list[UndoRecord]:
        return [r for r in self.records if r.refusal is None]


class _Refused(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.text)
        self.reason = reason


def _contact_of(values: Mapping[str, Any]) -> Contact:
    contact = Contact()
    for name, value in values.items():
        contact = contact.with_value(name, value)
    return contact


class _UndoPlanner:
    def __init__(self, *, partners, links, touches, not_writable, not_archivable, uuid, ctx):
        self.partners = partners
        self.links = {}
        for link in links:
            if link.partner_id:
                self.links[link.target, "partner", link.partner_id] = link
            self.links[link.target, "outlook", link.outlook_id] = link
        self.by_partner, self.by_item = touches
        self.not_writable = not_writable
        self.not_archivable = not_archivable
        self.uuid = uuid
        self.ctx = ctx

    def record(self, entries: list[Entry]) -> UndoRecord:
        first = entries[0]
        partner_id = next((e.partner_id for e in entries if e.partner_id), None)
        outlook_id = next((e.outlook_id for e in entries if e.outlook_id), None)
        record = UndoRecord(
            target=first.target,
            group=first.group,
            partner_id=partner_id,
            outlook_id=outlook_id,
            line_ids=tuple(e.line_id for e in entries),
            label=next((e.label for e in entries if e.label), ""),
        )
        try:
            self._check_later_runs(entries)
            by_kind = {e.kind: e for e in entries}
            for kinds, plan in (
                ((CREATE_IN_OUTLOOK, RECREATE_IN_OUTLOOK), self._delete_copy),
                ((DELETE_IN_OUTLOOK,), self._create_again),
                ((UPDATE_OUTLOOK,), self._put_back_outlook),
                ((CREATE_IN_ODOO,), self._archive),
                ((UPDATE_ODOO,), self._put_back_odoo),
                ((ARCHIVE_PARTNER,), self._restore),
                ((LINK,), self._leave_out),
            ):
                for kind in kinds:
                    if kind in by_kind:
                        plan(record, by_kind[kind])
        except _Refused as refused:
            record.steps, record.link_op, record.snapshot = [], None, None
            record.refusal = refused.reason
        return record

    # -- checks ---------------------------------------------------------------------------------

    def _check_later_runs(self, entries: list[Entry]) -> None:
        touches = [self.by_partner.get(e.partner_id) for e in entries if e.partner_id]
        touches += [self.by_item.get(e.outlook_id) for e in entries if e.outlook_id]
        touches = [t for t in touches if t is not None]
        if touches:
            later = min(touches, key=lambda t: t.run_id)
            raise _Refused(Reason(LATER_RUN_TEXT, {"later": later.run_id, "date": later.when}))

    def _partner(self, entry: Entry) -> PartnerNow:
        partner = self.partners.get(entry.partner_id) if entry.partner_id else None
        if partner is None:
            raise _Refused(Reason(PARTNER_GONE_TEXT, {"run": entry.run_id}))
        return partner

    def _link(self, entry: Entry) -> LinkNow:
        link = self.links.get((entry.target, "outlook", entry.outlook_id))
        if link is None or (entry.partner_id and link.partner_id != entry.partner_id):
            raise _Refused(Reason(NOT_LINKED_TEXT))
        return link

    def _writable(self, entry: Entry, rights: Mapping[int, str]) -> None:
        why = rights.get(entry.partner_id)
        if why:
            raise _Refused(Reason(NOT_ALLOWED_TEXT, {"why": why}))

    def _unchanged_in_odoo(self, entry: Entry, partner: PartnerNow, side: int) -> bool:
        """Whether Odoo holds what the run wrote (side 1) or had (side 0) in these fields."""
        now, _problems = odoo_to_contact(partner.values, self.ctx)
        wanted = _contact_of({name: pair[side] for name, pair in entry.changes.items()})
        return all(now.key(name) == wanted.key(name) for name in entry.changes)

    def _check_odoo_unchanged(self, entry: Entry, partner: PartnerNow) -> None:
        if not self._unchanged_in_odoo(entry, partner, 1):
            now, _problems = odoo_to_contact(partner.values, self.ctx)
            wanted = _contact_of({name: pair[1] for name, pair in entry.changes.items()})
            changed = tuple(n for n in entry.changes if now.key(n) != wanted.key(n))
            raise _Refused(Reason(ODOO_CHANGED_TEXT, {"run": entry.run_id, "fields": changed}))

    # -- per kind -------------------------------------------------------------------------------

    def _step(self, record, entry, kind, text, *, fields=None, **extra):
        """Add a step undoing `entry`; its reason names the run (and the fields, if any)."""
        params = (
            {"run": entry.run_id} if fields is None else {"run": entry.run_id, "fields": fields}
        )
        extra.setdefault("partner_id", entry.partner_id)
        record.steps.append(
            UndoStep(
                kind, entry.line_id, Reason(text, params), outlook_id=entry.outlook_id, **extra
            )
        )

    def _already(self, record, entry):
        """Nothing to do: the record is as it was before the run."""
        record.steps.append(
            UndoStep(NOTHING, entry.line_id, Reason(ALREADY_TEXT, {"run": entry.run_id}))
        )

    def _delete_copy(self, record: UndoRecord, entry: Entry) -> None:
        link = self._link(entry)
        if not link.change_key:
            raise _Refused(Reason(NOT_LINKED_TEXT))
        self._step(record, entry, DELETE_COPY, DELETE_COPY_TEXT, if_match=link.change_key)
        record.link_op = FORGET_PARTNER

    def _create_again(self, record: UndoRecord, entry: Entry) -> None:
        if entry.snapshot is None or not entry.partner_id:
            raise _Refused(Reason(NO_SNAPSHOT_TEXT, {"run": entry.run_id}))
        if (entry.target, "partner", entry.partner_id) in self.links:
            raise _Refused(Reason(LINKED_AGAIN_TEXT))
        snapshot = entry.snapshot
        payload = contact_to_graph(
            snapshot.outlook,
            self.ctx,
            snapshot.outlook_state,
            partner_ref=partner_ref_value(self.uuid, entry.partner_id),
        )
        problems = [p for p in check_payload_limits(payload) if p.is_error]
        if problems:
            raise _Refused(Reason(INVALID_TEXT, {"why": describe_problems(problems)}))
        self._step(record, entry, CREATE_AGAIN, CREATE_AGAIN_TEXT, payload=payload)
        record.link_op, record.snapshot = NEW_LEFT_OUT, snapshot

    def _put_back_outlook(self, record: UndoRecord, entry: Entry) -> None:
        link = self._link(entry)
        if link.snapshot is None or not link.change_key:
            raise _Refused(Reason(NOT_LINKED_TEXT))
        current, state = link.snapshot.outlook, link.snapshot.outlook_state
        target = current
        for name, (old, _new) in entry.changes.items():
            target = target.with_value(name, old)
        patch = build_outlook_patch(current, state, target, self.ctx)
        if not patch:
            self._already(record, entry)
            return
        problems = [p for p in check_payload_limits(patch) if p.is_error]
        if problems:
            raise _Refused(Reason(INVALID_TEXT, {"why": describe_problems(problems)}))
        fields_ = tuple(n for n in entry.changes if current.key(n) != target.key(n))
        self._step(
            record,
            entry,
            PUT_BACK_OUTLOOK,
            PUT_BACK_TEXT,
            fields=fields_,
            partner_id=entry.partner_id or record.partner_id,
            payload=patch,
            if_match=link.change_key,
        )

    def _archive(self, record: UndoRecord, entry: Entry) -> None:
        partner = self._partner(entry)
        record.link_op = LEAVE_OUT_ITEM if entry.target == SYNCED_FOLDER else STOP_IMPORT
        if not partner.active:
            self._already(record, entry)
            return
        self._writable(entry, self.not_archivable)
        self._check_odoo_unchanged(entry, partner)
        text = ARCHIVE_TEXT if entry.target == SYNCED_FOLDER else ARCHIVE_IMPORT_TEXT
        self._step(record, entry, ARCHIVE, text)

    def _put_back_odoo(self, record: UndoRecord, entry: Entry) -> None:
        partner = self._partner(entry)
        if entry.before is None:
            raise _Refused(Reason(NO_SNAPSHOT_TEXT, {"run": entry.run_id}))
        if self._unchanged_in_odoo(entry, partner, 0):
            self._already(record, entry)
            return
        self._writable(entry, self.not_writable)
        self._check_odoo_unchanged(entry, partner)
        self._step(
            record,
            entry,
            PUT_BACK_ODOO,
            PUT_BACK_TEXT,
            fields=tuple(entry.changes),
            values=dict(entry.before),
        )

    def _restore(self, record: UndoRecord, entry: Entry) -> None:
        partner = self._partner(entry)
        if partner.active:
            self._already(record, entry)
            return
        self._writable(entry, self.not_writable)
        self._step(record, entry, RESTORE, RESTORE_TEXT)

    def _leave_out(self, record: UndoRecord, entry: Entry) -> None:
        folder = entry.target == SYNCED_FOLDER
        self._step(record, entry, LEAVE_OUT, LEAVE_OUT_TEXT if folder else STOP_IMPORT_TEXT)
        record.link_op = record.link_op or (LEAVE_OUT_PAIR if folder else STOP_IMPORT)


def plan_undo(
    entries: Iterable[Entry],
    *,
    partners: Mapping[int, PartnerNow],
    links: Iterable[LinkNow] = (),
    touched_partners: Mapping[int, Touch] | None = None,
    touched_items: Mapping[str, Touch] | None = None,
    undone: Iterable[int] = (),
    not_writable: Mapping[int, str] | None = None,
    not_archivable: Mapping[int, str] | None = None,
    database_uuid: str,
    ctx: MappingContext | None = None,
) -> UndoPlan:
    """The undo of a run, record by record (in the order of their first line).

    ``entries``: the run's lines that kept undo data; ``undone``: those of them an earlier undo
    of this run put back already (left alone); ``touched_partners`` / ``touched_items``: the
    first later run (undos of this run aside) that changed each partner or Outlook contact;
    ``partners``: the Odoo contacts the entries name, as they are now (a missing one was
    deleted); ``links``: the account's link rows of those records; ``not_writable`` /
    ``not_archivable``: what the user whose sync it is may not do to them (id -> why).
    """
    done = set(undone)
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in sorted(entries, key=lambda e: e.line_id):
        if entry.line_id not in done:
            groups.setdefault((entry.target, entry.group), []).append(entry)
    # A record whose partner the run created has it on the creating line only.
    for group_entries in groups.values():
        pid = next((e.partner_id for e in group_entries if e.partner_id), None)
        if pid:
            group_entries[:] = [
                e if e.partner_id else replace(e, partner_id=pid) for e in group_entries
            ]
    planner = _UndoPlanner(
        partners=partners,
        links=links,
        touches=(touched_partners or {}, touched_items or {}),
        not_writable=not_writable or {},
        not_archivable=not_archivable or {},
        uuid=database_uuid,
        ctx=ctx or MappingContext(),
    )
    return UndoPlan([planner.record(group_entries) for group_entries in groups.values()])
