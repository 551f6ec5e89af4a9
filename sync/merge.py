"""Three-way merge per field against the last synced snapshot (the base)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .contact import Contact
from .mapping import MERGE_FIELDS

TWO_WAY = "two_way"
ODOO_TO_OUTLOOK = "odoo_to_outlook"
OUTLOOK_TO_ODOO = "outlook_to_odoo"
# A field's direction may also be this: neither side writes it (Settings, field by field).
NOT_SYNCED = "not_synced"
FIELD_DIRECTIONS = (TWO_WAY, ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO, NOT_SYNCED)

CONFLICT_ODOO = "odoo"
CONFLICT_OUTLOOK = "outlook"
CONFLICT_NEWEST = "newest"


@dataclass(frozen=True)
class FieldDecision:
    field: str
    base: Any
    odoo: Any
    outlook: Any
    result: Any
    winner: str  # "odoo", "outlook", "same", "merged", "none" (not synced)
    conflict: bool = False
    note: str = ""
    # The side ("odoo" / "outlook") whose change stays there only because of the field's own
    # direction (narrower than the account's), "" when none.
    kept: str = ""


@dataclass(frozen=True)
class MergeResult:
    """Targets per side (equal in two-way sync) and the next base."""

    odoo: Contact
    outlook: Contact
    base: Contact
    decisions: tuple[FieldDecision, ...]

    @property
    def conflicts(self) -> tuple[FieldDecision, ...]:
        return tuple(d for d in self.decisions if d.conflict)


def field_direction(account_direction: str, field_setting: str | None) -> str:
    """The way one field travels: what its setting allows and the account's direction too."""
    setting = field_setting if field_setting in FIELD_DIRECTIONS else TWO_WAY
    to_outlook = account_direction in (TWO_WAY, ODOO_TO_OUTLOOK) and setting in (
        TWO_WAY,
        ODOO_TO_OUTLOOK,
    )
    to_odoo = account_direction in (TWO_WAY, OUTLOOK_TO_ODOO) and setting in (
        TWO_WAY,
        OUTLOOK_TO_ODOO,
    )
    if to_outlook and to_odoo:
        return TWO_WAY
    if to_outlook:
        return ODOO_TO_OUTLOOK
    if to_odoo:
        return OUTLOOK_TO_ODOO
    return NOT_SYNCED


def parse_timestamp(value: Any) -> datetime | None:
    """ISO strings (Graph's "...Z") or datetimes; naive values are taken as UTC (Odoo)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00").replace(" ", "T", 1)
        if "." in text:  # Python 3.10 accepts only 3 or 6 fraction digits
            head, _, tail = text.partition(".")
            digits = "".join(c for c in tail if c.isdigit())
            rest = tail[len(digits) :]
            text = f"{head}.{(digits + '000000')[:6]}{rest}"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _newest_side(odoo_modified: Any, outlook_modified: Any) -> str:
    odoo_at, outlook_at = parse_timestamp(odoo_modified), parse_timestamp(outlook_modified)
    if odoo_at and outlook_at and outlook_at > odoo_at:
        return "outlook"
    return "odoo"  # ties and unknown clocks: Odoo, the system of record


def _policy_winner(conflict_policy: str, odoo_modified: Any, outlook_modified: Any) -> str:
    if conflict_policy == CONFLICT_OUTLOOK:
        return "outlook"
    if conflict_policy == CONFLICT_NEWEST:
        return _newest_side(odoo_modified, outlook_modified)
    return "odoo"


def _merge_set(base: tuple, odoo: tuple, outlook: tuple) -> tuple:
    """Tags: keep additions and removals from both sides (no conflict for sets)."""
    fold = str.casefold
    base_k = {fold(v) for v in base}
    odoo_k = {fold(v) for v in odoo}
    outlook_k = {fold(v) for v in outlook}
    removed = (base_k - odoo_k) | (base_k - outlook_k)
    spelled = {fold(v): v for v in (*base, *outlook, *odoo)}
    keep = (base_k | odoo_k | outlook_k) - removed
    return tuple(spelled[k] for k in sorted(keep))


def merge_contacts(
    base: Contact | None,
    odoo: Contact,
    outlook: Contact,
    *,
    direction: str = TWO_WAY,
    conflict_policy: str = CONFLICT_ODOO,
    outlook_may_clear: bool = False,
    odoo_modified: Any = None,
    outlook_modified: Any = None,
    fields: tuple[str, ...] = MERGE_FIELDS,
    directions: Mapping[str, str] | None = None,
) -> MergeResult:
    """Per field: one side changed -> it wins; both -> the policy (reported as a conflict).

    ``direction`` is the account's; ``directions`` may narrow it per field (see
    ``field_direction``): a field travels only its own way, and a field NOT_SYNCED is written
    on neither side (its base stays, so both sides' changes meet again if it is synced later).

    Without a base (first link) a value present on one side only fills the other.
    An Outlook value that became empty is ignored unless ``outlook_may_clear``. One-way
    directions copy the source's changes only and never revert the other side's own edits;
    a field the other side changed too follows the conflict policy there as well.
    """
    odoo_target, outlook_target, next_base = odoo, outlook, odoo if base is None else base
    decisions = []
    for name in fields:
        way = directions.get(name, direction) if directions else direction
        b = base.get(name) if base is not None else None
        o, w = odoo.get(name), outlook.get(name)
        o_empty, w_empty = odoo.is_empty(name), outlook.is_empty(name)
        b_key = base.key(name) if base is not None else None
        odoo_changed = base is None or odoo.key(name) != b_key
        outlook_changed = base is None or outlook.key(name) != b_key
        note = ""
        may_clear = outlook_may_clear and name != "name"  # a partner always keeps a name
        if outlook_changed and w_empty and not may_clear and not (base is None and o_empty):
            outlook_changed, note = False, "emptied in Outlook: ignored"
        if base is None:
            # First link: a value held by one side only is not a conflict.
            odoo_changed = odoo_changed and not o_empty
            outlook_changed = outlook_changed and not w_empty

        # Changed on both sides since the last sync, to different values: the policy decides,
        # whichever way changes travel (a one-way copy never overwrites the other side's edit
        # against the policy).
        both = (
            base is not None
            and odoo_changed
            and outlook_changed
            and odoo.key(name) != outlook.key(name)
            and name != "categories"
        )
        policy_winner = _policy_winner(conflict_policy, odoo_modified, outlook_modified)
        differ = odoo.key(name) != outlook.key(name)
        narrowed = way != direction  # the field's own setting, not the account, decides
        if way == NOT_SYNCED:
            kept = ""
            if narrowed and differ and (odoo_changed or outlook_changed):
                kept = "odoo" if odoo_changed and not outlook_changed else "outlook"
                kept = "both" if odoo_changed and outlook_changed else kept
            decisions.append(FieldDecision(name, b, o, w, o, "none", False, note, kept))
            continue
        if way == ODOO_TO_OUTLOOK:
            # Outlook follows Odoo's changes; Outlook's own edits stay in Outlook only.
            winner = "odoo" if odoo_changed else "outlook"
            if both:
                winner = policy_winner
            result = o if winner == "odoo" else w
            outlook_target = outlook_target.with_value(name, result)
            next_base = next_base.with_value(name, o)
            kept = (
                "outlook" if narrowed and winner == "outlook" and outlook_changed and differ else ""
            )
            decisions.append(FieldDecision(name, b, o, w, result, winner, both, note, kept))
            continue
        if way == OUTLOOK_TO_ODOO:
            winner = "outlook" if outlook_changed else "odoo"
            if both:
                winner = policy_winner
            result = w if winner == "outlook" else o
            odoo_target = odoo_target.with_value(name, result)
            next_base = next_base.with_value(name, w)
            kept = "odoo" if narrowed and winner == "odoo" and odoo_changed and differ else ""
            decisions.append(FieldDecision(name, b, o, w, result, winner, both, note, kept))
            continue

        conflict = False
        if odoo.key(name) == outlook.key(name):
            result, winner = o, "same"
        elif odoo_changed and outlook_changed:
            if name == "categories":
                result, winner = _merge_set(b or (), o, w), "merged"
            else:
                conflict, winner = True, policy_winner
                result = o if winner == "odoo" else w
        elif outlook_changed:
            result, winner = w, "outlook"
        else:
            # Odoo changed, or nobody did but the sides differ (an ignored clear, a value one
            # side could not hold): Odoo's value is written to Outlook.
            result, winner = o, "odoo"
        odoo_target = odoo_target.with_value(name, result)
        outlook_target = outlook_target.with_value(name, result)
        next_base = next_base.with_value(name, result)
        decisions.append(FieldDecision(name, b, o, w, result, winner, conflict, note))
    return MergeResult(odoo_target, outlook_target, next_base, tuple(decisions))
