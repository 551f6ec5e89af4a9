"""A plan seen as the user reviews it: one entry per record, and the choice applied back.

The preview shows one entry per record (the actions of a plan that share a ``group``), in a
section named after what happens to it. The user ticks entries; at apply time the adapter
plans again and ``select_actions`` keeps, of the new plan, only the records that were ticked
and whose actions are still the same kinds (anything else was not seen as it is now).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .mapping import FIELD_LABELS
from .planner import (
    ARCHIVE_PARTNER,
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    DELETION_KINDS,
    INVALID,
    LINK,
    RECREATE_IN_OUTLOOK,
    SKIP,
    UNCHANGED,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
    Action,
    Plan,
)

# Sections, in the order they are shown. The first that applies to a record names it.
INVALID_SECTION = "invalid"
DELETION_SECTION = "deletion"
CONFLICT_SECTION = "conflict"
LINK_SECTION = "link"
CREATE_ODOO_SECTION = "create_odoo"
CREATE_OUTLOOK_SECTION = "create_outlook"
UPDATE_ODOO_SECTION = "update_odoo"
UPDATE_OUTLOOK_SECTION = "update_outlook"
SECTIONS = (
    CREATE_OUTLOOK_SECTION,
    CREATE_ODOO_SECTION,
    UPDATE_OUTLOOK_SECTION,
    UPDATE_ODOO_SECTION,
    LINK_SECTION,
    CONFLICT_SECTION,
    INVALID_SECTION,
    DELETION_SECTION,
)
_SECTION_OF = (
    (INVALID_SECTION, {INVALID}),
    (DELETION_SECTION, DELETION_KINDS),
    (CONFLICT_SECTION, {CONFLICT}),
    (LINK_SECTION, {LINK}),
    (CREATE_ODOO_SECTION, {CREATE_IN_ODOO}),
    (CREATE_OUTLOOK_SECTION, {CREATE_IN_OUTLOOK}),
    (UPDATE_ODOO_SECTION, {UPDATE_ODOO}),
    (UPDATE_OUTLOOK_SECTION, {UPDATE_OUTLOOK}),
)
# Kinds that change a contact on either side, or pair two of them: the user may leave these
# out. The rest (refused records, a link whose contact is gone on both sides, counting) only
# logs or tidies the link table, and always goes ahead.
CHOICE_KINDS = frozenset(
    {
        CREATE_IN_OUTLOOK,
        RECREATE_IN_OUTLOOK,
        CREATE_IN_ODOO,
        UPDATE_OUTLOOK,
        UPDATE_ODOO,
        ARCHIVE_PARTNER,
        DELETE_IN_OUTLOOK,
        LINK,
    }
)
QUIET_KINDS = frozenset({UNCHANGED, SKIP})
VALUE_WIDTH = 60


@dataclass(frozen=True)
class PreviewEntry:
    """One record of the plan as the user sees it."""

    key: str  # the actions' group
    kinds: tuple[str, ...]  # what is checked again at apply time
    section: str
    partner_id: int | None
    outlook_id: str | None
    changes: str
    reason: str
    optional: bool  # the user chooses; otherwise it always goes ahead
    default_selected: bool
    values: Mapping[str, Any] | None  # of a record created in Odoo: its name and email

    @property
    def signature(self) -> str:
        return ",".join(self.kinds)


def preview_entries(plan: Plan) -> list[PreviewEntry]:
    """The plan's records worth showing (not the unchanged ones), in plan order.

    Deletions start unticked: they are the changes a user reviews a sync for, and leaving
    one out loses nothing (both copies stay, no longer synced).
    """
    groups: dict[str, list[Action]] = {}
    for action in [*plan.actions, *plan.withheld]:
        groups.setdefault(action.group, []).append(action)
    entries = []
    for key, actions in groups.items():
        kinds = tuple(a.kind for a in actions)
        if all(kind in QUIET_KINDS for kind in kinds) and not any(a.problems for a in actions):
            continue
        section = next(
            (name for name, wanted in _SECTION_OF if wanted & set(kinds)), INVALID_SECTION
        )
        optional = bool(CHOICE_KINDS & set(kinds))
        entries.append(
            PreviewEntry(
                key=key,
                kinds=kinds,
                section=section,
                partner_id=next((a.partner_id for a in actions if a.partner_id), None),
                outlook_id=next((a.outlook_id for a in actions if a.outlook_id), None),
                changes=_describe_changes(actions),
                reason=_describe_reason(actions),
                optional=optional,
                default_selected=optional and section != DELETION_SECTION,
                values=next((a.values for a in actions if a.kind == CREATE_IN_ODOO), None),
            )
        )
    return entries


def select_actions(plan: Plan, chosen: Mapping[str, str]) -> tuple[Plan, list[str]]:
    """Keep what may go ahead: records ticked with the same kinds, and the non-optional ones.

    ``chosen`` maps a group to the signature the user saw. Returns the reduced plan and the
    groups left aside (not ticked, changed since, or new): the run is then incomplete.
    """
    groups: dict[str, list[Action]] = {}
    for action in plan.actions:
        groups.setdefault(action.group, []).append(action)
    kept, aside = [], []
    for key, actions in groups.items():
        kinds = tuple(a.kind for a in actions)
        if not CHOICE_KINDS & set(kinds) or chosen.get(key) == ",".join(kinds):
            kept.append(key)
        else:
            aside.append(key)
    keep = set(kept)
    return (
        Plan(
            actions=[a for a in plan.actions if a.group in keep],
            blocked=plan.blocked,
            blocked_reason=plan.blocked_reason,
            withheld=list(plan.withheld),
        ),
        aside,
    )


def _describe_changes(actions: list[Action]) -> str:
    parts = []
    sides = {a.direction for a in actions if a.changes}
    for action in actions:
        if not action.changes:
            continue
        side = "Outlook" if action.kind in (UPDATE_OUTLOOK, CREATE_IN_OUTLOOK) else "Odoo"
        creating = action.kind in (CREATE_IN_OUTLOOK, CREATE_IN_ODOO, RECREATE_IN_OUTLOOK)
        texts = [
            f"{FIELD_LABELS[c.field]}: {_value(c.new)}"
            if creating
            else f"{FIELD_LABELS[c.field]}: {_value(c.old)} → {_value(c.new)}"
            for c in action.changes
        ]
        prefix = f"{side}: " if len(sides) > 1 else ""
        parts.append(prefix + "; ".join(texts))
    for action in actions:
        for conflict in action.conflicts:
            parts.append(
                f"{FIELD_LABELS[conflict.field]}: Odoo {_value(conflict.odoo)} / Outlook "
                f"{_value(conflict.outlook)}, kept {conflict.winner}'s"
            )
    return "\n".join(parts)


def _describe_reason(actions: list[Action]) -> str:
    texts = []
    for action in actions:
        for text in (action.reason, *(p.message for p in action.problems if p.message)):
            if text and text not in texts:
                texts.append(text)
    return "; ".join(texts)


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        value = ", ".join(str(v) for v in value if v)
    text = " ".join(str(value or "").split()) or "(empty)"
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
