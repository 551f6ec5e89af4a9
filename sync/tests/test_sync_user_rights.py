"""The plan asks Odoo for nothing the syncing user may not do, and scope never deletes
what came from Outlook (R9)."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from sync_fakes import CTX, match_key_holder, partner, plan
from sync_fakes import linked_pair as _linked_pair

from sync import (
    Policies,
    apply_patch,
)
from sync.planner import (
    ARCHIVE_PARTNER,
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    LINK_DETACH,
    NOT_ALLOWED,
    SKIP,
    UNCHANGED,
    UNLINK,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
)


def linked_pair(pid, oid, **values):
    return _linked_pair(CTX, pid, oid, **values)


def edited(item, **patch):
    return apply_patch(item, {**patch, "changeKey": "ck2"})


def test_outlook_edit_of_a_contact_the_user_may_not_change_is_written_back():
    part, item, link = linked_pair(1, "O1", email="boss@x.com")
    attack = edited(item, emailAddresses=[{"address": "attacker@evil.com"}])
    p = plan(links=[link], items=[attack], partners=[part], not_writable={1: "internal user"})
    assert not p.of_kind(UPDATE_ODOO)
    (back,) = p.of_kind(UPDATE_OUTLOOK)
    assert back.payload["emailAddresses"][0]["address"] == "boss@x.com"
    assert back.snapshot.base.email == "boss@x.com"
    (refused,) = p.of_kind(NOT_ALLOWED)
    assert refused.reason.startswith("not allowed: internal user")
    assert "written back to Outlook: email" in refused.reason


def test_a_conflict_on_a_read_only_contact_keeps_odoo_whatever_the_policy():
    part, item, link = linked_pair(1, "O1", city="Gent")
    part = replace(part, values={**part.values, "city": "Brugge"})
    item = edited(item, businessAddress={"city": "Antwerpen"})
    p = plan(
        Policies(conflict="outlook"),
        [link],
        [item],
        partners=[part],
        not_writable={1: "record rules"},
    )
    assert not p.of_kind(UPDATE_ODOO)
    (back,) = p.of_kind(UPDATE_OUTLOOK)
    assert back.payload["businessAddress"]["city"] == "Brugge"
    (conflict,) = p.of_kind(CONFLICT)
    assert "kept odoo's" in conflict.reason


def test_read_only_contact_one_way_into_odoo_stays_different_with_a_line():
    part, item, link = linked_pair(1, "O1", function="CEO")
    item = edited(item, jobTitle="Intern")
    one_way = Policies(direction="outlook_to_odoo")
    p = plan(one_way, [link], [item], partners=[part], not_writable={1: "read only"})
    assert [a.kind for a in p.actions] == [UNCHANGED, NOT_ALLOWED]
    assert "stay in Outlook only: job title" in p.actions[1].reason
    # The next run, the item unchanged: Odoo's own values are the base, nothing is planned.
    stored = p.actions[0].snapshot
    again = plan(one_way, [replace(link, snapshot=stored)], [], partners=[part])
    assert [a.kind for a in again.actions] == [UNCHANGED]


def test_odoo_changes_of_a_read_only_contact_still_reach_outlook():
    part, item, link = linked_pair(1, "O1", phone="+32 9 000 00 00")
    part = replace(part, values={**part.values, "phone": "+32 9 111 11 11"})
    p = plan(links=[link], items=[], partners=[part], not_writable={1: "read only"})
    assert [a.kind for a in p.actions] == [UPDATE_OUTLOOK]


def test_deleted_in_outlook_with_archive_policy_unlinks_what_may_not_be_archived():
    part, _item, link = linked_pair(1, "O1")
    policies = Policies(outlook_deletion="archive")
    p = plan(policies, [link], removed=["O1"], partners=[part], not_archivable={1: "a user"})
    (unlink,) = p.actions
    assert unlink.kind == UNLINK and unlink.link_op == LINK_DETACH
    assert "not allowed to archive the Odoo contact (a user)" in unlink.reason
    assert [a.kind for a in plan(policies, [link], removed=["O1"], partners=[part]).actions] == [
        ARCHIVE_PARTNER
    ]


def test_no_create_right_keeps_new_outlook_contacts_in_outlook_with_a_line():
    items = [{"id": "O1", "displayName": "Ann"}]
    p = plan(items=items, may_create=False, create_refusal="creating contacts in Odoo")
    (refused,) = p.actions
    assert refused.kind == NOT_ALLOWED and refused.outlook_id == "O1"
    assert refused.reason.startswith("not allowed: creating contacts in Odoo")
    assert refused.link_op is None


def test_partner_created_in_outlook_is_not_aligned_back_when_read_only():
    # Outlook cannot hold a state without a country; a read-only partner keeps Odoo's.
    part = partner(1, state_name="Flanders")
    p = plan(partners=[part], not_writable={1: "read only"})
    (create,) = p.actions
    assert create.kind == CREATE_IN_OUTLOOK and create.created_in_outlook
    assert create.snapshot.base.get("state") == ("", "Flanders")
    assert [a.kind for a in plan(partners=[part]).actions] == [CREATE_IN_OUTLOOK, UPDATE_ODOO]


def test_held_records_are_left_alone():
    part, item, link = linked_pair(1, "O1", city="Gent")
    part = replace(part, values={**part.values, "city": "Brugge"})
    stuck = "stuck: failed 3 times"
    p = plan(links=[link], partners=[part, partner(2)], held={1: stuck, 2: stuck})
    assert [(a.kind, a.partner_id, a.reason) for a in p.actions] == [(SKIP, 1, stuck)]


# --- scope: an Odoo filter chooses what Odoo sends, never what Outlook may keep -------------


def test_out_of_scope_deletes_only_copies_the_sync_put_in_outlook():
    ours = replace(linked_pair(1, "O1")[2], created_in_outlook=True)
    theirs = linked_pair(2, "O2")[2]
    p = plan(links=[ours, theirs], gone={1: "out_of_scope", 2: "out_of_scope"})
    by_partner = {a.partner_id: a for a in p.actions}
    assert by_partner[1].kind == DELETE_IN_OUTLOOK
    assert "copy the sync put in Outlook" in by_partner[1].reason
    assert by_partner[2].kind == SKIP and by_partner[2].link_op is None
    # Archived in Odoo is not a filter: the user's own Outlook contact follows the policy.
    p = plan(links=[theirs], gone={2: "archived"})
    assert [a.kind for a in p.actions] == [DELETE_IN_OUTLOOK]


def test_links_say_who_created_the_outlook_item():
    part = partner(1, email="a@x.com")
    created = plan(partners=[part]).of_kind(CREATE_IN_OUTLOOK)[0]
    assert created.created_in_outlook
    mine = {"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "a@x.com"}]}
    linked = plan(items=[mine], partners=[part]).actions[0]
    assert linked.link_op and not linked.created_in_outlook
    imported = plan(items=[{"id": "O2", "displayName": "Bo"}]).of_kind(CREATE_IN_ODOO)[0]
    assert not imported.created_in_outlook


pair_st = st.fixed_dictionaries(
    {
        "created_in_outlook": st.booleans(),
        "partner": st.sampled_from(["in_scope", "out_of_scope", "archived", "deleted"]),
        "item": st.sampled_from(["unchanged", "edited", "removed"]),
        "detached": st.booleans(),
    }
)
policy_st = st.builds(
    Policies,
    direction=st.sampled_from(["two_way", "odoo_to_outlook", "outlook_to_odoo"]),
    conflict=st.sampled_from(["odoo", "outlook", "newest"]),
    outlook_deletion=st.sampled_from(["unlink", "archive", "recreate"]),
    odoo_deletion=st.sampled_from(["delete_in_outlook", "keep"]),
    mass_delete_confirmed=st.booleans(),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(pairs=st.lists(pair_st, max_size=12), policies=policy_st, new_items=st.integers(0, 3))
def test_property_scope_alone_never_deletes_an_outlook_contact_the_sync_did_not_create(
    pairs, policies, new_items
):
    links, items, removed, partners, gone = [], [], [], [], {}
    for pid, spec in enumerate(pairs, start=1):
        part, item, link = linked_pair(pid, f"O{pid}", email=f"p{pid}@x.com")
        links.append(
            replace(link, created_in_outlook=spec["created_in_outlook"], detached=spec["detached"])
        )
        if spec["item"] == "edited":
            items.append(edited(item, jobTitle="Changed"))
        elif spec["item"] == "removed":
            removed.append(item["id"])
        if spec["partner"] == "in_scope":
            partners.append(part)
        else:
            gone[pid] = spec["partner"]
    items += [{"id": f"N{n}", "displayName": f"New {n}"} for n in range(new_items)]
    p = plan(policies, links, items, removed, partners, gone=gone)
    origin = {lk.outlook_id: lk for lk in links}
    for action in [*p.actions, *p.withheld]:
        if action.kind != DELETE_IN_OUTLOOK:
            continue
        link = origin[action.outlook_id]
        assert link.created_in_outlook or gone.get(link.partner_id) != "out_of_scope", action


# --- an incremental Odoo side plans the same as a full one -----------------------------------

pair_change_st = st.fixed_dictionaries(
    {
        "odoo": st.sampled_from(["same", "edited", "out_of_scope", "archived"]),
        "outlook": st.sampled_from(["same", "edited", "removed"]),
        "linked": st.sampled_from(["linked", "detached", "unlinked"]),
        "email": st.sampled_from(["own", "shared"]),
    }
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    pairs=st.lists(pair_change_st, max_size=10),
    policies=policy_st,
    new_items=st.lists(st.sampled_from(["new", "matches", "shared"]), max_size=4),
)
def test_property_an_incremental_read_plans_like_a_full_one(pairs, policies, new_items):
    """The adapter may read only the partners changed since the last run, the unlinked ones,
    those of the Outlook items of the round and those an unlinked item may match, passing the
    other linked ones as `unchanged`: the plan must be the same as with every partner."""
    links, items, removed, partners, gone, changed = [], [], [], [], {}, set()
    for pid, spec in enumerate(pairs, start=1):
        email = "shared@x.com" if spec["email"] == "shared" else f"p{pid}@x.com"
        part, item, link = linked_pair(pid, f"O{pid}", email=email)
        if spec["linked"] != "unlinked":
            links.append(replace(link, detached=spec["linked"] == "detached"))
        if spec["odoo"] == "edited":
            part = replace(part, values={**part.values, "function": "Edited"})
            changed.add(pid)
        if spec["odoo"] in ("same", "edited"):
            partners.append(part)
        elif spec["linked"] != "unlinked":
            gone[pid] = spec["odoo"]
        if spec["outlook"] == "edited":
            items.append(edited(item, jobTitle="Outlook"))
        elif spec["outlook"] == "removed":
            removed.append(item["id"])
    for n, kind in enumerate(new_items):
        email = {"new": f"new{n}@x.com", "matches": "p1@x.com", "shared": "shared@x.com"}[kind]
        items.append(
            {"id": f"N{n}", "displayName": f"New {n}", "emailAddresses": [{"address": email}]}
        )
    full = plan(policies, links, items, removed, partners, gone=gone)

    linked = {lk.partner_id for lk in links}
    touched_items = {i["id"] for i in items} | set(removed)
    holds_a_key = match_key_holder(links, items)

    def needed(part):
        return (
            part.partner_id in changed
            or part.partner_id not in linked
            or any(
                lk.partner_id == part.partner_id and lk.outlook_id in touched_items for lk in links
            )
            or holds_a_key(part)
        )

    read = [p for p in partners if needed(p)]
    unchanged = frozenset(p.partner_id for p in partners if not needed(p)) & linked
    partial = plan(policies, links, items, removed, read, gone=gone, unchanged=unchanged)
    assert partial.actions == full.actions
    assert partial.withheld == full.withheld
