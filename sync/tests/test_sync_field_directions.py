"""Field by field direction: each mapped field travels only the way its setting (and the
account's direction) allows, whatever the conflict policy, and the sync still settles."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync_convergence import (
    COUNTRIES,
    CTX_CATS,
    CTX_NOCATS,
    DB,
    DERANDOMIZE,
    EXAMPLES,
    World,
    ops,
    play,
    run_sync,
)

from sync import (
    MERGE_FIELDS,
    Contact,
    Policies,
    contact_to_graph,
    contact_to_odoo_values,
    odoo_to_contact,
    parse_graph_contact,
    plan_sync,
)
from sync.contact import Snapshot
from sync.merge import (
    FIELD_DIRECTIONS,
    NOT_SYNCED,
    ODOO_TO_OUTLOOK,
    OUTLOOK_TO_ODOO,
    TWO_WAY,
    field_direction,
)
from sync.planner import (
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
    Link,
    OdooPartner,
    OdooSide,
    OutlookChanges,
)
from sync.preview import KEPT_SECTION, preview_entries


def test_field_direction_is_the_narrower_of_field_and_account():
    table = {
        (TWO_WAY, TWO_WAY): TWO_WAY,
        (TWO_WAY, ODOO_TO_OUTLOOK): ODOO_TO_OUTLOOK,
        (TWO_WAY, OUTLOOK_TO_ODOO): OUTLOOK_TO_ODOO,
        (TWO_WAY, NOT_SYNCED): NOT_SYNCED,
        (ODOO_TO_OUTLOOK, TWO_WAY): ODOO_TO_OUTLOOK,
        (ODOO_TO_OUTLOOK, ODOO_TO_OUTLOOK): ODOO_TO_OUTLOOK,
        (ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO): NOT_SYNCED,
        (ODOO_TO_OUTLOOK, NOT_SYNCED): NOT_SYNCED,
        (OUTLOOK_TO_ODOO, TWO_WAY): OUTLOOK_TO_ODOO,
        (OUTLOOK_TO_ODOO, ODOO_TO_OUTLOOK): NOT_SYNCED,
        (OUTLOOK_TO_ODOO, OUTLOOK_TO_ODOO): OUTLOOK_TO_ODOO,
        (OUTLOOK_TO_ODOO, NOT_SYNCED): NOT_SYNCED,
    }
    for (account, setting), way in table.items():
        assert field_direction(account, setting) == way, (account, setting)
    assert field_direction(TWO_WAY, None) == TWO_WAY  # a field without a setting
    assert field_direction(TWO_WAY, "nonsense") == TWO_WAY


# --- every field, every setting, both sides changed ---------------------------------------

# Two values per field (merge unit), as Odoo holds them: the first is the synced one.
SAMPLES = {
    "name": ("Anna Berg", "Anna Smit"),
    "title": ("Doctor", "Professor"),
    "function": ("CEO", "CTO"),
    "company_name": ("Acme", "Initech"),
    "email": ("anna@x.com", "anna@y.com"),
    "phone": ("+32 2 555 12 12", "+32 2 555 99 99"),
    "mobile": ("+32 475 12 34 56", "+32 476 00 00 00"),
    "street": ("1 Main St", "2 High St"),
    "street2": ("Bat B", "Floor 3"),
    "city": ("Brussels", "Gent"),
    "state": (("", ""), ("", "")),  # Belgium has no states here: covered by country_code
    "zip": ("1000", "9000"),
    "country_code": ("BE", "FR"),
    "website": ("http://a.example", "http://b.example"),
    "notes": ("hello", "goodbye"),
    "categories": (("VIP",), ("Lead",)),
}
OTHER = {  # a third value, for the other side's edit
    "name": "Anna Jansen",
    "title": "Mister",
    "function": "COO",
    "company_name": "Hooli",
    "email": "anna@z.com",
    "phone": "+32 2 555 77 77",
    "mobile": "+32 477 00 00 00",
    "street": "3 Low St",
    "street2": "Floor 4",
    "city": "Liège",
    "state": ("", ""),
    "zip": "4000",
    "country_code": "US",
    "website": "http://c.example",
    "notes": "see you",
    "categories": ("Partner",),
}


def test_every_field_has_samples():
    assert set(SAMPLES) == set(MERGE_FIELDS) == set(OTHER), "add samples for the new field"


def _pair(contact):
    item = {**contact_to_graph(contact, CTX_CATS), "id": "O1", "changeKey": "ck1"}
    parsed = parse_graph_contact(item, CTX_CATS)
    return item, Link("O1", 1, Snapshot(parsed.contact, parsed.contact, parsed.state), "ck1")


def _plan(policies, link, item, odoo_contact):
    return plan_sync(
        policies,
        [link],
        OutlookChanges(items=[item]),
        OdooSide(
            partners=[OdooPartner(1, contact_to_odoo_values(odoo_contact), "2026-01-02 00:00:00")]
        ),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )


FIELDS_UNDER_TEST = [f for f in MERGE_FIELDS if f != "state"]


@pytest.mark.parametrize("conflict", ["odoo", "outlook", "newest"])
@pytest.mark.parametrize("setting", FIELD_DIRECTIONS)
@pytest.mark.parametrize("name", FIELDS_UNDER_TEST)
@pytest.mark.parametrize("edited", ["odoo", "outlook", "both"])
def test_a_field_goes_only_its_way(name, setting, conflict, edited):
    base = Contact(**{})
    for field, (value, _other) in SAMPLES.items():
        base = base.with_value(field, value)
    item, link = _pair(base)
    odoo = base.with_value(name, SAMPLES[name][1]) if edited in ("odoo", "both") else base
    if edited in ("outlook", "both"):
        outlook = base.with_value(name, OTHER[name])
        changed = {**contact_to_graph(outlook, CTX_CATS), "id": "O1", "changeKey": "ck2"}
        changed["lastModifiedDateTime"] = "2026-01-03T00:00:00Z"  # newer than Odoo's edit
        item = changed
    policies = Policies(conflict=conflict, field_directions=((name, setting),))
    plan = _plan(policies, link, item, odoo)
    sent = {c.field for a in plan.of_kind(UPDATE_OUTLOOK) for c in a.changes}
    written = {c.field for a in plan.of_kind(UPDATE_ODOO) for c in a.changes}
    goes_out = setting in (TWO_WAY, ODOO_TO_OUTLOOK)
    comes_in = setting in (TWO_WAY, OUTLOOK_TO_ODOO)
    if not goes_out:
        assert name not in sent, f"{name} ({setting}) written in Outlook"
    if not comes_in:
        assert name not in written, f"{name} ({setting}) written in Odoo"
    if edited == "odoo" and goes_out:
        assert name in sent
    if edited == "outlook" and comes_in:
        assert name in written
    if edited == "outlook" and setting == ODOO_TO_OUTLOOK:
        # Outlook's own edit stays there: a one-way field never reverts the other side.
        assert name not in sent
        entries = preview_entries(plan)
        assert [e.section for e in entries] == [KEPT_SECTION]
        assert "stays in Outlook" in entries[0].changes
    if edited == "odoo" and setting == OUTLOOK_TO_ODOO:
        assert name not in written
        assert "stays in Odoo" in preview_entries(plan)[0].changes


def test_creations_carry_only_the_fields_that_travel_that_way():
    full = Contact(name="Anna Berg", function="CEO", email="anna@x.com", city="Gent")
    item = {**contact_to_graph(full, CTX_CATS), "id": "O9", "changeKey": "ck"}
    settings_ = (("function", ODOO_TO_OUTLOOK), ("city", NOT_SYNCED), ("email", OUTLOOK_TO_ODOO))
    plan = plan_sync(
        Policies(field_directions=settings_),
        [],
        OutlookChanges(items=[item]),
        OdooSide(partners=[OdooPartner(5, contact_to_odoo_values(full.with_value("email", "")))]),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )
    (into_odoo,) = plan.of_kind(CREATE_IN_ODOO)
    assert into_odoo.values["name"] == "Anna Berg" and into_odoo.values["email"] == "anna@x.com"
    assert "function" not in into_odoo.values and "city" not in into_odoo.values
    (into_outlook,) = plan.of_kind(CREATE_IN_OUTLOOK)
    created = parse_graph_contact({**into_outlook.payload, "id": "N"}, CTX_CATS).contact
    assert created.function == "CEO" and not created.city and not created.email
    assert not plan.of_kind(UPDATE_ODOO)  # nothing Outlook did not get is cleared in Odoo


# --- property: random edits, runs and crashes under random field settings -----------------

settable = [f for f in MERGE_FIELDS if f != "name"]  # Settings keep the name both ways
field_settings = st.dictionaries(st.sampled_from(settable), st.sampled_from(FIELD_DIRECTIONS))
policies_st = st.builds(
    Policies,
    direction=st.sampled_from([TWO_WAY, ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO]),
    conflict=st.sampled_from(["odoo", "outlook", "newest"]),
    outlook_deletion=st.sampled_from(["unlink", "archive", "recreate"]),
    odoo_deletion=st.sampled_from(["delete_in_outlook", "keep"]),
    outlook_may_clear=st.booleans(),
    sync_categories=st.booleans(),
    mass_delete_confirmed=st.just(True),
    field_directions=field_settings.map(lambda d: tuple(sorted(d.items()))),
)


def _sides(world, ctx):
    odoo = {
        pid: odoo_to_contact(values, ctx)[0]
        for pid, values in world.partners.items()
        if world.active.get(pid)
    }
    outlook = {oid: parse_graph_contact(item, ctx).contact for oid, item in world.outlook.items()}
    return odoo, outlook


def _checked_run(world, policies, **crash):
    ctx = CTX_CATS if policies.sync_categories else CTX_NOCATS
    fields = [f for f in MERGE_FIELDS if policies.sync_categories or f != "categories"]
    never_in_odoo = [
        f for f in fields if policies.field_direction(f) in (ODOO_TO_OUTLOOK, NOT_SYNCED)
    ]
    never_in_outlook = [
        f for f in fields if policies.field_direction(f) in (OUTLOOK_TO_ODOO, NOT_SYNCED)
    ]
    odoo_before, outlook_before = _sides(world, ctx)
    plan = run_sync(world, policies, **crash)
    odoo_after, outlook_after = _sides(world, ctx)
    for pid, before in odoo_before.items():
        if pid in odoo_after:
            for f in never_in_odoo:
                assert odoo_after[pid].key(f) == before.key(f), f"{f} written in Odoo ({pid})"
    for oid, before in outlook_before.items():
        if oid in outlook_after:
            for f in never_in_outlook:
                assert outlook_after[oid].key(f) == before.key(f), f"{f} written in Outlook"
    return plan


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations=st.lists(ops, max_size=20), policies=policies_st)
def test_property_fields_never_travel_against_their_setting(operations, policies):
    world = World()
    for op in operations:
        if op[0] == "sync":
            _checked_run(world, policies, crash_after=op[1], commit_every=op[2])
        else:
            play(world, [op], policies)
    _checked_run(world, policies)
    _checked_run(world, policies)
    again = _checked_run(world, policies)
    assert not again.has_writes, [
        (a.kind, a.reason, a.payload, a.values)
        for a in again.actions
        if a.payload or a.values or a.link_op
    ]
