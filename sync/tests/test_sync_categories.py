"""Master categories: a stable colour per tag, and a renamed tag's category renamed."""

from sync.categories import (
    ODOO_COLOR_PRESETS,
    MasterCategoryPlan,
    category_color,
    plan_master_categories,
)

LIST = [
    {"id": "c1", "displayName": "Red category", "color": "preset0"},
    {"id": "c2", "displayName": "VIP", "color": "preset15"},
]


def test_each_odoo_colour_has_its_own_preset():
    presets = [category_color(i) for i in range(12)]
    assert len(set(presets)) == 12
    assert category_color(0) == "none" and category_color(1) == "preset0"
    assert all(p == "none" or p.startswith("preset") for p in ODOO_COLOR_PRESETS.values())
    assert category_color(None) == "none" and category_color(42) == "none"
    assert category_color("x") == "none"


def test_missing_categories_are_created_in_their_tags_colour():
    plan = plan_master_categories(LIST, {"vip": "preset1", "Lead": "preset4"})
    assert plan == MasterCategoryPlan(create=(("Lead", "preset4"),))  # VIP keeps its colour
    assert not plan_master_categories(LIST, {"VIP": "preset1"})


def test_a_renamed_tag_renames_its_category_keeping_its_colour():
    plan = plan_master_categories(LIST, {"Key Account": "preset9"}, [("vip", "Key Account")])
    assert plan == MasterCategoryPlan(create=(("Key Account", "preset15"),))
    # Renamed twice before a run: one category, under the last name, in the first colour.
    twice = plan_master_categories(LIST, {"B": "preset9"}, [("VIP", "A"), ("A", "B")])
    assert twice == MasterCategoryPlan(create=(("B", "preset15"),))
    # The new name exists already: nothing to add. Nothing is ever deleted.
    assert not plan_master_categories(LIST, {"red category": "preset9"}, [("VIP", "red category")])
    # A renamed tag no contact of this run carries: this mailbox's list is left alone.
    assert not plan_master_categories(LIST, {}, [("VIP", "Key Account")])
    assert not plan_master_categories(LIST, {}, [("Nope", "X"), ("VIP", "vip")])
