"""A plan seen as the user reviews it: one entry per record, and the choice applied back.

The preview shows one entry per record (the actions of a plan that share a ``group``), in a
section named after what happens to it. The user ticks entries; at apply time the adapter
plans again and ``select_actions`` keeps, of the new plan, only the records that were ticked
and whose actions are still the same kinds (anything else was not seen as it is now).

What an entry changes is told in English words (``TEXTS``) that ``preview_entries`` passes
through the adapter's ``translate``: the adapter holds them as literals for its translation
tool, this package imports nothing of Odoo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .mapping import FIELD_LABELS
from .photo import PHOTO, PHOTO_LABEL, PHOTO_WORDS
from .planner import (
    ARCHIVE_PARTNER,
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    DELETION_KINDS,
    INVALID,
    KEEP_PHOTO,
    LINK,
    READ_PHOTO,
    RECREATE_IN_OUTLOOK,
    SKIP,
    UNCHANGED,
    UPDATE_ODOO,
    UPDATE_ODOO_PHOTO,
    UPDATE_OUTLOOK,
    UPDATE_OUTLOOK_PHOTO,
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
# Records whose only news is a change a field's own direction keeps on one side.
KEPT_SECTION = "kept"
SECTIONS = (
    CREATE_OUTLOOK_SECTION,
    CREATE_ODOO_SECTION,
    UPDATE_OUTLOOK_SECTION,
    UPDATE_ODOO_SECTION,
    LINK_SECTION,
    CONFLICT_SECTION,
    KEPT_SECTION,
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
    (UPDATE_ODOO_SECTION, {UPDATE_ODOO, UPDATE_ODOO_PHOTO}),
    (UPDATE_OUTLOOK_SECTION, {UPDATE_OUTLOOK, UPDATE_OUTLOOK_PHOTO}),
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
        UPDATE_OUTLOOK_PHOTO,
        UPDATE_ODOO_PHOTO,
        ARCHIVE_PARTNER,
        DELETE_IN_OUTLOOK,
        LINK,
    }
)
# A photo read when the plan is applied (its outcome unknown yet) or only recorded: quiet.
QUIET_KINDS = frozenset({UNCHANGED, SKIP, READ_PHOTO, KEEP_PHOTO})
OUTLOOK_SIDE_KINDS = frozenset({UPDATE_OUTLOOK, CREATE_IN_OUTLOOK, UPDATE_OUTLOOK_PHOTO})
LABELS = {**FIELD_LABELS, PHOTO: PHOTO_LABEL}
VALUE_WIDTH = 60

# The words of the changes, before translation (placeholders as Odoo's translations keep them).
EMPTY_TEXT = "(empty)"
NEW_VALUE_TEXT = "%(field)s: %(new)s"
CHANGED_VALUE_TEXT = "%(field)s: %(old)s → %(new)s"
SIDE_TEXTS = {"Outlook": "Outlook: %(changes)s", "Odoo": "Odoo: %(changes)s"}
CONFLICT_TEXTS = {  # by the side whose value is kept
    "odoo": "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept odoo's",
    "outlook": "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept outlook's",
}
KEPT_TEXTS = {  # by the side whose change stays there (the field's direction)
    "outlook": "%(field)s: Outlook's %(outlook)s stays in Outlook (field synced one way)",
    "odoo": "%(field)s: Odoo's %(odoo)s stays in Odoo (field synced one way)",
    "both": "%(field)s: not synced (Odoo %(odoo)s / Outlook %(outlook)s)",
}
TEXTS = frozenset(
    {
        EMPTY_TEXT,
        NEW_VALUE_TEXT,
        CHANGED_VALUE_TEXT,
        *SIDE_TEXTS.values(),
        *CONFLICT_TEXTS.values(),
        *KEPT_TEXTS.values(),
        *FIELD_LABELS.values(),
        *PHOTO_WORDS,
    }
)


def _untranslated(text: str) -> str:
    return text


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


def preview_entries(
    plan: Plan, translate: Callable[[str], str] = _untranslated
) -> list[PreviewEntry]:
    """The plan's records worth showing (not the unchanged ones), in plan order.

    Deletions start unticked: they are the changes a user reviews a sync for, and leaving
    one out loses nothing (both copies stay, no longer synced). ``translate`` gets each of
    ``TEXTS`` that a description uses and returns it in the user's language.
    """
    groups: dict[str, list[Action]] = {}
    for action in [*plan.actions, *plan.withheld]:
        groups.setdefault(action.group, []).append(action)
    entries = []
    for key, actions in groups.items():
        kinds = tuple(a.kind for a in actions)
        kept = any(a.kept for a in actions)
        quiet = all(kind in QUIET_KINDS for kind in kinds)
        if quiet and not kept and not any(a.problems for a in actions):
            continue
        fallback = KEPT_SECTION if kept else INVALID_SECTION
        section = next((name for name, wanted in _SECTION_OF if wanted & set(kinds)), fallback)
        optional = bool(CHOICE_KINDS & set(kinds))
        entries.append(
            PreviewEntry(
                key=key,
                kinds=kinds,
                section=section,
                partner_id=next((a.partner_id for a in actions if a.partner_id), None),
                outlook_id=next((a.outlook_id for a in actions if a.outlook_id), None),
                changes=_describe_changes(actions, translate),
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


def _describe_changes(actions: list[Action], translate: Callable[[str], str]) -> str:
    def value(raw: Any, name: str = "") -> str:
        if name == PHOTO and raw:
            return translate(raw)  # the photo's words (photo.PHOTO_WORDS), not a value
        return _value(raw) or translate(EMPTY_TEXT)

    def fill(text: str, **values: str) -> str:
        try:
            return translate(text) % values
        except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
            return text % values

    parts = []
    sides = {a.direction for a in actions if a.changes}
    for action in actions:
        if not action.changes:
            continue
        side = "Outlook" if action.kind in OUTLOOK_SIDE_KINDS else "Odoo"
        creating = action.kind in (CREATE_IN_OUTLOOK, CREATE_IN_ODOO, RECREATE_IN_OUTLOOK)
        text = "; ".join(
            fill(
                NEW_VALUE_TEXT if creating else CHANGED_VALUE_TEXT,
                field=translate(LABELS[c.field]),
                old=value(c.old, c.field),
                new=value(c.new, c.field),
            )
            for c in action.changes
        )
        parts.append(fill(SIDE_TEXTS[side], changes=text) if len(sides) > 1 else text)
    for action in actions:
        for conflict in action.conflicts:
            parts.append(
                fill(
                    CONFLICT_TEXTS[conflict.winner],
                    field=translate(LABELS[conflict.field]),
                    odoo=value(conflict.odoo, conflict.field),
                    outlook=value(conflict.outlook, conflict.field),
                )
            )
        for kept in action.kept:
            parts.append(
                fill(
                    KEPT_TEXTS[kept.winner],
                    field=translate(FIELD_LABELS[kept.field]),
                    odoo=value(kept.odoo),
                    outlook=value(kept.outlook),
                )
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
    """A value on one line, cut to VALUE_WIDTH; "" when empty."""
    if isinstance(value, tuple):
        value = ", ".join(str(v) for v in value if v)
    text = " ".join(str(value or "").split())
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
