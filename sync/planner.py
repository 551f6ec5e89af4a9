"""The planner: links + Outlook delta + Odoo side + policies -> a Plan (data, no I/O).

The Odoo adapter shows a Plan as a preview or applies it; README.md says how.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import problems as P
from .contact import Contact, Snapshot
from .mapping import (
    FIELD_LABELS,
    MERGE_FIELDS,
    MappingContext,
    ParsedItem,
    apply_patch,
    build_outlook_patch,
    check_payload_limits,
    contact_to_graph,
    contact_to_odoo_values,
    odoo_to_contact,
    parse_graph_contact,
    partner_ref_value,
    recreate_body,
    validate_contact,
)
from .matcher import BY_PROPERTY, Match, MatchKeys, item_keys, match_items
from .merge import (
    CONFLICT_ODOO,
    NOT_SYNCED,
    ODOO_TO_OUTLOOK,
    OUTLOOK_TO_ODOO,
    TWO_WAY,
    MergeResult,
    field_direction,
    merge_contacts,
)
from .normalize import CountryLookup, CountryResolver
from .photo import (
    NO_PHOTO,
    PHOTO,
    PhotoBase,
    PhotoRule,
    PhotoStep,
    change_reason,
    change_words,
    conflict_words,
    photo_step,
)
from .problems import Problem, has_errors

# Action kinds.
CREATE_IN_OUTLOOK = "create_in_outlook"
UPDATE_OUTLOOK = "update_outlook"
CREATE_IN_ODOO = "create_in_odoo"
UPDATE_ODOO = "update_odoo"
LINK = "link"
UNLINK = "unlink"
ARCHIVE_PARTNER = "archive_partner"
DELETE_IN_OUTLOOK = "delete_in_outlook"
RECREATE_IN_OUTLOOK = "recreate_in_outlook"
CONFLICT = "conflict"
NOT_ALLOWED = "not_allowed"  # the user may not make this change in Odoo: a line, no write
INVALID = "invalid"
SKIP = "skip"
UNCHANGED = "unchanged"
# Photos (sync/photo.py): written after the record's other actions, never failing the record.
UPDATE_OUTLOOK_PHOTO = "update_outlook_photo"
UPDATE_ODOO_PHOTO = "update_odoo_photo"
READ_PHOTO = "read_photo"  # Outlook's photo is read, then decided (it changed, or is unknown)
KEEP_PHOTO = "keep_photo"  # nothing to write: the link records the photos as they are
PHOTO_KINDS = frozenset({UPDATE_OUTLOOK_PHOTO, UPDATE_ODOO_PHOTO, READ_PHOTO, KEEP_PHOTO})

# Directions of an action.
TO_OUTLOOK = "to_outlook"
TO_ODOO = "to_odoo"
NO_DIRECTION = "none"

# What the adapter does with the link row (keyed by account + partner) once the action worked.
LINK_STORE = "store"  # upsert (partner, outlook id, snapshot, change key)
LINK_DETACH = "detach"  # keep the row, mark it detached: the pair is no longer synced
LINK_DELETE = "delete"

# Deletion policies.
OUTLOOK_DELETE_UNLINK = "unlink"
OUTLOOK_DELETE_ARCHIVE = "archive"
OUTLOOK_DELETE_RECREATE = "recreate"
ODOO_DELETE_IN_OUTLOOK = "delete_in_outlook"
ODOO_DELETE_KEEP = "keep"

DELETION_KINDS = frozenset({ARCHIVE_PARTNER, DELETE_IN_OUTLOOK, RECREATE_IN_OUTLOOK, UNLINK})


@dataclass(frozen=True)
class Policies:
    direction: str = TWO_WAY
    conflict: str = CONFLICT_ODOO
    outlook_deletion: str = OUTLOOK_DELETE_UNLINK
    odoo_deletion: str = ODOO_DELETE_IN_OUTLOOK
    outlook_may_clear: bool = False
    sync_categories: bool = True
    sync_photos: bool = False  # photos travel (the adapter gives their checksums)
    mass_delete_ratio: float = 0.10
    mass_delete_minimum: int = 10
    mass_delete_confirmed: bool = False  # the user said yes to this run's deletions
    # Per mapped field (merge unit -> TWO_WAY, ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO, NOT_SYNCED),
    # set by administrators; a field not listed travels both ways. The account's direction
    # applies on top (see field_direction).
    field_directions: tuple[tuple[str, str], ...] = ()

    def field_direction(self, name: str) -> str:
        return field_direction(self.direction, dict(self.field_directions).get(name))

    @property
    def to_outlook(self) -> bool:
        return self.direction in (TWO_WAY, ODOO_TO_OUTLOOK)

    @property
    def to_odoo(self) -> bool:
        return self.direction in (TWO_WAY, OUTLOOK_TO_ODOO)


@dataclass(frozen=True)
class Link:
    """A stored pair. ``resumed``: the user resumed it after a stop, so the adapter read its
    Outlook item again; an item gone meanwhile is created again from Odoo (the user asked for
    this contact in Outlook), whatever the Outlook deletion policy says.
    ``created_in_outlook``: the sync put this item in Outlook (a copy of an Odoo contact);
    otherwise it is the user's own Outlook contact, which no Odoo filter may delete.
    ``photo``: the checksums of both sides' photos when last synced (None: never seen)."""

    outlook_id: str
    partner_id: int
    snapshot: Snapshot | None = None
    change_key: str | None = None
    detached: bool = False
    resumed: bool = False
    created_in_outlook: bool = False
    photo: PhotoBase | None = None


@dataclass(frozen=True)
class OdooPartner:
    partner_id: int
    values: Mapping[str, Any]
    modified: Any = None  # write_date, for the "newest" conflict policy
    photo: str | None = None  # the checksum of its image (photo.NO_PHOTO: none); None: unread


@dataclass(frozen=True)
class OutlookChanges:
    """One delta round (or a full listing with ``complete=True``). ``photos``: the checksums
    of the photos read before planning (item id -> checksum, photo.NO_PHOTO when none); the
    photos of the other items of the round are read by the adapter when it applies the plan
    (READ_PHOTO)."""

    items: Sequence[Any] = ()
    removed: Iterable[str] = ()
    complete: bool = False
    photos: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OdooSide:
    """Partners in scope, and linked partners that left it: id -> archived/deleted/out_of_scope.

    ``held_in_outlook``: partners Outlook already holds in another folder (the user's default
    Contacts folder): matched like the others, never created in the synced folder.

    What the user whose sync this is may do in Odoo (the plan never asks for more):
    ``not_writable`` partners (id -> why) keep their values: Outlook's changes to them are
    written back from Odoo (or, Odoo → Outlook off, stay in Outlook only), each with a
    ``not_allowed`` line; ``not_archivable`` partners (id -> why) are unlinked instead of
    archived; without ``may_create`` nothing is created in Odoo (``create_refusal`` says why).
    ``held`` partners (id -> why) are left as they are this run (a record that kept failing).

    ``unchanged``: linked partners still in scope that the adapter did not read because they
    did not change since the last run (an incremental read): their pairs are unchanged unless
    their Outlook item changed, which the adapter must then provide the partner for.

    ``photo_checks``: linked partners whose Outlook photo is to be read although their item is
    not in the round (the link does not know it yet); the adapter provides them.
    """

    partners: Sequence[OdooPartner] = ()
    gone: Mapping[int, str] = field(default_factory=dict)
    held_in_outlook: frozenset[int] = frozenset()
    not_writable: Mapping[int, str] = field(default_factory=dict)
    not_archivable: Mapping[int, str] = field(default_factory=dict)
    may_create: bool = True
    create_refusal: str = ""
    held: Mapping[int, str] = field(default_factory=dict)
    unchanged: frozenset[int] = frozenset()
    photo_checks: frozenset[int] = frozenset()


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Conflict:
    field: str
    base: Any
    odoo: Any
    outlook: Any
    winner: str


@dataclass(frozen=True)
class Action:
    kind: str
    direction: str
    group: str  # actions of one record share it; apply them in order, stop at a failure
    partner_id: int | None = None
    outlook_id: str | None = None
    payload: Mapping[str, Any] | None = None  # Graph body: POST (create) or PATCH (update)
    if_match: str | None = None
    values: Mapping[str, Any] | None = None  # res.partner values (see mapping.ODOO_KEYS)
    link_op: str | None = None
    snapshot: Snapshot | None = None  # to store with LINK_STORE
    change_key: str | None = None  # to store with LINK_STORE when the group writes no Outlook
    created_in_outlook: bool = False  # LINK_STORE of an item the sync put in Outlook
    changes: tuple[FieldChange, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[Problem, ...] = ()
    reason: str = ""
    # Changes a field's own direction keeps on one side (winner: the side that keeps it).
    kept: tuple[Conflict, ...] = ()
    photo: PhotoStep | None = None  # the photo step of a photo kind
    photo_base: PhotoBase | None = None  # stored on the link with LINK_STORE, when set


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    blocked: bool = False
    blocked_reason: str = ""
    withheld: list[Action] = field(default_factory=list)  # deletions held back by the guard

    def counts(self) -> dict[str, dict[str, int]]:
        """Per direction, per kind: what the toast and the run log show."""
        table: dict[str, Counter] = defaultdict(Counter)
        for action in self.actions:
            table[action.direction][action.kind] += 1
        return {direction: dict(kinds) for direction, kinds in table.items()}

    def of_kind(self, *kinds: str) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    @property
    def has_writes(self) -> bool:
        return any(
            a.payload is not None or a.values is not None or a.link_op or a.photo is not None
            for a in self.actions
        )


@dataclass
class _Partner:
    record: OdooPartner
    contact: Contact
    problems: list[Problem]


class _Pair:
    """One pair on its way through _Planner._pair: its sides, the merge, what to write."""

    def __init__(self, link: Link, partner: _Partner) -> None:
        self.link = link
        self.partner = partner
        self.group = f"partner:{link.partner_id}"
        self.ids = {"partner_id": link.partner_id, "outlook_id": link.outlook_id}
        self.odoo: Contact = partner.contact
        self.base: Contact | None = link.snapshot.base if link.snapshot is not None else None
        self.outlook: Contact = Contact()
        self.state: Any = None
        self.raw: Mapping[str, Any] | None = None
        self.change_key: str | None = None
        self.item_problems: list[Problem] = []
        self.merged: MergeResult | None = None
        self.refusal: str | None = None
        self.kept: tuple[str, ...] = ()
        self.patch: dict = {}
        self.problems: list[Problem] = []
        self.projected: Contact = Contact()
        self.odoo_final: Contact = Contact()
        self.odoo_fields: list[str] = []
        self.snapshot: Snapshot | None = None


class _Planner:
    def __init__(self, policies, links, outlook, odoo, database_uuid, ctx):
        self.policies = policies
        self.ctx = ctx
        self.database_uuid = database_uuid
        self.fields = tuple(f for f in MERGE_FIELDS if ctx.sync_categories or f != "categories")
        # Each field's way (its setting and the account's direction), and the fields that
        # travel to each side: a field never goes the other way, whatever the conflict policy.
        self.directions = {f: policies.field_direction(f) for f in self.fields}
        self.synced = tuple(f for f in self.fields if self.directions[f] != NOT_SYNCED)
        self.to_outlook_fields = tuple(
            f for f in self.fields if self.directions[f] in (TWO_WAY, ODOO_TO_OUTLOOK)
        )
        self.to_odoo_fields = tuple(
            f for f in self.fields if self.directions[f] in (TWO_WAY, OUTLOOK_TO_ODOO)
        )
        self.actions: list[Action] = []
        self.links, self.link_by_item = _index_links(links)
        self.items: dict[str, ParsedItem] = {}
        for index, raw in enumerate(outlook.items):
            parsed = parse_graph_contact(raw, ctx)
            if not parsed.outlook_id:
                self._add(
                    INVALID,
                    NO_DIRECTION,
                    f"outlook:#{index}",
                    problems=parsed.problems,
                    reason="Outlook sent an unreadable contact",
                )
                continue
            self.items[parsed.outlook_id] = parsed  # an id seen twice: the last copy wins
        self.removed = {oid for oid in outlook.removed if oid not in self.items}
        if outlook.complete:
            self.removed |= {oid for oid in self.link_by_item if oid not in self.items}
        self.partners: dict[int, _Partner] = {}
        for record in odoo.partners:
            contact, found = odoo_to_contact(record.values, ctx)
            self.partners[record.partner_id] = _Partner(record, contact, found)
        self.gone = dict(odoo.gone)
        self.held_in_outlook = frozenset(odoo.held_in_outlook)
        self.odoo = odoo
        self.photos = outlook.photos if policies.sync_photos else None

    def _add(self, kind, direction, group, **kwargs) -> Action:
        action = Action(kind, direction, group, **kwargs)
        self.actions.append(action)
        return action

    def _skip(self, group: str, code: str, message: str, **ids) -> None:
        """Leave a record alone, with a warning that says why."""
        problem = Problem(code, message, severity=P.WARNING)
        self._add(SKIP, NO_DIRECTION, group, **ids, problems=(problem,), reason=message)

    # --- linked pairs ------------------------------------------------------------------------

    def plan(self) -> Plan:
        recreate: set[int] = set()
        for link in self.links.values():
            pid, oid = link.partner_id, link.outlook_id
            group = f"partner:{pid}"
            ids = {"partner_id": pid, "outlook_id": oid}
            if link.detached:
                continue
            if pid in self.odoo.held:
                self._add(SKIP, NO_DIRECTION, group, **ids, reason=self.odoo.held[pid])
            elif oid in self.removed:
                self._item_removed(link, group, recreate)
            elif pid in self.gone:
                self._partner_gone(link, group)
            elif pid not in self.partners and pid in self.odoo.unchanged and oid not in self.items:
                self._add(UNCHANGED, NO_DIRECTION, group, **ids)
            elif pid not in self.partners:
                reason = "the Odoo contact was not provided to this run"
                self._add(SKIP, NO_DIRECTION, group, **ids, reason=reason)
            else:
                self._pair(link, self.partners[pid], self.items.get(oid), None)
        self._unlinked(recreate)
        return self._guard(Plan(self.actions))

    def _item_removed(self, link: Link, group: str, recreate: set[int]) -> None:
        pid, oid, policy = link.partner_id, link.outlook_id, self.policies.outlook_deletion
        ids = {"partner_id": pid, "outlook_id": oid}
        if pid in self.gone or pid not in self.partners:
            self._add(
                UNLINK,
                NO_DIRECTION,
                group,
                link_op=LINK_DELETE,
                **ids,
                reason="deleted in Outlook and no longer in Odoo's scope",
            )
        elif link.resumed and self.policies.to_outlook:
            recreate.add(pid)
        elif (
            policy == OUTLOOK_DELETE_ARCHIVE
            and self.policies.to_odoo
            and pid in self.odoo.not_archivable
        ):
            self._add(
                UNLINK,
                NO_DIRECTION,
                group,
                link_op=LINK_DETACH,
                **ids,
                reason="deleted in Outlook; not allowed to archive the Odoo contact "
                f"({self.odoo.not_archivable[pid]}): no longer synced for this user",
            )
        elif policy == OUTLOOK_DELETE_ARCHIVE and self.policies.to_odoo:
            self._add(
                ARCHIVE_PARTNER,
                TO_ODOO,
                group,
                link_op=LINK_DELETE,
                **ids,
                reason="deleted in Outlook: the Odoo contact is archived",
            )
        elif policy == OUTLOOK_DELETE_RECREATE and self.policies.to_outlook:
            recreate.add(pid)
        else:
            self._add(
                UNLINK,
                NO_DIRECTION,
                group,
                link_op=LINK_DETACH,
                **ids,
                reason="deleted in Outlook: no longer synced for this user",
            )

    def _partner_gone(self, link: Link, group: str) -> None:
        pid, oid = link.partner_id, link.outlook_id
        if self.gone[pid] == "out_of_scope" and not link.created_in_outlook:
            # An Odoo filter chooses what Odoo sends, never what Outlook may keep.
            self._add(
                SKIP,
                NO_DIRECTION,
                group,
                partner_id=pid,
                outlook_id=oid,
                reason="no longer in the contacts to sync, but it came from Outlook: "
                "left as it is in Outlook",
            )
            return
        why = self.gone[pid].replace("_", " ")
        if self.policies.odoo_deletion == ODOO_DELETE_IN_OUTLOOK and self.policies.to_outlook:
            self._add(
                DELETE_IN_OUTLOOK,
                TO_OUTLOOK,
                group,
                partner_id=pid,
                outlook_id=oid,
                link_op=LINK_DELETE,
                reason="no longer in the contacts to sync: the copy the sync put in Outlook "
                "is deleted"
                if self.gone[pid] == "out_of_scope"
                else f"{why} in Odoo: deleted in Outlook",
            )
        else:
            self._add(
                UNLINK,
                NO_DIRECTION,
                group,
                partner_id=pid,
                outlook_id=oid,
                link_op=LINK_DETACH,
                reason=f"{why} in Odoo: kept in Outlook, no longer synced",
            )

    def _pair(
        self, link: Link, partner: _Partner, parsed: ParsedItem | None, match: Match | None
    ) -> None:
        """A linked (or just matched) pair: merge, then write what changed on each side."""
        start = len(self.actions)  # the pair's actions follow from here
        pair = self._pair_sides(link, partner, parsed, match)
        if pair is None:
            return
        if match is None and parsed is None and pair.base is not None:
            if pair.odoo.same_as(pair.base, self.synced):
                self._add(UNCHANGED, NO_DIRECTION, pair.group, **pair.ids)
                self._pair_photo(pair, parsed, start)
                return
        self._merge_pair(pair, parsed)
        if match is not None:
            # Stored at once: a later failure must not lose the pairing. Its snapshot is
            # Outlook's side, so a retry sees Outlook unchanged and Odoo's values win.
            self._add(
                LINK,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                link_op=LINK_STORE,
                snapshot=Snapshot(pair.outlook, pair.outlook, pair.state),
                change_key=pair.change_key,
                created_in_outlook=match.method == BY_PROPERTY,
                reason=f"matched: {match.reason}",
            )
        if has_errors(pair.problems):
            self._add(
                INVALID,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                problems=tuple(pair.problems),
                reason=P.describe(pair.problems),
            )
            return
        self._settle_pair(pair)
        self._write_pair(pair, link, match)
        self._report_pair(pair)
        self._pair_photo(pair, parsed, start)

    def _pair_sides(
        self, link: Link, partner: _Partner, parsed: ParsedItem | None, match: Match | None
    ) -> _Pair | None:
        """Both sides of a pair: Outlook as read this round, else as the snapshot left it."""
        pair = _Pair(link, partner)
        if parsed is not None:
            pair.outlook, pair.state, pair.raw = parsed.contact, parsed.state, parsed.raw
            pair.item_problems = list(parsed.problems)
            change_key = parsed.raw.get("changeKey")
            pair.change_key = change_key if isinstance(change_key, str) else None
        elif link.snapshot is not None:
            pair.outlook, pair.state = link.snapshot.outlook, link.snapshot.outlook_state
            pair.change_key = link.change_key  # raw: built only if needed, unchanged is cheap
        else:
            self._add(
                SKIP,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                reason="the link has no snapshot: read the Outlook contact again",
            )
            return None
        return pair

    def _merge_pair(self, pair: _Pair, parsed: ParsedItem | None) -> None:
        """The merge, Odoo kept where the user may not change it, and Outlook's PATCH."""
        merged = merge_contacts(
            pair.base,
            pair.odoo,
            pair.outlook,
            direction=self.policies.direction,
            conflict_policy=self.policies.conflict,
            outlook_may_clear=self.policies.outlook_may_clear,
            odoo_modified=pair.partner.record.modified,
            outlook_modified=parsed.modified if parsed else None,
            fields=self.fields,
            directions=self.directions,
        )
        pid = pair.link.partner_id
        pair.refusal = self.odoo.not_writable.get(pid) if self.policies.to_odoo else None
        if pair.refusal:
            merged, pair.kept = _odoo_keeps(
                merged, pair.odoo, self.to_odoo_fields, self.to_outlook_fields
            )
        pair.merged = merged
        if self.policies.to_outlook:
            pair.patch = build_outlook_patch(
                pair.outlook, pair.state, merged.outlook, self.ctx, self.to_outlook_fields
            )
        pair.problems = _unique(
            [p for p in pair.item_problems if p.code == P.WRONG_TYPE]
            + _target_problems(merged.outlook, merged.odoo, self.ctx)
            + check_payload_limits(pair.patch)
            + [p for p in pair.partner.problems + pair.item_problems if not p.is_error]
        )

    def _settle_pair(self, pair: _Pair) -> None:
        """What each side holds after the writes, Odoo's fields to write, the next snapshot.

        Outlook's PATCH is applied in memory and read back: in two-way sync Odoo receives
        exactly what Outlook will show, so the next run sees no echo.
        """
        if pair.patch:
            raw = pair.raw
            if raw is None:
                raw = contact_to_graph(pair.outlook, self.ctx, pair.state)
            after = parse_graph_contact(apply_patch(raw, pair.patch), self.ctx)
            pair.projected, new_state = after.contact, after.state
        else:
            pair.projected, new_state = pair.outlook, pair.state
        if self.policies.direction == TWO_WAY:
            odoo_final, base_final = pair.projected, pair.projected
        else:
            odoo_final, base_final = pair.merged.odoo, pair.merged.base
        for name in self.fields:
            # A field that travels both ways ends as Outlook shows it; any other keeps what
            # the merge gave its side (never the other side's value).
            way = self.directions[name]
            odoo_side = pair.projected if way == TWO_WAY else pair.merged.odoo
            base_side = pair.projected if way == TWO_WAY else pair.merged.base
            odoo_final = odoo_final.with_value(name, odoo_side.get(name))
            base_final = base_final.with_value(name, base_side.get(name))
        pair.odoo_final = odoo_final
        odoo, final = pair.odoo, pair.odoo_final
        odoo_fields = [f for f in self.to_odoo_fields if odoo.key(f) != final.key(f)]
        if "country_code" in odoo_fields:
            # Phones typed as national numbers would change meaning with the new country.
            odoo_fields += [f for f in ("phone", "mobile") if final.get(f)]
            odoo_fields = [f for f in dict.fromkeys(odoo_fields) if f in self.to_odoo_fields]
        if not self.policies.to_odoo:
            odoo_fields = []
        if pair.refusal:
            # Odoo's values stand: the next run sees Odoo unchanged, whatever Outlook holds.
            odoo_fields, base_final = [], odoo
        pair.odoo_fields = odoo_fields
        pair.snapshot = Snapshot(base_final, pair.projected, new_state)

    def _write_pair(self, pair: _Pair, link: Link, match: Match | None) -> None:
        """The writes of each side, the link stored by the last of them."""
        patch, odoo_fields, snapshot = pair.patch, pair.odoo_fields, pair.snapshot
        warnings = tuple(p for p in pair.problems if not p.is_error)
        if patch:
            self._add(
                UPDATE_OUTLOOK,
                TO_OUTLOOK,
                pair.group,
                **pair.ids,
                payload=patch,
                if_match=pair.change_key,
                link_op=None if odoo_fields else LINK_STORE,
                snapshot=None if odoo_fields else snapshot,
                changes=_changes(pair.outlook, pair.projected, self.fields),
                problems=warnings,
                reason=_change_reason("Outlook", pair.outlook, pair.projected, self.fields),
            )
        if odoo_fields:
            self._add(
                UPDATE_ODOO,
                TO_ODOO,
                pair.group,
                **pair.ids,
                values=contact_to_odoo_values(pair.odoo_final, odoo_fields),
                link_op=LINK_STORE,
                snapshot=snapshot,
                change_key=None if patch else pair.change_key,
                changes=_changes(pair.odoo, pair.odoo_final, odoo_fields),
                problems=() if patch else warnings,
                reason=_change_reason("Odoo", pair.odoo, pair.odoo_final, odoo_fields),
            )
        if patch or odoo_fields:
            return
        if match is None:
            same = link.snapshot == snapshot and (pair.change_key or None) == (
                link.change_key or None
            )
            self._add(
                UNCHANGED,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                problems=warnings,
                link_op=None if same else LINK_STORE,
                snapshot=None if same else snapshot,
                change_key=pair.change_key,
            )
        else:
            # Nothing to write: the link itself carries the final snapshot.
            link_index = max(i for i, a in enumerate(self.actions) if a.kind == LINK)
            self.actions[link_index] = replace(self.actions[link_index], snapshot=snapshot)

    def _report_pair(self, pair: _Pair) -> None:
        """What the user may not change, and the conflicts: lines of their own. The changes a
        field's own direction keeps on one side go with the pair's last action (the preview
        shows them)."""
        kept = tuple(
            Conflict(d.field, d.base, d.odoo, d.outlook, d.kept)
            for d in pair.merged.decisions
            if d.kept
        )
        if kept:
            at = max(i for i, a in enumerate(self.actions) if a.group == pair.group)
            self.actions[at] = replace(self.actions[at], kept=kept)
        if pair.kept:
            labels = ", ".join(FIELD_LABELS[name] for name in pair.kept)
            outcome = (
                f"Odoo's values were written back to Outlook: {labels}"
                if self.policies.to_outlook
                else f"Outlook's changes stay in Outlook only: {labels}"
            )
            self._add(
                NOT_ALLOWED,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                reason=f"not allowed: {pair.refusal}; {outcome}",
            )
        conflicts = pair.merged.conflicts
        if conflicts:
            self._add(
                CONFLICT,
                NO_DIRECTION,
                pair.group,
                **pair.ids,
                conflicts=tuple(
                    Conflict(d.field, d.base, d.odoo, d.outlook, d.winner) for d in conflicts
                ),
                reason="changed on both sides: "
                + ", ".join(f"{FIELD_LABELS[d.field]} (kept {d.winner}'s)" for d in conflicts),
            )

    # --- items and partners without a link ---------------------------------------------------

    def _unlinked(self, recreate: set[int]) -> None:
        items = {oid: parsed for oid, parsed in self.items.items() if oid not in self.link_by_item}
        detached_items = {oid for oid, lk in self.link_by_item.items() if lk.detached}
        unlinked_partners = {
            pid
            for pid in self.partners
            if (pid not in self.links or pid in recreate) and pid not in self.odoo.held
        }
        linked_views = {}
        for link in self.links.values():
            if link.detached or link.outlook_id in self.removed:
                continue
            parsed = self.items.get(link.outlook_id)
            if parsed is not None:
                linked_views[link.outlook_id] = parsed.contact
            elif link.snapshot is not None:
                linked_views[link.outlook_id] = link.snapshot.outlook
        found = match_items(
            {oid: (p.contact, p.partner_ref) for oid, p in items.items()},
            unlinked_partners,
            {pid: p.contact for pid, p in self.partners.items()},
            linked_views,
            self.database_uuid,
        )
        self.found = found
        matched_partners = set()
        for match in found.matches:
            matched_partners.add(match.partner_id)
            self._pair(
                Link(match.outlook_id, match.partner_id),
                self.partners[match.partner_id],
                items[match.outlook_id],
                match,
            )
        for oid in sorted(items):
            if oid in detached_items or found.partner_for(oid) is not None:
                continue
            parsed = items[oid]
            group = f"outlook:{oid}"
            if oid in found.duplicates:
                self._skip(group, P.DUPLICATE_ITEM, found.duplicates[oid], outlook_id=oid)
                continue
            self._create_in_odoo(parsed, group, found.unmatched_items.get(oid, ""))
        for pid in sorted(unlinked_partners - matched_partners):
            self._create_in_outlook(pid, recreate)

    def _create_in_odoo(self, parsed: ParsedItem, group: str, why: str) -> None:
        oid = parsed.outlook_id
        problems = list(parsed.problems)
        if has_errors(problems):
            self._add(
                INVALID,
                NO_DIRECTION,
                group,
                outlook_id=oid,
                problems=tuple(problems),
                reason=P.describe(problems),
            )
            return
        if not self.policies.to_odoo:
            self._add(
                SKIP,
                NO_DIRECTION,
                group,
                outlook_id=oid,
                reason="new in Outlook; Outlook → Odoo is off for this account",
            )
            return
        if oid in self.found.email_in_odoo:
            # A second Odoo contact with that email would be a duplicate.
            message = f"Not synced: {self.found.email_in_odoo[oid]}."
            self._skip(group, P.AMBIGUOUS_MATCH, message, outlook_id=oid)
            return
        if not self.odoo.may_create:
            self._add(
                NOT_ALLOWED,
                NO_DIRECTION,
                group,
                outlook_id=oid,
                reason=f"not allowed: {self.odoo.create_refusal or 'creating contacts'}; "
                "the Outlook contact stays in Outlook, not synced",
            )
            return
        contact = parsed.contact
        if why:
            problems.append(Problem(P.AMBIGUOUS_MATCH, f"Not matched: {why}.", severity=P.WARNING))
        raw = parsed.raw
        change_key = raw.get("changeKey") if isinstance(raw.get("changeKey"), str) else None
        start = len(self.actions)
        # A partner needs a name: an Outlook contact without one is named after its email,
        # and Outlook gets that name too so both sides agree.
        named = contact.with_value("name", contact.name or contact.email)
        # Only the fields that travel to Odoo are written (and the name, which a partner
        # cannot lack); the base is what Odoo then holds, so the others never flow back.
        written = ("name", *(f for f in self.to_odoo_fields if f != "name"))
        created = _only(named, written)
        self._add(
            CREATE_IN_ODOO,
            TO_ODOO,
            group,
            outlook_id=oid,
            values=contact_to_odoo_values(named, written),
            link_op=LINK_STORE,
            snapshot=Snapshot(_only(contact, written), contact, parsed.state),
            change_key=change_key,
            changes=_changes(Contact(), created, self.fields),
            problems=tuple(problems),
            reason="new in Outlook" + (f" ({why})" if why else ""),
        )
        if named != contact and self.policies.to_outlook and "name" in self.to_outlook_fields:
            patch = build_outlook_patch(contact, parsed.state, named, self.ctx)
            after = parse_graph_contact(apply_patch(raw, patch), self.ctx)
            self._add(
                UPDATE_OUTLOOK,
                TO_OUTLOOK,
                group,
                outlook_id=oid,
                payload=patch,
                if_match=change_key,
                link_op=LINK_STORE,
                snapshot=Snapshot(after.contact, after.contact, after.state),
                changes=_changes(contact, after.contact, self.fields),
                reason="named after its email, as in Odoo",
            )
        if self.photos is not None:
            # A new partner has no image: Outlook's photo, if any, fills it.
            rule = PhotoRule(direction=self.policies.field_direction(PHOTO))
            step = photo_step(None, NO_PHOTO, self.photos.get(oid), rule, read=True)
            if step is not None:
                self._add_photo(group, {"outlook_id": oid}, step, start)

    def _create_in_outlook(self, pid: int, recreate: set[int]) -> None:
        partner = self.partners[pid]
        again = pid in recreate
        group = f"partner:{pid}"
        old = self.links.get(pid)
        ids = {"partner_id": pid, "outlook_id": old.outlook_id if again and old else None}
        problems = list(partner.problems)
        if not self.policies.to_outlook:
            return  # Odoo → Outlook is off: new partners simply stay in Odoo
        if pid in self.held_in_outlook and not again:
            return  # Outlook has it in another folder: a copy here would be a duplicate
        if pid in self.found.email_in_outlook and not again:
            message = f"Not copied to Outlook: {self.found.email_in_outlook[pid]}."
            self._skip(group, P.AMBIGUOUS_MATCH, message, **ids)
            return
        contact = partner.contact
        # Only the fields that travel to Outlook are sent (and the name, which a contact
        # needs). A contact created again comes back as Outlook held it at the last sync: its
        # other emails and phones, its middle name, birthday, home address...
        sent = ("name", *(f for f in self.to_outlook_fields if f != "name"))
        ref = partner_ref_value(self.database_uuid, pid)
        if again and old and old.snapshot is not None:
            state = old.snapshot.outlook_state
            payload = recreate_body(old.snapshot.outlook, state, contact, self.ctx, sent, ref)
        else:
            payload = contact_to_graph(_only(contact, sent), self.ctx, partner_ref=ref)
        problems += check_payload_limits(payload)
        if has_errors(problems):
            self._add(
                INVALID,
                NO_DIRECTION,
                group,
                **ids,
                problems=tuple(_unique(problems)),
                reason=P.describe(problems),
            )
            return
        after = parse_graph_contact(payload, self.ctx)
        # Of the fields sent, those that travel both ways and that Outlook could not hold as
        # Odoo has them. The base is the Outlook copy: a field that travels one way only
        # then never flows back.
        odoo_fields = [
            f for f in self.to_odoo_fields if f in sent and contact.key(f) != after.contact.key(f)
        ]
        if not self.policies.to_odoo:
            odoo_fields = []
        # What Outlook could not hold as Odoo has it: Odoo is aligned, unless the user may not
        # change this contact (then the snapshot keeps Odoo's values, so nothing ping-pongs).
        aligned = Snapshot(after.contact, after.contact, after.state)
        if odoo_fields and pid in self.odoo.not_writable:
            base = after.contact
            for name in odoo_fields:
                base = base.with_value(name, contact.get(name))
            odoo_fields, aligned = [], Snapshot(base, after.contact, after.state)
        kind = RECREATE_IN_OUTLOOK if again else CREATE_IN_OUTLOOK
        start = len(self.actions)
        # A new Outlook contact has no photo: that is what its link records, then Odoo's image
        # goes (a PUT that fails is tried again: Odoo's image differs from the record).
        photo = partner.record.photo if self.photos is not None else None
        no_photo = PhotoBase(NO_PHOTO, NO_PHOTO) if photo is not None else None
        if not again:
            reason = "new in Odoo"
        elif old and old.resumed:
            reason = "deleted in Outlook while not synced: created again from Odoo"
        else:
            reason = "deleted in Outlook: created again from Odoo"
        self._add(
            kind,
            TO_OUTLOOK,
            group,
            **ids,
            payload=payload,
            link_op=LINK_STORE,
            snapshot=aligned,
            created_in_outlook=True,
            changes=_changes(Contact(), after.contact, self.fields),
            problems=tuple(problems),
            reason=reason,
            photo_base=no_photo,
        )
        if odoo_fields:
            # Outlook could not hold a value as Odoo has it: align Odoo so nothing ping-pongs.
            self._add(
                UPDATE_ODOO,
                TO_ODOO,
                group,
                partner_id=pid,
                values=contact_to_odoo_values(after.contact, odoo_fields),
                link_op=LINK_STORE,
                snapshot=Snapshot(after.contact, after.contact, after.state),
                changes=_changes(contact, after.contact, odoo_fields),
                reason="aligned with the Outlook copy",
                photo_base=no_photo,
            )
        if photo is not None and photo != NO_PHOTO:
            rule = PhotoRule(direction=self.policies.field_direction(PHOTO))
            step = photo_step(no_photo, photo, NO_PHOTO, rule, read=False)
            self._add_photo(group, ids, step, start)

    # --- photos ------------------------------------------------------------------------------

    def _pair_photo(self, pair: _Pair, parsed: ParsedItem | None, start: int) -> None:
        """The photo of a linked or matched pair, after its other actions (sync/photo.py)."""
        odoo = pair.partner.record.photo
        if self.photos is None or odoo is None:
            return
        pid, oid = pair.link.partner_id, pair.link.outlook_id
        rule = PhotoRule(
            direction=self.policies.field_direction(PHOTO),
            conflict=self.policies.conflict,
            outlook_may_clear=self.policies.outlook_may_clear,
            odoo_locked=self.odoo.not_writable.get(pid, "") if self.policies.to_odoo else "",
            odoo_modified=pair.partner.record.modified,
            outlook_modified=parsed.modified if parsed else None,
        )
        read = parsed is not None or pid in self.odoo.photo_checks
        step = photo_step(pair.link.photo, odoo, self.photos.get(oid), rule, read=read)
        if step is not None:
            self._add_photo(pair.group, pair.ids, step, start)

    def _add_photo(self, group: str, ids: dict, step: PhotoStep, start: int) -> None:
        """The photo's action at the end of its record's (which began at `start`).

        A record that is otherwise unchanged gets the photo's action instead, which then
        stores its link and counts it; a photo only recorded rides on the record's last link
        store when there is one."""
        decision = step.decision
        mine = range(start, len(self.actions))
        if decision is not None and decision.write is None:
            stores = [i for i in mine if self.actions[i].link_op == LINK_STORE]
            if stores:
                at = stores[-1]
                self.actions[at] = replace(self.actions[at], photo_base=decision.base)
                return
        extra: dict[str, Any] = {}
        alone = len(mine) == 1 and self.actions[start].kind == UNCHANGED
        if alone:
            unchanged = self.actions.pop(start)
            extra = {
                "link_op": unchanged.link_op,
                "snapshot": unchanged.snapshot,
                "change_key": unchanged.change_key,
                "problems": unchanged.problems,
            }
        if decision is None:
            kind, direction, reason = READ_PHOTO, NO_DIRECTION, "photo: read from Outlook"
        elif decision.write is None:
            kind, direction, reason = KEEP_PHOTO, NO_DIRECTION, "photo: recorded as it is"
        else:
            kind = UPDATE_OUTLOOK_PHOTO if decision.to_outlook else UPDATE_ODOO_PHOTO
            direction = TO_OUTLOOK if decision.to_outlook else TO_ODOO
            reason = change_reason(step)
            old, new = change_words(step)
            extra["changes"] = (FieldChange(PHOTO, old, new),)
            if decision.conflict:
                self._photo_conflict(group, ids, step, start)
        self._add(
            kind, direction, group, **ids, photo=replace(step, alone=alone), reason=reason, **extra
        )

    def _photo_conflict(self, group: str, ids: dict, step: PhotoStep, start: int) -> None:
        """A photo changed on both sides joins the record's conflict line (or makes one)."""
        odoo_word, outlook_word = conflict_words(step)
        conflict = Conflict(PHOTO, "", odoo_word, outlook_word, step.decision.conflict)
        text = f"photo (kept {step.decision.conflict}'s)"
        for at in range(start, len(self.actions)):
            action = self.actions[at]
            if action.kind == CONFLICT:
                self.actions[at] = replace(
                    action,
                    conflicts=(*action.conflicts, conflict),
                    reason=f"{action.reason}, {text}",
                )
                return
        self._add(
            CONFLICT,
            NO_DIRECTION,
            group,
            **ids,
            conflicts=(conflict,),
            reason=f"changed on both sides: {text}",
        )

    # --- mass-delete guard -------------------------------------------------------------------

    def _guard(self, plan: Plan) -> Plan:
        deletions = [a for a in plan.actions if a.kind in DELETION_KINDS]
        linked = sum(1 for lk in self.links.values() if not lk.detached)
        ratio, minimum = self.policies.mass_delete_ratio, self.policies.mass_delete_minimum
        if (
            not self.policies.mass_delete_confirmed
            and len(deletions) >= minimum
            and len(deletions) > ratio * linked
        ):
            plan.withheld = deletions
            plan.actions = [a for a in plan.actions if a.kind not in DELETION_KINDS]
            plan.blocked = True
            plan.blocked_reason = (
                f"This sync would delete, archive or unlink {len(deletions)} of {linked} synced"
                f" contacts (more than {ratio:.0%} and at least {minimum}). Nothing was deleted:"
                " confirm to go on."
            )
        return plan


def _only(contact: Contact, names: Sequence[str]) -> Contact:
    """The contact with only these fields (merge units) kept, the others empty."""
    empty = Contact()
    kept = contact
    for name in contact.units():
        if name not in names:
            kept = kept.with_value(name, empty.get(name))
    return kept


def _odoo_keeps(
    merged: MergeResult, odoo: Contact, names: Sequence[str], to_outlook: Sequence[str]
) -> tuple[MergeResult, tuple[str, ...]]:
    """The merge with Odoo's values kept wherever it would change Odoo (of ``names``, the
    fields that may reach Odoo), written back to Outlook where they go (``to_outlook``); those
    fields too."""
    kept = tuple(name for name in names if merged.odoo.key(name) != odoo.key(name))
    if not kept:
        return merged, ()
    odoo_target, outlook_target, base = merged.odoo, merged.outlook, merged.base
    for name in kept:
        value = odoo.get(name)
        odoo_target = odoo_target.with_value(name, value)
        base = base.with_value(name, value)
        if name in to_outlook:
            outlook_target = outlook_target.with_value(name, value)
    decisions = tuple(
        replace(d, result=odoo.get(d.field), winner="odoo") if d.field in kept else d
        for d in merged.decisions
    )
    return MergeResult(odoo_target, outlook_target, base, decisions), kept


def _index_links(links: Iterable[Link]) -> tuple[dict[int, Link], dict[str, Link]]:
    """Links by partner and by item; of two sharing either, the first in order counts."""
    by_partner: dict[int, Link] = {}
    by_item: dict[str, Link] = {}
    for link in sorted(links, key=lambda lk: (lk.partner_id, lk.outlook_id)):
        if link.partner_id in by_partner or link.outlook_id in by_item:
            continue  # the unique constraints make this impossible in Odoo
        by_partner[link.partner_id] = link
        by_item[link.outlook_id] = link
    return by_partner, by_item


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _target_problems(outlook: Contact, odoo: Contact, ctx: MappingContext) -> list[Problem]:
    found = [p for p in validate_contact(outlook, ctx.default_region) if p.is_error]
    if odoo != outlook:
        found += [p for p in validate_contact(odoo, ctx.default_region) if p.is_error]
    return found


def _changes(old: Contact, new: Contact, names) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(n, old.get(n), new.get(n)) for n in names if old.key(n) != new.key(n))


def _change_reason(side: str, old: Contact, new: Contact, names) -> str:
    changed = [FIELD_LABELS[n] for n in names if old.key(n) != new.key(n)]
    return f"{side}: " + (", ".join(changed) if changed else "display name") + " updated"


def plan_sync(
    policies: Policies,
    links: Iterable[Link],
    outlook: OutlookChanges,
    odoo: OdooSide,
    *,
    database_uuid: str,
    countries: CountryLookup | None = None,
    default_region: str | None = None,
) -> Plan:
    """Plan one sync run of one account. Pure: the same inputs give the same plan."""
    ctx = MappingContext(countries or CountryResolver(), default_region, policies.sync_categories)
    return _Planner(policies, list(links), outlook, odoo, database_uuid, ctx).plan()


def match_keys(
    links: Iterable[Link],
    outlook: OutlookChanges,
    *,
    database_uuid: str,
    countries: CountryLookup | None = None,
    default_region: str | None = None,
) -> MatchKeys:
    """What ``plan_sync`` matches the round's unlinked items on (same arguments as it).

    In the direction Outlook → Odoo an unmatched partner yields no action, so instead of
    every partner in scope the adapter may pass the linked ones and those holding one of
    these keys: the plan is the same.
    """
    ctx = MappingContext(countries or CountryResolver(), default_region)
    _by_partner, by_item = _index_links(links)
    items = {}
    for raw in outlook.items:
        parsed = parse_graph_contact(raw, ctx)
        if parsed.outlook_id and parsed.outlook_id not in by_item:
            items[parsed.outlook_id] = (parsed.contact, parsed.partner_ref)
    return item_keys(items, database_uuid)
