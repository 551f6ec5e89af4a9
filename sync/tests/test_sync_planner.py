"""Planner scenarios: one per policy and safety rule."""

from dataclasses import replace

import pytest
from sync_fakes import COUNTRIES, CTX, DB, match_key_holder, partner, plan
from sync_fakes import linked_pair as _linked_pair

from sync import (
    Contact,
    Link,
    MatchKeys,
    OdooPartner,
    OdooSide,
    OutlookChanges,
    Policies,
    apply_patch,
    match_keys,
    plan_sync,
)
from sync import problems as P
from sync.mapping import PARTNER_REF_PROPERTY_ID
from sync.planner import (
    ARCHIVE_PARTNER,
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    INVALID,
    LINK,
    LINK_DELETE,
    LINK_DETACH,
    LINK_STORE,
    RECREATE_IN_OUTLOOK,
    SKIP,
    UNCHANGED,
    UNLINK,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
)


def kinds(p):
    return [a.kind for a in p.actions]


def linked_pair(pid, oid, **values):
    return _linked_pair(CTX, pid, oid, **values)


# --- creates, matches, updates ------------------------------------------------------------


def test_new_on_both_sides_matched_by_email_then_created():
    p = plan(
        items=[
            {"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "ANN@x.com"}]},
            {"id": "O2", "displayName": "New in Outlook"},
        ],
        partners=[partner(1, email="ann@x.com", city="Gent"), partner(2)],
    )
    assert kinds(p) == [LINK, UPDATE_OUTLOOK, CONFLICT, CREATE_IN_ODOO, CREATE_IN_OUTLOOK]
    link, update, conflict, create_odoo, create_outlook = p.actions
    assert [(c.field, c.odoo, c.outlook, c.winner) for c in conflict.conflicts] == [
        ("name", "P1", "Ann", "odoo")
    ]
    assert (link.partner_id, link.outlook_id, link.link_op) == (1, "O1", LINK_STORE)
    assert update.payload == {
        "displayName": "P1",
        "givenName": "P1",
        "businessAddress": {
            "street": "",
            "city": "Gent",
            "state": "",
            "postalCode": "",
            "countryOrRegion": "",
        },
    }
    assert update.if_match is None and update.link_op == LINK_STORE
    assert create_odoo.values["name"] == "New in Outlook" and create_odoo.link_op == LINK_STORE
    assert create_outlook.payload["singleValueExtendedProperties"][0]["value"] == "db1:2"
    assert p.counts() == {
        "none": {LINK: 1, CONFLICT: 1},
        "to_outlook": {UPDATE_OUTLOOK: 1, CREATE_IN_OUTLOOK: 1},
        "to_odoo": {CREATE_IN_ODOO: 1},
    }


def test_unchanged_pair_costs_nothing():
    part, _, link = linked_pair(1, "O1", email="a@x.com")
    p = plan(links=[link], partners=[part])
    assert kinds(p) == [UNCHANGED] and not p.has_writes


def test_odoo_edit_patches_outlook_with_if_match_and_new_snapshot():
    part, _, link = linked_pair(1, "O1", email="a@x.com", phone="+32 2 555 12 12")
    edited = OdooPartner(1, {**part.values, "phone": "02 555 99 99"})
    (update,) = plan(links=[link], partners=[edited]).actions
    assert update.kind == UPDATE_OUTLOOK and update.if_match == "ck1"
    assert update.payload == {"displayName": "P1", "businessPhones": ["+32 2 555 99 99"]}
    assert update.snapshot.base.phone == "+32 2 555 99 99"
    assert [(c.field, c.new) for c in update.changes] == [("phone", "+32 2 555 99 99")]


def test_outlook_edit_updates_odoo():
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    changed = apply_patch(item, {"jobTitle": "CEO", "changeKey": "ck2"})
    (update,) = plan(links=[link], items=[changed], partners=[part]).actions
    assert update.kind == UPDATE_ODOO and update.values == {"function": "CEO"}
    assert update.change_key == "ck2" and update.link_op == LINK_STORE


@pytest.mark.parametrize(("policy", "city"), [("odoo", "Gent"), ("outlook", "Liège")])
def test_conflict_follows_policy_and_is_reported(policy, city):
    part, item, link = linked_pair(1, "O1", city="Brussels")
    edited = OdooPartner(1, {**part.values, "city": "Gent"})
    changed = apply_patch(item, {"businessAddress": {"city": "Liège"}, "changeKey": "ck2"})
    p = plan(Policies(conflict=policy), [link], [changed], partners=[edited])
    conflict = p.of_kind(CONFLICT)[0]
    assert conflict.conflicts[0].field == "city" and conflict.conflicts[0].winner == policy
    assert "city" in conflict.reason
    writes = {a.kind: a for a in p.actions if a.kind in (UPDATE_ODOO, UPDATE_OUTLOOK)}
    if policy == "odoo":
        assert set(writes) == {UPDATE_OUTLOOK}
        assert writes[UPDATE_OUTLOOK].payload["businessAddress"]["city"] == "Gent"
    else:
        assert set(writes) == {UPDATE_ODOO} and writes[UPDATE_ODOO].values == {"city": city}


def test_empty_outlook_value_does_not_wipe_odoo_unless_allowed():
    part, item, link = linked_pair(1, "O1", email="a@x.com", mobile="+32 475 12 34 56")
    cleared = apply_patch(item, {"mobilePhone": "", "changeKey": "ck2"})
    (refill,) = plan(links=[link], items=[cleared], partners=[part]).actions
    assert refill.kind == UPDATE_OUTLOOK and refill.payload["mobilePhone"] == "+32 475 12 34 56"
    (clear,) = plan(Policies(outlook_may_clear=True), [link], [cleared], partners=[part]).actions
    assert clear.kind == UPDATE_ODOO and clear.values == {"mobile": False}


def test_home_phone_fills_an_empty_odoo_phone_and_is_never_written():
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    with_home = apply_patch(item, {"homePhones": ["+32 3 444 44 44"], "changeKey": "ck2"})
    (update,) = plan(links=[link], items=[with_home], partners=[part]).actions
    assert update.kind == UPDATE_ODOO and update.values == {"phone": "+32 3 444 44 44"}
    # Odoo's own phone then goes to the business phones; the home phone stays as it is.
    snap = update.snapshot
    link2 = Link("O1", 1, snap, "ck2")
    edited = OdooPartner(1, {**part.values, "phone": "+32 2 555 00 00"})
    (push,) = plan(links=[link2], partners=[edited]).actions
    assert push.payload == {"displayName": "P1", "businessPhones": ["+32 2 555 00 00"]}


def test_one_way_directions():
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    edited = OdooPartner(1, {**part.values, "function": "CTO"})
    changed = apply_patch(item, {"companyName": "Acme", "changeKey": "ck2"})
    down = plan(Policies(direction="odoo_to_outlook"), [link], [changed], partners=[edited])
    assert kinds(down) == [UPDATE_OUTLOOK] and down.actions[0].payload["jobTitle"] == "CTO"
    assert "companyName" not in down.actions[0].payload  # Outlook's edit is left alone
    up = plan(Policies(direction="outlook_to_odoo"), [link], [changed], partners=[edited])
    assert kinds(up) == [UPDATE_ODOO] and up.actions[0].values == {"company_name": "Acme"}
    new_item = {"id": "O9", "displayName": "Only Outlook"}
    assert kinds(plan(Policies(direction="odoo_to_outlook"), items=[new_item])) == [SKIP]
    assert kinds(plan(Policies(direction="outlook_to_odoo"), partners=[partner(5)])) == []


# --- deletions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected", "link_op"),
    [
        ("unlink", UNLINK, LINK_DETACH),
        ("archive", ARCHIVE_PARTNER, LINK_DELETE),
        ("recreate", RECREATE_IN_OUTLOOK, LINK_STORE),
    ],
)
def test_outlook_deletion_policies(policy, expected, link_op):
    part, _, link = linked_pair(1, "O1")
    p = plan(Policies(outlook_deletion=policy), [link], removed=["O1"], partners=[part])
    (action,) = p.actions
    assert (action.kind, action.link_op, action.partner_id) == (expected, link_op, 1)
    if expected == RECREATE_IN_OUTLOOK:
        assert action.payload["singleValueExtendedProperties"][0]["value"] == "db1:1"


def test_detached_pair_stays_quiet_and_is_not_recreated():
    part, item, link = linked_pair(1, "O1")
    detached = Link("O1", 1, link.snapshot, "ck1", detached=True)
    assert plan(links=[detached], items=[item], partners=[part]).actions == []


@pytest.mark.parametrize("policy", ["unlink", "archive", "recreate"])
def test_resumed_pair_whose_item_is_gone_is_created_again_whatever_the_policy(policy):
    part, _, link = linked_pair(1, "O1", email="a@x.com")
    resumed = replace(link, resumed=True)
    p = plan(Policies(outlook_deletion=policy), [resumed], removed=["O1"], partners=[part])
    (action,) = p.actions
    assert (action.kind, action.link_op, action.partner_id) == (RECREATE_IN_OUTLOOK, LINK_STORE, 1)
    assert action.reason == "deleted in Outlook while not synced: created again from Odoo"
    assert action.payload["singleValueExtendedProperties"][0]["value"] == "db1:1"


def test_resumed_pair_whose_item_is_gone_is_matched_to_a_copy_made_meanwhile():
    part, _, link = linked_pair(1, "O1", email="a@x.com")
    copy = {"id": "O2", "displayName": "P1", "emailAddresses": [{"address": "a@x.com"}]}
    p = plan(links=[replace(link, resumed=True)], items=[copy], removed=["O1"], partners=[part])
    assert [(a.kind, a.outlook_id) for a in p.actions] == [(LINK, "O2")]


@pytest.mark.parametrize(
    ("policy", "expected", "link_op"),
    [("unlink", UNLINK, LINK_DETACH), ("archive", ARCHIVE_PARTNER, LINK_DELETE)],
)
def test_resumed_pair_whose_item_is_gone_follows_the_policy_one_way_to_odoo(
    policy, expected, link_op
):
    part, _, link = linked_pair(1, "O1")
    policies = Policies(direction="outlook_to_odoo", outlook_deletion=policy)
    p = plan(policies, [replace(link, resumed=True)], removed=["O1"], partners=[part])
    assert [(a.kind, a.link_op) for a in p.actions] == [(expected, link_op)]


def test_resumed_pair_merges_the_edits_of_both_sides():
    part, item, link = linked_pair(1, "O1", email="a@x.com", city="Brussels")
    edited = OdooPartner(1, {**part.values, "function": "Buyer"})
    changed = apply_patch(item, {"businessAddress": {"city": "Liège"}, "changeKey": "ck2"})
    p = plan(links=[replace(link, resumed=True)], items=[changed], partners=[edited])
    assert kinds(p) == [UPDATE_OUTLOOK, UPDATE_ODOO]
    update_outlook, update_odoo = p.actions
    assert update_outlook.payload["jobTitle"] == "Buyer" and update_outlook.if_match == "ck2"
    assert update_odoo.values["city"] == "Liège"


@pytest.mark.parametrize(
    ("policy", "expected", "link_op"),
    [("delete_in_outlook", DELETE_IN_OUTLOOK, LINK_DELETE), ("keep", UNLINK, LINK_DETACH)],
)
def test_odoo_archive_policies(policy, expected, link_op):
    _, _, link = linked_pair(1, "O1")
    p = plan(Policies(odoo_deletion=policy), [link], gone={1: "archived"})
    assert [(a.kind, a.link_op, a.outlook_id) for a in p.actions] == [(expected, link_op, "O1")]


def test_deleted_on_both_sides_just_drops_the_link():
    _, _, link = linked_pair(1, "O1")
    p = plan(links=[link], removed=["O1"], gone={1: "deleted"})
    assert [(a.kind, a.link_op) for a in p.actions] == [(UNLINK, LINK_DELETE)]


def test_full_listing_treats_missing_linked_items_as_removed():
    part, item, link = linked_pair(1, "O1")
    part2, _, link2 = linked_pair(2, "O2")
    p = plan(links=[link, link2], items=[item], partners=[part, part2], complete=True)
    assert [(a.kind, a.partner_id) for a in p.actions] == [(UNCHANGED, 1), (UNLINK, 2)]


def test_partner_not_provided_is_skipped_not_deleted():
    _, _, link = linked_pair(1, "O1")
    assert kinds(plan(links=[link])) == [SKIP]


def test_mass_delete_guard_blocks_and_withholds_deletions():
    pairs = [linked_pair(i, f"O{i}") for i in range(1, 31)]
    links = [lk for _, _, lk in pairs]
    gone = {i: "archived" for i in range(1, 11)}  # 10 of 30: above 10 % and at least 10
    alive = [p for p, _, _ in pairs[10:]]
    blocked = plan(links=links, partners=alive, gone=gone)
    assert blocked.blocked and "10 of 30" in blocked.blocked_reason
    assert not blocked.of_kind(DELETE_IN_OUTLOOK) and len(blocked.withheld) == 10
    confirmed = plan(Policies(mass_delete_confirmed=True), links, partners=alive, gone=gone)
    assert not confirmed.blocked and len(confirmed.of_kind(DELETE_IN_OUTLOOK)) == 10
    few = plan(
        links=links,
        partners=alive + [p for p, _, _ in pairs[:1]],
        gone={i: "archived" for i in range(2, 11)},
    )  # 9: under the minimum
    assert not few.blocked and len(few.of_kind(DELETE_IN_OUTLOOK)) == 9


def test_mass_delete_ratio():
    pairs = [linked_pair(i, f"O{i}") for i in range(1, 201)]
    links = [lk for _, _, lk in pairs]
    gone = {i: "archived" for i in range(1, 16)}  # 15 of 200 = 7.5 %
    alive = [p for p, _, _ in pairs[15:]]
    assert not plan(links=links, partners=alive, gone=gone).blocked


# --- crash recovery and refusals ----------------------------------------------------------


def test_item_created_before_a_crash_is_relinked_not_duplicated():
    part = partner(7, email="x@x.com")
    first = plan(partners=[part])
    (create,) = first.actions
    assert create.kind == CREATE_IN_OUTLOOK
    # Outlook created it, then the worker died before the link was committed.
    created = {**create.payload, "id": "NEW", "changeKey": "ck1"}
    rerun = plan(items=[created], partners=[part])
    assert [(a.kind, a.outlook_id, a.reason) for a in rerun.actions] == [
        (LINK, "NEW", "matched: created from Odoo contact 7")
    ]
    assert rerun.actions[0].snapshot is not None


def test_recreated_item_is_relinked_after_a_crash():
    part, _, link = linked_pair(1, "O1")
    policies = Policies(outlook_deletion="recreate")
    (recreate,) = plan(policies, [link], removed=["O1"], partners=[part]).actions
    created = {**recreate.payload, "id": "O1b", "changeKey": "ck9"}
    rerun = plan(policies, [link], items=[created], removed=["O1"], partners=[part])
    assert [(a.kind, a.outlook_id) for a in rerun.actions] == [(LINK, "O1b")]


def test_second_copy_of_a_linked_partner_is_skipped_with_a_reason():
    part, _, link = linked_pair(1, "O1")
    copy = {
        "id": "O2",
        "displayName": "P1",
        "singleValueExtendedProperties": [
            {
                "id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name OdooPartnerRef",
                "value": "db1:1",
            }
        ],
    }
    (skip,) = [
        a for a in plan(links=[link], items=[copy], partners=[part]).actions if a.kind != UNCHANGED
    ]
    assert skip.kind == SKIP and skip.problems[0].code == P.DUPLICATE_ITEM


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"email": "not-an-email"}, P.INVALID_EMAIL),
        ({"name": "x" * 10_000}, P.NAME_TOO_LONG),
        ({"name": "", "email": ""}, P.NO_NAME_NO_EMAIL),
    ],
)
def test_invalid_partner_is_refused_with_reason(values, code):
    (action,) = plan(partners=[partner(1, **values)]).actions
    assert action.kind == INVALID and code in {pr.code for pr in action.problems}
    assert action.payload is None and action.link_op is None and action.reason


def test_invalid_outlook_items_are_refused_and_the_run_goes_on():
    p = plan(
        items=[
            {"id": "O1", "displayName": "X", "emailAddresses": "x@x.com"},
            "not an object",
            {"id": "O3", "displayName": "Fine"},
        ]
    )
    assert kinds(p) == [INVALID, INVALID, CREATE_IN_ODOO]


def test_update_that_would_exceed_four_emails_is_refused():
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    crowded = apply_patch(
        item, {"changeKey": "ck2", "emailAddresses": [{"address": f"{i}@x.com"} for i in range(4)]}
    )
    edited = OdooPartner(1, {**part.values, "email": "new@x.com"})
    p = plan(links=[link], items=[crowded], partners=[edited])
    assert kinds(p) == [INVALID] and p.actions[0].problems[0].code == P.TOO_MANY_EMAILS


def test_nameless_outlook_contact_is_named_after_its_email_on_both_sides():
    item = {"id": "O1", "emailAddresses": [{"address": "a@x.com"}], "changeKey": "ck1"}
    create, name = plan(items=[item]).actions
    assert (create.kind, create.values["name"]) == (CREATE_IN_ODOO, "a@x.com")
    assert (name.kind, name.if_match, name.payload["displayName"]) == (
        UPDATE_OUTLOOK,
        "ck1",
        "a@x.com",
    )


def test_outlook_never_clears_a_partner_name():
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    nameless = apply_patch(
        item, {"displayName": "", "givenName": "", "surname": "", "changeKey": "c"}
    )
    (refill,) = plan(Policies(outlook_may_clear=True), [link], [nameless], partners=[part]).actions
    assert refill.kind == UPDATE_OUTLOOK and refill.payload["displayName"] == "P1"


def test_ambiguous_email_is_neither_created_nor_copied():
    """Two Odoo contacts share the email of an Outlook contact: no third one on either side."""
    p = plan(
        items=[{"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "a@x.com"}]}],
        partners=[partner(1, email="a@x.com"), partner(2, email="A@x.com"), partner(3)],
    )
    assert not p.of_kind(CREATE_IN_ODOO)
    assert [a.partner_id for a in p.of_kind(CREATE_IN_OUTLOOK)] == [3]
    skipped = {a.outlook_id or a.partner_id: a for a in p.of_kind(SKIP)}
    assert set(skipped) == {"O1", 1, 2}
    assert all(P.AMBIGUOUS_MATCH in {pr.code for pr in a.problems} for a in skipped.values())
    assert "shared by 2 Odoo contacts" in skipped["O1"].reason


def test_two_outlook_contacts_with_the_email_of_one_odoo_contact_make_no_second_one():
    items = [
        {"id": f"O{n}", "displayName": "Ann", "emailAddresses": [{"address": "a@x.com"}]}
        for n in (1, 2)
    ]
    p = plan(items=items, partners=[partner(1, email="a@x.com")])
    assert not p.of_kind(CREATE_IN_ODOO) and not p.of_kind(CREATE_IN_OUTLOOK)
    assert {a.outlook_id or a.partner_id for a in p.of_kind(SKIP)} == {"O1", "O2", 1}
    # One of them linked already: the other one is still not made a second Odoo contact.
    part, item, link = linked_pair(1, "O1", email="a@x.com")
    p = plan(links=[link], items=[item, items[1]], partners=[part])
    assert not p.of_kind(CREATE_IN_ODOO)
    (skip,) = p.of_kind(SKIP)
    assert skip.outlook_id == "O2" and "shared by 2 Outlook contacts" in skip.reason


def test_categories_flag():
    part, item, link = linked_pair(1, "O1", category_names=["VIP"])
    tagged = apply_patch(item, {"categories": ["VIP", "Lead"], "changeKey": "ck2"})
    (update,) = plan(links=[link], items=[tagged], partners=[part]).actions
    assert update.values == {"category_names": ["Lead", "VIP"]}
    off = plan(Policies(sync_categories=False), [link], [tagged], partners=[part])
    assert not any(a.values for a in off.actions)


def test_plan_is_deterministic():
    items = [
        {"id": f"O{i}", "displayName": f"N{i}", "emailAddresses": [{"address": f"{i}@x.com"}]}
        for i in range(10)
    ]
    partners = [partner(i, email=f"{i}@x.com") for i in range(5, 15)]
    assert plan(items=items, partners=partners) == plan(items=items[::-1], partners=partners[::-1])


def test_contact_module_is_exported():
    assert Contact().fingerprint()


def test_a_partner_held_in_another_outlook_folder_is_matched_but_never_created():
    def plan_held(items):
        return plan_sync(
            Policies(),
            [],
            OutlookChanges(items=items),
            OdooSide(
                partners=[partner(1, email="ann@x.com"), partner(2, email="bob@x.com")],
                held_in_outlook=frozenset({1}),
            ),
            database_uuid=DB,
            countries=COUNTRIES,
            default_region="BE",
        )

    p = plan_held([])
    assert [(a.kind, a.partner_id) for a in p.actions] == [(CREATE_IN_OUTLOOK, 2)]
    # An item of the synced folder holding the same person is still linked to it.
    p = plan_held([{"id": "O1", "displayName": "P1", "emailAddresses": [{"address": "ann@x.com"}]}])
    assert [(a.kind, a.partner_id) for a in p.actions if a.partner_id == 1] == [(LINK, 1)]


# --- the partners a one-way import needs ----------------------------------------------------


def import_world():
    """An import round: a linked pair edited in Outlook, one detached, and new items to match
    against partners sharing an email (ambiguous), a phone (typed nationally), our property."""
    part, item, link = linked_pair(1, "O1", email="linked@x.com")
    edited = apply_patch(item, {"jobTitle": "Buyer", "changeKey": "ck2"})
    _, _, detached = linked_pair(8, "O8", email="gone@x.com")
    detached = Link("O8", 8, detached.snapshot, "ck1", detached=True)
    items = [
        edited,
        {"id": "O2", "displayName": "Twin", "emailAddresses": [{"address": "TWIN@x.com"}]},
        {"id": "O3", "displayName": "Phoned", "mobilePhone": "+32 470 12 34 56"},
        {
            "id": "O4",
            "displayName": "Ours",
            "singleValueExtendedProperties": [{"id": PARTNER_REF_PROPERTY_ID, "value": "db1:5"}],
        },
        {"id": "O9", "displayName": "Only Outlook", "emailAddresses": [{"address": "o@x.com"}]},
    ]
    partners = [
        part,
        partner(2, email="twin@x.com"),
        partner(3, email=" Twin@X.com"),
        partner(4, phone="0470 12 34 56", country_code="BE"),
        partner(5, name="Ours"),
        partner(6, email="other@x.com", phone="+32 2 555 12 12"),
        partner(7),
        partner(8, email="gone@x.com"),
    ]
    return [link, detached], items, partners


def test_match_keys_are_those_of_the_unlinked_items():
    links, items, _partners = import_world()
    keys = match_keys(
        links,
        OutlookChanges(items=items),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )
    assert keys == MatchKeys(
        partner_ids={5}, emails={"twin@x.com", "o@x.com"}, phones={"+32470123456"}
    )


def test_one_way_plan_needs_only_the_linked_partners_and_those_holding_match_keys():
    links, items, partners = import_world()
    one_way = Policies(direction="outlook_to_odoo", outlook_deletion="unlink")
    everyone = plan(one_way, links, items, partners=partners)
    holds_a_key = match_key_holder(links, items)

    linked = {lk.partner_id for lk in links if not lk.detached}
    needed = [p for p in partners if p.partner_id in linked or holds_a_key(p)]
    assert [p.partner_id for p in needed] == [1, 2, 3, 4, 5]
    assert plan(one_way, links, items, partners=needed).actions == everyone.actions
    # Without one of the partners sharing O2's email, O2 would wrongly match the other.
    fewer = [p for p in needed if p.partner_id != 3]
    assert plan(one_way, links, items, partners=fewer).actions != everyone.actions

    by_group = {}
    for action in everyone.actions:
        by_group.setdefault(action.group, action)  # a record's first action
    assert by_group["partner:1"].kind == UPDATE_ODOO
    # Its email is shared: no match, and no third contact with that email.
    assert by_group["outlook:O2"].kind == SKIP
    assert "shared by 2 Odoo contacts" in by_group["outlook:O2"].reason
    assert by_group["partner:4"].kind == LINK and "same phone" in by_group["partner:4"].reason
    assert by_group["partner:5"].kind == LINK
