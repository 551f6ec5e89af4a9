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
    """Categories to add to the master list (name, colour), then ids to delete from it."""

    create: tuple[tuple[str, str], ...] = ()
    delete: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.create or self.delete)


def plan_master_categories(
    existing: Iterable[Mapping],
    wanted: Mapping[str, str],
    renames: Iterable[tuple[str, str]] = (),
) -> MasterCategoryPlan:
    """What the master list needs.

    ``existing``: its categories ({id, displayName, color}); ``wanted``: name -> colour of the
    tags the run writes to Outlook; ``renames``: (old name, new name) of tags renamed in Odoo,
    oldest first. A renamed tag's category gets the new name (Graph cannot rename: the new
    one is created with the old one's colour, the old one deleted); a wanted name missing
    from the list is created in its tag's colour. Existing categories keep their colour (a
    user may recolour them in Outlook). Names compare without case, as Outlook does.
    """
    by_name: dict[str, dict] = {}
    for category in existing:
        name = category.get("displayName")
        if isinstance(name, str) and name.strip():
            by_name.setdefault(name.casefold(), dict(category))
    create: dict[str, tuple[str, str]] = {}
    delete: list[str] = []
    for old, new in renames:
        if not old or not new or old.casefold() == new.casefold():
            continue
        gone = by_name.pop(old.casefold(), None)
        if gone is None:
            continue
        if gone.get("id"):
            delete.append(gone["id"])
        create.pop(old.casefold(), None)  # made by an earlier rename of this plan: never sent
        if new.casefold() not in by_name:
            color = gone.get("color") if isinstance(gone.get("color"), str) else "none"
            by_name[new.casefold()] = {"displayName": new, "color": color}
            create[new.casefold()] = (new, color)
    for name, color in wanted.items():
        if name and name.strip() and name.casefold() not in by_name:
            by_name[name.casefold()] = {"displayName": name, "color": color}
            create[name.casefold()] = (name, color)
    return MasterCategoryPlan(tuple(create.values()), tuple(dict.fromkeys(delete)))
