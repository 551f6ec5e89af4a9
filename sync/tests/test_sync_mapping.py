"""Graph <-> Contact <-> Odoo values, PATCH payloads, validation of bad input, snapshots."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import (
    PARTNER_REF_PROPERTY_ID,
    Contact,
    CountryResolver,
    MappingContext,
    OutlookState,
    Snapshot,
    apply_patch,
    build_outlook_patch,
    check_payload_limits,
    contact_to_graph,
    contact_to_odoo_values,
    odoo_to_contact,
    parse_graph_contact,
    parse_partner_ref,
    partner_ref_value,
)
from sync import problems as P

COUNTRIES = CountryResolver(
    {"BE": "Belgium", "FR": "France", "US": "United States"},
    states={"US": {"CA": "California", "NY": "New York"}},
)
CTX = MappingContext(COUNTRIES, "BE")


def codes(problems, errors_only=False):
    return {p.code for p in problems if p.is_error or not errors_only}


# --- round trips --------------------------------------------------------------------------

partner_values = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Jean-Luc Picard", "Anna van der Berg", "Ñúñez", "Li"]),
        "title": st.sampled_from(["", "Doctor"]),
        "function": st.sampled_from(["", "CEO"]),
        "company_name": st.sampled_from(["", "Acme"]),
        "email": st.sampled_from(["", "a@x.com", "Mixed.Case@Example.org"]),
        "phone": st.sampled_from(
            ["", "02 555 12 12", "+33 1 42 68 53 00", "n/a", "+32 2 555 12 12 x5"]
        ),
        "mobile": st.sampled_from(["", "0475 12 34 56", "+1 415 555 2671"]),
        "street": st.sampled_from(["", "1 Main St"]),
        "street2": st.sampled_from(["", "Bat B"]),
        "city": st.sampled_from(["", "Brussels"]),
        "zip": st.sampled_from(["", "1000"]),
        "address": st.sampled_from([("BE", "", ""), ("US", "CA", "California"), ("", "", "")]),
        "website": st.sampled_from(["", "www.odoo.com", "https://x.org/a"]),
        "comment": st.sampled_from(
            ["", "<p>Hi<br>there</p>", "<p>a &amp; b</p><p>c</p>", "<b>x</b>"]
        ),
        "category_names": st.lists(st.sampled_from(["VIP", "Lead", "vip"]), max_size=3),
    }
).map(
    lambda v: {k: x for k, x in v.items() if k != "address"}
    | dict(zip(("country_code", "state_code", "state_name"), v["address"], strict=True))
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(partner_values)
def test_odoo_outlook_odoo_is_identity_on_mapped_fields(values):
    contact, _ = odoo_to_contact(values, CTX)
    item = {**contact_to_graph(contact, CTX), "id": "X"}
    back = parse_graph_contact(item, CTX)
    assert back.contact.same_as(contact)
    again, _ = odoo_to_contact(contact_to_odoo_values(back.contact), CTX)
    assert again.same_as(contact)
    assert again == back.contact  # values written by sync are already canonical


def test_graph_contact_read():
    item = {
        "id": "A1",
        "givenName": "Jean-Luc",
        "surname": "Picard",
        "emailAddresses": [
            {"name": "JL", "address": " JL@Enterprise.org "},
            {"name": "", "address": "second@x.com"},
        ],
        "businessPhones": ["02 555 12 12", "02 555 12 13"],
        "homePhones": ["+32 3 444 44 44"],
        "mobilePhone": "0475 12 34 56",
        "businessAddress": {
            "street": "1 Rue Haute\r\nBâtiment B\nEtage 3",
            "city": "Bruxelles",
            "postalCode": "1000",
            "countryOrRegion": "belgium",
        },
        "businessHomePage": "www.starfleet.org",
        "personalNotes": "line 1\r\nline <2>",
        "categories": ["VIP", "vip", "Lead"],
        "lastModifiedDateTime": "2026-01-02T03:04:05Z",
        "singleValueExtendedProperties": [{"id": PARTNER_REF_PROPERTY_ID, "value": "db:42"}],
    }
    parsed = parse_graph_contact(item, CTX)
    c = parsed.contact
    assert c.name == "Jean-Luc Picard"  # no displayName: joined from the parts
    assert c.email == "JL@Enterprise.org"
    assert c.phone == "+32 2 555 12 12" and c.mobile == "+32 475 12 34 56"
    assert (c.street, c.street2, c.city, c.zip, c.country_code) == (
        "1 Rue Haute",
        "Bâtiment B, Etage 3",
        "Bruxelles",
        "1000",
        "BE",
    )
    assert c.website == "http://www.starfleet.org"
    assert c.notes == "line 1\nline <2>"
    assert c.categories == ("Lead", "VIP")
    assert parsed.state.emails[1] == ("", "second@x.com")
    assert parse_partner_ref(parsed.partner_ref, "db") == 42
    assert parse_partner_ref(parsed.partner_ref, "other-db") is None
    assert parsed.problems == ()


def test_home_phone_is_the_phone_only_without_business_phones():
    item = {"id": "A", "displayName": "X", "homePhones": ["+32 3 444 44 44"]}
    assert parse_graph_contact(item, CTX).contact.phone == "+32 3 444 44 44"
    item["businessPhones"] = ["+32 2 555 12 12"]
    assert parse_graph_contact(item, CTX).contact.phone == "+32 2 555 12 12"


def test_nameless_outlook_contact_with_an_email_is_valid():
    parsed = parse_graph_contact({"id": "A", "emailAddresses": [{"address": "a@x.com"}]}, CTX)
    assert parsed.contact.name == "" and not codes(parsed.problems, errors_only=True)
    odoo, _ = odoo_to_contact({"name": False, "email": "a@x.com"}, CTX)
    assert odoo.name == "a@x.com"  # a partner always has a name


# --- PATCH payloads -----------------------------------------------------------------------


def outlook_item():
    return {
        "id": "A",
        "displayName": "Old Name",
        "emailAddresses": [
            {"name": "Old", "address": "old@x.com"},
            {"name": "Two", "address": "two@x.com"},
            {"name": "Three", "address": "three@x.com"},
        ],
        "businessPhones": ["+32 2 555 12 12", "+32 2 555 12 99"],
        "homePhones": ["+32 3 444 44 44"],
        "businessAddress": {"street": "1 Main", "countryOrRegion": "Narnia", "state": "Cair"},
    }


def test_patch_keeps_other_emails_and_second_business_phone():
    parsed = parse_graph_contact(outlook_item(), CTX)
    target = Contact(
        **{**parsed.contact.to_snapshot(), "email": "new@x.com", "phone": "+32 2 555 00 00"}
    )
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert patch["displayName"] == "Old Name"  # always sent
    assert [e["address"] for e in patch["emailAddresses"]] == [
        "new@x.com",
        "two@x.com",
        "three@x.com",
    ]
    assert patch["businessPhones"] == ["+32 2 555 00 00", "+32 2 555 12 99"]
    assert "homePhones" not in patch and "givenName" not in patch
    assert not check_payload_limits(patch)
    after = parse_graph_contact(apply_patch(outlook_item(), patch), CTX)
    assert after.contact.same_as(target)


def test_patch_only_changed_fields_and_names_when_renamed():
    parsed = parse_graph_contact(outlook_item(), CTX)
    assert build_outlook_patch(parsed.contact, parsed.state, parsed.contact, CTX) == {}
    target = Contact(**{**parsed.contact.to_snapshot(), "name": "Anna van der Berg"})
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert patch == {  # Outlook's middle name (none here) is left alone
        "displayName": "Anna van der Berg",
        "givenName": "Anna",
        "surname": "van der Berg",
    }


def test_address_write_keeps_unresolved_country_text():
    parsed = parse_graph_contact(outlook_item(), CTX)
    assert codes(parsed.problems) == {P.UNKNOWN_COUNTRY, P.UNKNOWN_STATE}
    assert parsed.contact.country_code == ""  # unknown: not synced, so never wiped in Odoo
    target = Contact(**{**parsed.contact.to_snapshot(), "city": "Cair Paravel"})
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert patch["businessAddress"]["countryOrRegion"] == "Narnia"
    assert patch["businessAddress"]["state"] == "Cair"


def test_clearing_the_first_email_moves_the_next_one_up():
    parsed = parse_graph_contact(outlook_item(), CTX)
    target = Contact(**{**parsed.contact.to_snapshot(), "email": ""})
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert [e["address"] for e in patch["emailAddresses"]] == ["two@x.com", "three@x.com"]


def test_payload_limits():
    four = {"emailAddresses": [{"address": f"{i}@x.com"} for i in range(4)]}
    three_phones = {"businessPhones": ["+32 2 555 12 12"] * 3}
    assert codes(check_payload_limits(four)) == {P.TOO_MANY_EMAILS}
    assert codes(check_payload_limits(three_phones)) == {P.TOO_MANY_BUSINESS_PHONES}


def test_create_payload_carries_our_reference():
    body = contact_to_graph(Contact(name="A B"), CTX, partner_ref=partner_ref_value("db", 7))
    assert body["singleValueExtendedProperties"] == [
        {"id": PARTNER_REF_PROPERTY_ID, "value": "db:7"}
    ]
    assert (body["givenName"], body["surname"], body["displayName"]) == ("A", "B", "A B")


def test_categories_off_are_neither_read_nor_written():
    ctx = MappingContext(COUNTRIES, "BE", sync_categories=False)
    parsed = parse_graph_contact({"id": "A", "displayName": "X", "categories": ["VIP"]}, ctx)
    assert parsed.contact.categories == ()
    assert "categories" not in contact_to_graph(parsed.contact, ctx)
    contact, _ = odoo_to_contact({"name": "X", "category_names": ["VIP"]}, ctx)
    assert contact.categories == ()


# --- bad input: problems, never exceptions ------------------------------------------------


@pytest.mark.parametrize(
    ("item", "code", "severity"),
    [
        ({"id": "A", "displayName": "X", "emailAddresses": "a@x.com"}, P.WRONG_TYPE, P.ERROR),
        ({"id": "A", "displayName": "X", "emailAddresses": [42]}, P.WRONG_TYPE, P.ERROR),
        ({"id": "A", "givenName": 42, "surname": "X"}, P.WRONG_TYPE, P.WARNING),
        ({"id": "A", "displayName": ["X"]}, P.WRONG_TYPE, P.ERROR),
        ({"id": "A", "displayName": "X", "businessAddress": "Main St"}, P.WRONG_TYPE, P.ERROR),
        ({"id": "A", "displayName": "X", "businessPhones": "02"}, P.WRONG_TYPE, P.ERROR),
        ({"id": "A", "displayName": "X", "businessPhones": [{"n": 1}]}, P.WRONG_TYPE, P.ERROR),
        ({"displayName": "X"}, P.NO_ID, P.ERROR),
        ({"id": "A"}, P.NO_NAME_NO_EMAIL, P.ERROR),
        ({"id": "A", "displayName": "x" * 10_000}, P.NAME_TOO_LONG, P.ERROR),
        ({"id": "A", "displayName": "X", "personalNotes": "n" * 40_000}, P.VALUE_TOO_LONG, P.ERROR),
        ({"id": "A", "emailAddresses": [{"address": "not an email"}]}, P.INVALID_EMAIL, P.ERROR),
        ({"id": "A", "emailAddresses": [{"address": "a@b"}]}, P.INVALID_EMAIL, P.ERROR),
        ({"id": "A", "displayName": "X", "mobilePhone": "ring me"}, P.INVALID_PHONE, P.WARNING),
        (
            {"id": "A", "emailAddresses": [{"address": f"{i}@x.com"} for i in range(4)]},
            P.TOO_MANY_EMAILS,
            P.WARNING,
        ),
        (
            {"id": "A", "displayName": "X", "businessAddress": {"countryOrRegion": "Atlantis"}},
            P.UNKNOWN_COUNTRY,
            P.WARNING,
        ),
    ],
)
def test_bad_graph_input_becomes_a_problem(item, code, severity):
    parsed = parse_graph_contact(item, CTX)
    found = [p for p in parsed.problems if p.code == code]
    assert found and found[0].severity == severity
    assert all(p.message[0].isupper() for p in parsed.problems)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "displayName",
                "givenName",
                "emailAddresses",
                "businessPhones",
                "homePhones",
                "businessAddress",
                "categories",
                "personalNotes",
                "mobilePhone",
                "businessHomePage",
                "singleValueExtendedProperties",
                "lastModifiedDateTime",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["address", "street", "id", "value"]), inner),
            max_leaves=6,
        ),
    )
    | st.none()
    | st.integers()
)
def test_any_json_parses_without_exception(item):
    parsed = parse_graph_contact(item, CTX)
    assert isinstance(parsed.contact, Contact)
    json.dumps([p.message for p in parsed.problems])


def test_odoo_values_with_html_notes_and_false_values():
    contact, problems = odoo_to_contact(
        {
            "name": "X",
            "email": False,
            "phone": "02 555 12 12",
            "company_country_code": "BE",  # the company's country reads the national number
            "comment": "<p>Visit <a href='https://x'>site</a><br>soon &amp; often</p>",
        },
        MappingContext(COUNTRIES, None),
    )
    assert contact.phone == "+32 2 555 12 12"
    assert contact.notes == "Visit site\nsoon & often"
    assert contact.email == "" and not problems


def test_odoo_values_written_back():
    contact = Contact(
        name="A", notes="a <b>\nc", state_code="CA", state_name="California", country_code="US"
    )
    values = contact_to_odoo_values(contact, ["notes", "state"])
    assert values == {
        "comment": "<p>a &lt;b&gt;<br>c</p>",
        "country_code": "US",
        "state_code": "CA",
        "state_name": "California",
    }
    assert contact_to_odoo_values(Contact(), ["phone"]) == {"phone": False}


# --- the neutral value --------------------------------------------------------------------


def test_contact_is_hashable_and_snapshot_round_trips():
    contact = Contact(name="Ñ", email="A@x.com", categories=("b", "A", "a"))
    assert contact.categories == ("A", "b")
    assert hash(contact) == hash(Contact(name="Ñ", email="A@x.com", categories=("A", "b")))
    data = json.loads(json.dumps(contact.to_snapshot()))
    assert Contact.from_snapshot(data) == contact
    assert Contact.from_snapshot({"name": "x", "unknown": 1, "email": None}).email == ""


def test_fingerprint_uses_compared_forms():
    a = Contact(name="A", email="A@X.com", phone="+32 2 555 12 12", website="HTTP://X.com/")
    b = Contact(name="A", email="a@x.com", phone="+32-2-555-1212", website="http://x.com")
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != Contact(name="B").fingerprint()
    assert len(a.fingerprint()) == 64


def test_link_snapshot_round_trips_through_json():
    base = Contact(name="A", email="a@x.com")
    snap = Snapshot(base, base, OutlookState(emails=(("n", "a@x.com"),), home_phones=("1",)))
    data = json.loads(json.dumps(snap.to_json()))
    assert "outlook" not in data  # same as base: stored once
    assert Snapshot.from_json(data) == snap
    other = Snapshot(base, Contact(name="B"), OutlookState())
    assert Snapshot.from_json(json.loads(json.dumps(other.to_json()))) == other
    assert Snapshot.from_json(None) is None and Snapshot.from_json({"x": 1}) is None
