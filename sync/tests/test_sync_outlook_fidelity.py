"""Nothing Outlook holds is dropped or overwritten by a field Odoo lacks.

A rich Outlook contact (every property of a Graph contact) is synced with its partner; then
each Odoo field is changed in turn, and the update that reaches Outlook must leave every
property Odoo has no field for as it was: the middle name, nickname, birthday, IM addresses,
home and other addresses, the second and third emails, the second business phone, the home
phones, the notes as typed, the parts of the address that did not change.
"""

from __future__ import annotations

import copy
import json

import pytest
from sync_fakes import COUNTRIES, CTX, DB

from sync import (
    OutlookState,
    Policies,
    apply_patch,
    build_outlook_patch,
    contact_to_graph,
    contact_to_odoo_values,
    parse_graph_contact,
    plan_sync,
)
from sync.contact import HOME_ADDRESS, Snapshot
from sync.mapping import OUTLOOK_ONLY, name_parts, recreate_body
from sync.planner import (
    CREATE_IN_ODOO,
    RECREATE_IN_OUTLOOK,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
    Link,
    OdooPartner,
    OdooSide,
    OutlookChanges,
)

RICH = {
    "id": "R1",
    "changeKey": "ck1",
    "displayName": "Jean Luc Picard",
    "givenName": "Jean",
    "middleName": "Luc",
    "surname": "Picard",
    "nickName": "JL",
    "initials": "J.L.P.",
    "generation": "Sr.",
    "fileAs": "Picard, Jean",
    "title": "Captain",
    "jobTitle": "Commanding officer",
    "companyName": "Starfleet",
    "department": "Command",
    "officeLocation": "Bridge",
    "profession": "Officer",
    "manager": "Admiral Nechayev",
    "assistantName": "Number One",
    "spouseName": "Beverly",
    "children": ["René"],
    "birthday": "2305-07-13T11:59:00Z",
    "yomiGivenName": "ジャン",
    "yomiSurname": "ピカード",
    "yomiCompanyName": "スターフリート",
    "emailAddresses": [
        {"name": "Jean-Luc (work)", "address": "jl@starfleet.org"},
        {"name": "Home", "address": "jl@home.fr"},
        {"name": "Old", "address": "third@x.org"},
    ],
    "businessPhones": ["+32 2 555 12 12", "02 555 12 13"],
    "homePhones": ["+33 3 80 00 00 00", "+33 3 80 00 00 01"],
    "mobilePhone": "+32 475 12 34 56",
    "businessAddress": {
        "street": "1 Rue Haute\r\nBâtiment B",
        "city": "Bruxelles",
        "state": "",
        "postalCode": "1000",
        "countryOrRegion": "belgium",
    },
    "homeAddress": {
        "street": "Château Picard",
        "city": "La Barre",
        "state": "Bourgogne",
        "postalCode": "21000",
        "countryOrRegion": "France",
    },
    "otherAddress": {"street": "USS Enterprise\nDeck 8", "city": "", "countryOrRegion": ""},
    "imAddresses": ["sip:jl@starfleet.org", "jl@im.example"],
    "businessHomePage": "https://starfleet.org",
    "personalNotes": "Earl Grey,   hot.\r\n\r\n\tMake it so.  ",
    "categories": ["VIP"],
}
# What Outlook keeps whatever Odoo changes (besides OUTLOOK_ONLY).
KEPT_BY_RULE = ("middleName",)

# One change of each Odoo field (res.partner values as the adapter gives them).
ODOO_EDITS = {
    "name": {"name": "Jean Luc Picard-Crusher"},
    "title": {"title": "Admiral"},
    "function": {"function": "Ambassador"},
    "company_name": {"company_name": "Federation"},
    "email": {"email": "captain@starfleet.org"},
    "phone": {"phone": "+32 2 555 99 99"},
    "mobile": {"mobile": "+32 476 00 00 00"},
    "street": {"street": "2 Rue Basse"},
    "street2": {"street2": "Étage 3"},
    "city": {"city": "Gent"},
    "state": {"country_code": "US", "state_code": "CA", "state_name": "California"},
    "zip": {"zip": "9000"},
    "country_code": {"country_code": "FR", "state_code": False, "state_name": False},
    "website": {"website": "https://federation.org"},
    "notes": {"comment": "<p>Tea.</p>"},
    "categories": {"category_names": ["VIP", "Captains"]},
}
# The Graph properties each Odoo field may change (and displayName, always sent).
GRAPH_OF = {
    "name": {"givenName", "surname", "fileAs"},
    "title": {"title"},
    "function": {"jobTitle"},
    "company_name": {"companyName"},
    "email": {"emailAddresses"},
    "phone": {"businessPhones"},
    "mobile": {"mobilePhone"},
    "street": {"businessAddress"},
    "street2": {"businessAddress"},
    "city": {"businessAddress"},
    "state": {"businessAddress", "mobilePhone", "businessPhones"},
    "zip": {"businessAddress"},
    "country_code": {"businessAddress", "mobilePhone", "businessPhones"},
    "website": {"businessHomePage"},
    "notes": {"personalNotes"},
    "categories": {"categories"},
}


def synced_pair(item=RICH, ctx=CTX):
    """The rich item, its partner and their link, in sync as after a previous run."""
    parsed = parse_graph_contact(item, ctx)
    assert not [p for p in parsed.problems if p.is_error]
    values = contact_to_odoo_values(parsed.contact)
    link = Link(item["id"], 7, Snapshot(parsed.contact, parsed.contact, parsed.state), "ck1")
    return parsed, values, link


def plan_edit(values, link, item, policies=None, in_round=True):
    return plan_sync(
        policies or Policies(),
        [link],
        OutlookChanges(items=[item] if in_round else []),
        OdooSide(partners=[OdooPartner(7, values)]),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )


def test_every_odoo_field_has_an_edit_here():
    from sync.mapping import MERGE_FIELDS

    assert set(ODOO_EDITS) == set(MERGE_FIELDS), "add the new field's edit to ODOO_EDITS"


@pytest.mark.parametrize("in_round", [True, False], ids=["read this round", "from snapshot"])
@pytest.mark.parametrize("field", sorted(ODOO_EDITS))
def test_an_odoo_edit_leaves_what_odoo_lacks_in_outlook(field, in_round):
    parsed, values, link = synced_pair()
    edited = {**values, **ODOO_EDITS[field]}
    plan = plan_edit(edited, link, RICH, in_round=in_round)
    updates = plan.of_kind(UPDATE_OUTLOOK)
    assert len(updates) == 1, [a.kind for a in plan.actions]
    patch = updates[0].payload
    allowed = {"displayName", *GRAPH_OF[field]}
    assert set(patch) <= allowed, f"{field} also sent {set(patch) - allowed}"
    after = apply_patch(RICH, patch)
    for key in (*OUTLOOK_ONLY, *KEPT_BY_RULE):
        if key == "fileAs" and field == "name":
            continue  # follows the name: below
        assert after.get(key) == RICH.get(key), f"{field} changed Outlook's {key}"
    assert after["emailAddresses"][1:] == RICH["emailAddresses"][1:]
    assert after["businessPhones"][1:] == RICH["businessPhones"][1:]
    assert after["homePhones"] == RICH["homePhones"]
    if field != "notes":
        assert after["personalNotes"] == RICH["personalNotes"]  # as typed, spaces and all
    if field not in ("street", "street2"):
        assert after["businessAddress"]["street"] == RICH["businessAddress"]["street"]
    if field == "name":
        assert after["displayName"] == "Jean Luc Picard-Crusher"
        assert (after["givenName"], after["middleName"], after["surname"]) == (
            "Jean",
            "Luc",
            "Picard-Crusher",
        )
        assert after["fileAs"] == "Picard-Crusher, Jean"
    else:
        assert after["displayName"] == RICH["displayName"]
    # The edit landed, and Odoo has nothing left to learn from Outlook.
    landed = parse_graph_contact(after, CTX).contact
    wanted = parse_graph_contact(apply_patch(RICH, patch), CTX).contact
    assert landed == wanted
    assert not plan.of_kind(UPDATE_ODOO) or field in ("state", "country_code")


def test_nothing_is_sent_when_nothing_changed():
    parsed, values, link = synced_pair()
    plan = plan_edit(values, link, RICH)
    assert not plan.has_writes
    assert build_outlook_patch(parsed.contact, parsed.state, parsed.contact, CTX) == {}


def test_a_rich_contact_round_trips_through_its_snapshot():
    parsed = parse_graph_contact(RICH, CTX)
    stored = Snapshot.from_json(
        json.loads(json.dumps(Snapshot(parsed.contact, parsed.contact, parsed.state).to_json()))
    )
    assert stored.outlook_state == parsed.state
    body = contact_to_graph(stored.outlook, CTX, stored.outlook_state)
    for key in (*OUTLOOK_ONLY, "middleName", "givenName", "surname", "displayName"):
        assert body.get(key) == RICH.get(key), key
    assert body["emailAddresses"] == RICH["emailAddresses"]
    assert body["homePhones"] == RICH["homePhones"]
    assert body["businessAddress"] == RICH["businessAddress"]
    assert parse_graph_contact({**body, "id": "R1"}, CTX).state == parsed.state


def test_a_contact_deleted_in_outlook_comes_back_as_it_was():
    parsed, values, link = synced_pair()
    edited = {**values, "function": "Ambassador"}  # changed in Odoo meanwhile
    plan = plan_sync(
        Policies(outlook_deletion="recreate", mass_delete_confirmed=True),
        [link],
        OutlookChanges(removed=["R1"]),
        OdooSide(partners=[OdooPartner(7, edited)]),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )
    (create,) = plan.of_kind(RECREATE_IN_OUTLOOK)
    body = create.payload
    for key in (*OUTLOOK_ONLY, "middleName", "givenName", "surname", "displayName"):
        assert body.get(key) == RICH.get(key), key
    assert body["emailAddresses"] == RICH["emailAddresses"]
    assert body["businessPhones"] == RICH["businessPhones"]
    assert body["homePhones"] == RICH["homePhones"]
    assert body["personalNotes"] == RICH["personalNotes"]
    assert body["jobTitle"] == "Ambassador"
    assert body["singleValueExtendedProperties"][0]["value"] == f"{DB}:7"
    assert not plan.of_kind(UPDATE_ODOO)  # Odoo holds what Outlook now shows


def test_recreate_body_writes_odoo_over_the_old_copy():
    parsed = parse_graph_contact(RICH, CTX)
    target = parsed.contact.with_value("email", "").with_value("city", "Gent")
    body = recreate_body(parsed.contact, parsed.state, target, CTX)
    assert [e["address"] for e in body["emailAddresses"]] == ["jl@home.fr", "third@x.org"]
    assert body["businessAddress"]["city"] == "Gent"
    assert body["businessAddress"]["street"] == RICH["businessAddress"]["street"]


# --- names ------------------------------------------------------------------------------


def state(display="", given="", middle="", surname=""):
    return OutlookState(display_name=display, given_name=given, middle_name=middle, surname=surname)


@pytest.mark.parametrize(
    ("name", "outlook", "parts"),
    [
        # The middle name stays when the new name still holds it, or never held it.
        (
            "Jean Luc Picard-Crusher",
            state("Jean Luc Picard", "Jean", "Luc", "Picard"),
            ("Jean", None, "Picard-Crusher"),
        ),
        ("Jean Picardo", state("Jean Picard", "Jean", "Luc", "Picard"), ("Jean", None, "Picardo")),
        # The user took it out of the name: cleared.
        ("Jean Picard", state("Jean Luc Picard", "Jean", "Luc", "Picard"), ("Jean", "", "Picard")),
        # Outlook's surname (or given name) is kept when the name still ends (starts) with it.
        ("Anna De Vries", state("Anna Smit", "Anna", "", "Smit"), ("Anna", None, "De Vries")),
        (
            "Jean-Luc Picard",
            state("Jean Picard", "Jean", "", "Picard"),
            ("Jean-Luc", None, "Picard"),
        ),
        (
            "Anna van der Berg",
            state("Anna Berg", "Anna", "", "Berg"),
            ("Anna", None, "van der Berg"),
        ),
        # Nothing known of Outlook's parts: split as before.
        ("Anna van der Berg", state(), ("Anna", None, "van der Berg")),
        ("Li", state(), ("Li", None, "")),
    ],
)
def test_name_parts(name, outlook, parts):
    assert name_parts(name, outlook) == parts


def test_file_as_typed_by_hand_is_left_alone():
    item = {**RICH, "fileAs": "Captain of the Enterprise"}
    parsed = parse_graph_contact(item, CTX)
    target = parsed.contact.with_value("name", "Jean Luc Picard-Crusher")
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert "fileAs" not in patch and "middleName" not in patch


def test_display_name_is_sent_as_outlook_has_it():
    item = {**RICH, "displayName": "Jean  Luc Picard "}
    parsed = parse_graph_contact(item, CTX)
    patch = build_outlook_patch(
        parsed.contact, parsed.state, parsed.contact.with_value("city", "Gent"), CTX
    )
    assert patch["displayName"] == "Jean  Luc Picard "


# --- addresses: the home address of a contact without a business one -----------------------

HOME_ONLY = {
    "id": "H1",
    "displayName": "Beverly Crusher",
    "homeAddress": {
        "street": "12 Elm Street\nFlat 2",
        "city": "Paris",
        "state": "",
        "postalCode": "75001",
        "countryOrRegion": "France",
    },
    "otherAddress": {"street": "Sickbay", "city": "", "countryOrRegion": ""},
}


def test_a_contact_without_business_address_takes_its_home_address():
    parsed = parse_graph_contact(HOME_ONLY, CTX)
    c = parsed.contact
    assert (c.street, c.street2, c.city, c.zip, c.country_code) == (
        "12 Elm Street",
        "Flat 2",
        "Paris",
        "75001",
        "FR",
    )
    assert parsed.state.address_source == HOME_ADDRESS
    # A business address, however little of it, is the address.
    with_business = {**HOME_ONLY, "businessAddress": {"city": "Lyon"}}
    assert parse_graph_contact(with_business, CTX).contact.city == "Lyon"
    blank_business = {**HOME_ONLY, "businessAddress": {"street": " ", "city": None}}
    assert parse_graph_contact(blank_business, CTX).contact.city == "Paris"


def test_odoo_address_changes_go_back_to_the_home_address():
    parsed = parse_graph_contact(HOME_ONLY, CTX)
    values = contact_to_odoo_values(parsed.contact)
    link = Link("H1", 7, Snapshot(parsed.contact, parsed.contact, parsed.state), "ck1")
    for in_round in (True, False):
        plan = plan_edit({**values, "zip": "75002"}, link, HOME_ONLY, in_round=in_round)
        (update,) = plan.of_kind(UPDATE_OUTLOOK)
        assert set(update.payload) == {"displayName", HOME_ADDRESS}
        assert update.payload[HOME_ADDRESS] == {**HOME_ONLY[HOME_ADDRESS], "postalCode": "75002"}
        after = apply_patch(HOME_ONLY, update.payload)
        assert "businessAddress" not in after and after["otherAddress"] == HOME_ONLY["otherAddress"]
        assert update.snapshot.outlook_state.address_source == HOME_ADDRESS
        assert not plan.of_kind(UPDATE_ODOO)


def test_a_contact_created_from_its_home_address_keeps_it_there():
    plan = plan_sync(
        Policies(),
        [],
        OutlookChanges(items=[HOME_ONLY]),
        OdooSide(),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )
    (create,) = plan.of_kind(CREATE_IN_ODOO)
    assert create.values["city"] == "Paris" and create.values["country_code"] == "FR"
    assert create.snapshot.outlook_state.address_source == HOME_ADDRESS
    # Recreated from that snapshot, the address goes back home too.
    body = contact_to_graph(create.snapshot.outlook, CTX, create.snapshot.outlook_state)
    assert body[HOME_ADDRESS] == HOME_ONLY[HOME_ADDRESS] and "businessAddress" not in body


# --- phones: mobile > business > home (seed 000), on Odoo's phone and mobile ---------------


@pytest.mark.parametrize(
    ("item", "phone", "mobile"),
    [
        (
            {
                "mobilePhone": "0475 12 34 56",
                "businessPhones": ["02 555 12 12"],
                "homePhones": ["03 444 44 44"],
            },
            "+32 2 555 12 12",
            "+32 475 12 34 56",
        ),
        (
            {"businessPhones": ["02 555 12 12", "02 555 12 13"], "homePhones": ["03 444 44 44"]},
            "+32 2 555 12 12",
            "",
        ),
        ({"homePhones": ["03 444 44 44", "03 444 44 45"]}, "+32 3 444 44 44", ""),
        (
            {"mobilePhone": "0475 12 34 56", "homePhones": ["03 444 44 44"]},
            "+32 3 444 44 44",
            "+32 475 12 34 56",
        ),
        ({"mobilePhone": "0475 12 34 56"}, "", "+32 475 12 34 56"),
    ],
)
def test_phone_priority(item, phone, mobile):
    contact = parse_graph_contact({"id": "P", "displayName": "X", **item}, CTX).contact
    assert (contact.phone, contact.mobile) == (phone, mobile)


def test_a_phone_read_from_the_home_phone_never_rewrites_it():
    item = {"id": "P", "displayName": "X", "homePhones": ["03 444 44 44"]}
    parsed = parse_graph_contact(item, CTX)
    target = parsed.contact.with_value("phone", "+32 2 555 00 00")
    patch = build_outlook_patch(parsed.contact, parsed.state, target, CTX)
    assert patch["businessPhones"] == ["+32 2 555 00 00"] and "homePhones" not in patch


def test_categories_not_synced_are_carried_by_the_snapshot():
    from sync.mapping import MappingContext

    ctx = MappingContext(COUNTRIES, "BE", sync_categories=False)
    parsed = parse_graph_contact(RICH, ctx)
    body = contact_to_graph(parsed.contact, ctx, parsed.state)
    assert body["categories"] == ["VIP"]
    rich = copy.deepcopy(RICH)
    rich["categories"] = []
    assert "categories" not in contact_to_graph(parse_graph_contact(rich, ctx).contact, ctx)
