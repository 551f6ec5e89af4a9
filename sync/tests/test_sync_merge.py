"""The three-way merge table, conflict policies, empty-value safety, one-way directions."""

import pytest

from sync import Contact, merge_contacts

B = Contact(name="Base", phone="+32 2 555 12 12", city="Brussels", categories=("A", "B"))


def merge(odoo, outlook, base=B, **kwargs):
    return merge_contacts(base, odoo, outlook, **kwargs)


def c(**changes):
    return Contact(**{**B.to_snapshot(), **changes})


@pytest.mark.parametrize(
    ("odoo", "outlook", "expected", "conflict"),
    [
        (c(), c(), "Brussels", False),  # nobody changed
        (c(city="Gent"), c(), "Gent", False),  # Odoo only
        (c(), c(city="Liège"), "Liège", False),  # Outlook only
        (c(city="Gent"), c(city="Gent"), "Gent", False),  # both, same value
        (c(city="Gent"), c(city="Liège"), "Gent", True),  # both, differently: policy odoo
        (c(city=""), c(), "", False),  # cleared in Odoo: propagates
        (c(), c(city=""), "Brussels", False),  # cleared in Outlook: ignored, Odoo kept
        (c(city="Gent"), c(city=""), "Gent", False),
    ],
)
def test_merge_table(odoo, outlook, expected, conflict):
    result = merge(odoo, outlook)
    assert result.odoo.city == result.outlook.city == result.base.city == expected
    assert bool(result.conflicts) == conflict


def test_conflicts_report_both_values_and_the_winner():
    result = merge(c(city="Gent"), c(city="Liège"), conflict_policy="outlook")
    assert result.odoo.city == "Liège"
    (decision,) = result.conflicts
    assert (decision.field, decision.odoo, decision.outlook, decision.winner) == (
        "city",
        "Gent",
        "Liège",
        "outlook",
    )


@pytest.mark.parametrize(
    ("odoo_at", "outlook_at", "winner"),
    [
        ("2026-01-01 10:00:00", "2026-01-01T10:00:01Z", "Liège"),
        ("2026-01-01 10:00:02", "2026-01-01T10:00:01.1234567Z", "Gent"),
        (None, "2026-01-01T10:00:01Z", "Gent"),  # unknown clock: Odoo
        ("2026-01-01 10:00:00", "2026-01-01T10:00:00Z", "Gent"),  # tie: Odoo
    ],
)
def test_newest_policy(odoo_at, outlook_at, winner):
    result = merge(
        c(city="Gent"),
        c(city="Liège"),
        conflict_policy="newest",
        odoo_modified=odoo_at,
        outlook_modified=outlook_at,
    )
    assert result.odoo.city == winner and result.conflicts


def test_outlook_may_clear():
    assert merge(c(), c(city=""), outlook_may_clear=True).odoo.city == ""


def test_compared_forms_do_not_conflict():
    result = merge(c(email="A@X.com"), c(email="a@x.com"), base=c(email="old@x.com"))
    assert not result.conflicts


def test_tags_merge_additions_and_removals_without_conflict():
    result = merge(c(categories=("A", "B", "C")), c(categories=("A",)))
    assert result.odoo.categories == ("A", "C")
    assert not result.conflicts


def test_first_link_fills_gaps_and_conflicts_on_differences():
    odoo = Contact(name="X", email="x@x.com", city="Gent")
    outlook = Contact(name="X", phone="+32 2 555 12 12", city="Liège")
    result = merge_contacts(None, odoo, outlook)
    assert (result.odoo.email, result.odoo.phone, result.odoo.city) == (
        "x@x.com",
        "+32 2 555 12 12",
        "Gent",
    )
    assert [d.field for d in result.conflicts] == ["city"]


def test_odoo_to_outlook_copies_odoo_changes_and_leaves_outlook_edits():
    result = merge(c(city="Gent"), c(name="Renamed in Outlook"), direction="odoo_to_outlook")
    assert result.outlook.city == "Gent"
    assert result.outlook.name == "Renamed in Outlook"  # not reverted
    assert result.odoo == c(city="Gent")  # nothing written to Odoo
    assert result.base.name == "Base"


def test_outlook_to_odoo_copies_outlook_changes_only():
    result = merge(c(city="Gent"), c(name="Renamed"), direction="outlook_to_odoo")
    assert (result.odoo.name, result.odoo.city) == ("Renamed", "Gent")
    assert result.outlook == c(name="Renamed")
    empty = merge(c(), c(city=""), direction="outlook_to_odoo")
    assert empty.odoo.city == "Brussels"  # empty never wipes


@pytest.mark.parametrize(
    ("direction", "policy", "odoo_city", "outlook_city"),
    [
        # Into Odoo: an Odoo edit of the same field is kept when Odoo wins (the import of the
        # default folder must not overwrite what the user typed in Odoo).
        ("outlook_to_odoo", "odoo", "Gent", "Liège"),
        ("outlook_to_odoo", "outlook", "Liège", "Liège"),
        # Into Outlook: an Outlook edit of the same field is kept when Outlook wins.
        ("odoo_to_outlook", "outlook", "Gent", "Liège"),
        ("odoo_to_outlook", "odoo", "Gent", "Gent"),
    ],
)
def test_one_way_fields_changed_on_both_sides_follow_the_conflict_policy(
    direction, policy, odoo_city, outlook_city
):
    result = merge(c(city="Gent"), c(city="Liège"), direction=direction, conflict_policy=policy)
    assert (result.odoo.city, result.outlook.city) == (odoo_city, outlook_city)
    (decision,) = result.conflicts
    assert decision.field == "city"
