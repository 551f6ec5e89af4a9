"""Matching unlinked items: our property, then email, then E.164 phone; unique or nothing."""

from sync import Contact, MatchKeys, match_items
from sync.matcher import item_keys

DB = "db1"


def run(items, partners, unlinked=None, linked=None):
    return match_items(
        items,
        set(partners) if unlinked is None else unlinked,
        partners,
        linked or {},
        DB,
    )


def test_property_wins_over_email():
    partners = {1: Contact(name="A", email="a@x.com"), 2: Contact(name="B", email="b@x.com")}
    result = run({"O1": (Contact(name="?", email="a@x.com"), "db1:2")}, partners)
    assert [(m.outlook_id, m.partner_id, m.method) for m in result.matches] == [
        ("O1", 2, "property")
    ]


def test_property_from_another_database_is_ignored():
    partners = {2: Contact(name="B", email="b@x.com")}
    assert not run({"O1": (Contact(name="?"), "other:2")}, partners).matches


def test_second_copy_with_our_property_is_a_duplicate():
    partners = {2: Contact(name="B")}
    result = run({"O1": (Contact(name="B"), "db1:2"), "O2": (Contact(name="B"), "db1:2")}, partners)
    assert [m.outlook_id for m in result.matches] == ["O1"]
    assert "O2" in result.duplicates


def test_email_case_insensitive_and_unique():
    partners = {1: Contact(name="A", email="Ann@X.com")}
    result = run({"O1": (Contact(name="Ann", email="ann@x.COM"), None)}, partners)
    assert [(m.partner_id, m.method) for m in result.matches] == [(1, "email")]


def test_email_shared_by_two_partners_is_ambiguous():
    partners = {1: Contact(name="A", email="a@x.com"), 2: Contact(name="A2", email="A@x.com")}
    result = run({"O1": (Contact(name="A", email="a@x.com"), None)}, partners)
    assert not result.matches
    assert "2 Odoo contacts" in result.unmatched_items["O1"]


def test_email_shared_by_two_items_is_ambiguous():
    partners = {1: Contact(name="A", email="a@x.com")}
    items = {
        "O1": (Contact(name="A", email="a@x.com"), None),
        "O2": (Contact(name="A", email="a@x.com"), None),
    }
    result = run(items, partners)
    assert not result.matches and set(result.unmatched_items) == {"O1", "O2"}


def test_email_of_a_linked_item_counts_for_uniqueness():
    partners = {1: Contact(name="A", email="a@x.com")}
    result = run(
        {"O1": (Contact(name="A", email="a@x.com"), None)},
        partners,
        linked={"O9": Contact(name="Z", email="A@X.com")},
    )
    assert not result.matches


def test_linked_partner_is_never_matched_twice():
    partners = {1: Contact(name="A", email="a@x.com")}
    result = run({"O1": (Contact(name="A", email="a@x.com"), None)}, partners, unlinked=set())
    assert not result.matches
    assert "already linked" in result.unmatched_items["O1"]


def test_phone_match_by_e164_when_email_does_not_decide():
    partners = {
        1: Contact(name="A", phone="+32 2 555 12 12"),
        2: Contact(name="B", mobile="+32 475 12 34 56"),
    }
    items = {
        "O1": (Contact(name="A'", mobile="+32-2-555-1212"), None),
        "O2": (Contact(name="B'", phone="+32 475 12 34 56 ext. 3"), None),
        "O3": (Contact(name="C", phone="garbage"), None),
    }
    result = run(items, partners)
    assert sorted((m.outlook_id, m.partner_id, m.method) for m in result.matches) == [
        ("O1", 1, "phone"),
        ("O2", 2, "phone"),
    ]


def test_matching_is_deterministic_and_one_to_one():
    partners = {i: Contact(name=str(i), email=f"{i}@x.com") for i in range(20)}
    items = {f"O{i:02d}": (Contact(name="x", email=f"{i}@X.com"), None) for i in range(20)}
    first = run(items, partners).matches
    assert first == run(dict(reversed(items.items())), partners).matches
    assert len({m.partner_id for m in first}) == len(first) == 20


def test_item_keys_are_what_matching_compares():
    items = {
        "O1": (Contact(name="A", email=" Ann@X.com", mobile="+32 475 12 34 56 ext. 3"), None),
        "O2": (Contact(name="B", phone="+32 2 555 12 12", mobile="garbage"), "db1:7"),
        "O3": (Contact(name="C"), "other:8"),
    }
    assert item_keys(items, DB) == MatchKeys(
        partner_ids={7}, emails={"ann@x.com"}, phones={"+32475123456", "+3225551212"}
    )
