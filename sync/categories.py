"""Outlook's master categories for the tags the sync writes: which to create, in which colour,
and what a renamed tag does to the master list. Pure: the adapter reads the list and applies
the plan through graph.MasterCategories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Odoo's tag colours (web's ColorList: 0 no colour, 1 red ... 11 violet) -> Outlook presets
# (preset0 red, 1 orange, 2 brown, 3 yellow, 4 green, 5 teal, 7 blue, 8 purple, 9 cranberry,
# 22 dark blue, 23 dark purple): the nearest, each Odoo colour its own.
ODOO_COLOR_PRESETS = {
    0: "none",
    1: "preset0",  # red
    2: "preset1",  # orange
    3: "preset3",  # yellow
    4: "preset7",  # cyan -> blue
    5: "preset23",  # purple -> dark purple
    6: "preset2",  # almond -> brown
    7: "preset5",  # teal
    8: "preset22",  # blue -> dark blue
    9: "preset9",  # raspberry -> cranberry
    10: "preset4",  # green
    11: "preset8",  # violet -> purple
}


def category_color(odoo_color: int | None) -> str:
    """The Outlook colour of a tag's category: fixed by the tag's colour, the same every run."""
    try:
        return ODOO_COLOR_PRESETS.get(int(odoo_color or 0), "none")
    except (TypeError, ValueError):
        return "none"


@dataclass(frozen=True)
class MasterCategoryPlan:
    """Categories to add to the master list: (name, colour)."""

    create: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.create)


def plan_master_categories(
    existing: Iterable[Mapping],
    wanted: Mapping[str, str],
    renames: Iterable[tuple[str, str]] = (),
) -> MasterCategoryPlan:
    """What the master list needs.

    ``existing``: its categories ({id, displayName, color}); ``wanted``: name -> colour of the
    tags the run writes to Outlook; ``renames``: (old name, new name) of tags renamed in Odoo,
    oldest first. A wanted name missing from the list is created in its tag's colour, or in
    the colour of the category its tag had before a rename (Graph cannot rename a category).
    Nothing is deleted: the old category may colour the user's mails and events, and the
    list is theirs. Existing categories keep their colour (a user may recolour them in
    Outlook). Names compare without case, as Outlook does.
    """
    by_name: dict[str, dict] = {}
    for category in existing:
        name = category.get("displayName")
        if isinstance(name, str) and name.strip():
            by_name.setdefault(name.casefold(), dict(category))
    inherited: dict[str, str] = {}  # new name -> the colour its tag's category had
    for old, new in renames:
        if not old or not new or old.casefold() == new.casefold():
            continue
        color = inherited.pop(old.casefold(), None)
        if color is None and old.casefold() in by_name:
            color = by_name[old.casefold()].get("color")
        if isinstance(color, str):
            inherited[new.casefold()] = color
    create: dict[str, tuple[str, str]] = {}
    for name, color in wanted.items():
        if name and name.strip() and name.casefold() not in by_name:
            create[name.casefold()] = (name, inherited.get(name.casefold(), color))
    return MasterCategoryPlan(tuple(create.values()))
