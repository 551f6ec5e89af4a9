"""Undoing a run: what its lines keep, and what plan_undo puts back or refuses, record by record.

The lines come from real plans (plan_sync), as the adapter logs them; plan_undo then sees the
state the adapter would read afterwards.
"""

from sync_fakes import CTX, DB, linked_pair, partner, plan

from sync import Policies, odoo_to_contact, parse_graph_contact
from sync import undo as U
from sync.contact import Snapshot
from sync.mapping import PARTNER_REF_PROPERTY_ID, apply_patch
from sync.planner import (
    ARCHIVE_PARTNER,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    LINK,
    UNCHANGED,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
    Link,
)

RUN = 7


def _entries(plan_, line_ids=None, *, target=U.SYNCED_FOLDER, before=None, snapshots=None):
    """The plan's actions as the adapter logs them (created records given ids), read back."""
    entries = []
    for index, action in enumerate(plan_.actions):
        pid = action.partner_id
        if action.kind == CREATE_IN_ODOO:
            pid = 900 + index
        oid = action.outlook_id or (f"NEW{index}" if action.kind == CREATE_IN_OUTLOOK else None)
        data = U.line_undo_data(
            action,
            target=target,
            partner_id=pid,
            outlook_id=oid,
            before=(before or {}).get(pid),
            snapshot=(snapshots or {}).get(pid),
        )
        if data is not None:
            line_id = (line_ids or {}).get(index, 100 + index)
            entries.append(U.Entry.of(line_id, RUN, data, label=f"P{pid}"))
    return entries


def _now(values, active=True):
    return U.PartnerNow(active, values)


def _link_now(link, target=U.SYNCED_FOLDER):
    return U.LinkNow(target, link.partner_id, link.outlook_id, link.change_key, link.snapshot)


def _undo(entries, **kwargs):
    kwargs.setdefault("partners", {})
    return U.plan_undo(entries, database_uuid=DB, ctx=CTX, **kwargs)


# --- what a line keeps ------------------------------------------------------------------------


def test_a_line_keeps_the_previous_and_new_values_compactly():
    part, item, link = linked_pair(CTX, 1, "O1", phone="+32 2 555 12 12", function="Chef")
    edited = {**item, "jobTitle": "Head Chef", "changeKey": "ck2"}
    (update,) = plan(links=[link], items=[edited], partners=[part]).actions
    assert update.kind == UPDATE_ODOO
    data = U.line_undo_data(
        update,
        target="folder",
        partner_id=1,
        outlook_id="O1",
        before={"function": "Chef"},
        snapshot={"ignored": "only a deletion keeps one"},
    )
    assert data == {
        "v": 1,
        "kind": UPDATE_ODOO,
        "target": "folder",
        "group": "partner:1",
        "partner": 1,
        "outlook": "O1",
        "changes": {"function": ["Chef", "Head Chef"]},
        "before": {"function": "Chef"},
    }
    entry = U.Entry.of(5, RUN, data)
    assert entry.changes == {"function": ("Chef", "Head Chef")}
    assert entry.before == {"function": "Chef"}


def test_lines_that_changed_nothing_keep_nothing():
    part, _item, link = linked_pair(CTX, 1, "O1")
    (unchanged,) = plan(links=[link], partners=[part]).actions
    assert unchanged.kind == UNCHANGED
    assert U.line_undo_data(unchanged, target="folder", partner_id=1, outlook_id="O1") is None


def test_states_and_tags_read_back_as_the_contact_holds_them():
    data = {
        "kind": UPDATE_ODOO,
        "group": "partner:1",
        "partner": 1,
        "changes": {
            "state": [["NY", "New York"], ["", ""]],
            "categories": [["VIP"], []],
            "unknown": ["a", "b"],
            "phone": [None, 12],
        },
    }
    entry = U.Entry.of(1, RUN, data)
    assert entry.changes == {
        "state": (("NY", "New York"), ("", "")),
        "categories": (("VIP",), ()),
        "phone": ("", ""),
    }
    assert U.Entry.of(1, RUN, {"kind": "nothing"}) is None
    assert U.Entry.of(1, RUN, "not json") is None


def test_odoo_columns_of_planner_values():
    assert U.odoo_columns(["phone", "email"]) == ["email", "phone"]
    assert U.odoo_columns(["company_name"]) == ["company_name", "parent_id"]
    # Country and state travel together.
    assert U.odoo_columns(["state_code"]) == ["state_id", "country_id"]
    assert U.odoo_columns(["comment", "category_names"]) == ["comment", "category_id"]


# --- fields put back ------------------------------------------------------------------------


def test_outlook_fields_the_run_changed_are_patched_back_under_if_match():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef", mobile="+32 475 11 22 33")
    changed = partner(1, function="Head Chef", mobile="+32 475 99 99 99")
    run = plan(links=[link], partners=[changed])
    (update,) = run.actions
    assert update.kind == UPDATE_OUTLOOK
    after = Link("O1", 1, update.snapshot, "ck-after")
    record = _undo(_entries(run), links=[_link_now(after)]).records[0]
    assert record.refusal is None and record.link_op is None
    (step,) = record.steps
    assert (step.kind, step.if_match, step.outlook_id) == (U.PUT_BACK_OUTLOOK, "ck-after", "O1")
    assert step.payload["jobTitle"] == "Chef"
    assert step.payload["mobilePhone"] == "+32 475 11 22 33"
    assert step.reason.describe() == "put back as before run #7: job title, mobile"
    # What Outlook shows once patched is what it showed before the run.
    patched = parse_graph_contact(apply_patch({**item, **update.payload}, step.payload), CTX)
    assert parse_graph_contact(item, CTX).contact.same_as(patched.contact)


def test_odoo_fields_the_run_changed_get_the_values_it_overwrote():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef")
    run = plan(links=[link], items=[{**item, "jobTitle": "Head Chef"}], partners=[part])
    entries = _entries(run, before={1: {"function": "Chef (kitchen)"}})
    now = {1: _now({**part.values, "function": "Head Chef"})}
    (record,) = _undo(entries, partners=now).records
    (step,) = record.steps
    assert (step.kind, step.values, step.partner_id) == (
        U.PUT_BACK_ODOO,
        {"function": "Chef (kitchen)"},
        1,
    )


def test_odoo_changed_since_the_run_is_not_undone():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef")
    run = plan(links=[link], items=[{**item, "jobTitle": "Head Chef"}], partners=[part])
    entries = _entries(run, before={1: {"function": "Chef"}})
    edited = {1: _now({**part.values, "function": "Sous Chef"})}
    (record,) = _undo(entries, partners=edited).records
    assert not record.steps
    assert record.refusal.describe() == "not undone: changed in Odoo since run #7 (job title)"

    again = {1: _now({**part.values, "function": "Chef"})}
    (record,) = _undo(entries, partners=again).records
    assert [s.kind for s in record.steps] == [U.NOTHING]
    assert record.steps[0].reason.describe() == "already as before run #7"


def test_a_write_the_user_may_not_make_refuses_the_record():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef")
    run = plan(links=[link], items=[{**item, "jobTitle": "Head Chef"}], partners=[part])
    entries = _entries(run, before={1: {"function": "Chef"}})
    now = {1: _now({**part.values, "function": "Head Chef"})}
    (record,) = _undo(entries, partners=now, not_writable={1: "read-only contacts"}).records
    assert record.refusal.describe() == "not undone: not allowed: read-only contacts"
    assert not record.steps


# --- later runs ------------------------------------------------------------------------------


def test_a_later_run_that_changed_the_record_refuses_it_and_says_which():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef")
    run = plan(links=[link], items=[{**item, "jobTitle": "Head Chef"}], partners=[part])
    entries = _entries(run, before={1: {"function": "Chef"}})
    now = {1: _now({**part.values, "function": "Head Chef"})}
    touched = {
        "touched_partners": {1: U.Touch(12, "2025-03-02 10:00")},
        "touched_items": {"O1": U.Touch(9, "2025-03-01 09:30")},
    }
    (record,) = _undo(entries, partners=now, **touched).records
    assert record.refusal.describe() == ("not undone: changed again by run #9 on 2025-03-01 09:30")
    # Lines an earlier undo of this run put back are left alone: nothing to plan.
    assert _undo(entries, partners=now, undone=[e.line_id for e in entries]).records == []


def test_one_refused_line_refuses_the_whole_record():
    part, item, link = linked_pair(CTX, 1, "O1", function="Chef", city="Ghent")
    outlook = {**item, "jobTitle": "Head Chef"}
    changed = partner(1, **{**part.values, "city": "Bruges"})
    run = plan(links=[link], items=[outlook], partners=[changed])
    assert {a.kind for a in run.actions} == {UPDATE_OUTLOOK, UPDATE_ODOO}
    after = [a for a in run.actions if a.snapshot][-1].snapshot
    links = [U.LinkNow("folder", 1, "O1", "ck3", after)]
    entries = _entries(run, before={1: {"function": "Chef"}})
    edited = {1: _now({**changed.values, "function": "Sous Chef"})}
    (record,) = _undo(entries, partners=edited, links=links).records
    assert record.refusal is not None and not record.steps and record.link_op is None


# --- contacts created, archived, deleted ---------------------------------------------------


def test_an_outlook_copy_the_run_created_is_deleted_and_the_partner_left_out():
    run = plan(partners=[partner(4, email="new@example.com")])
    (create,) = run.actions
    assert create.kind == CREATE_IN_OUTLOOK
    entries = _entries(run)
    copy = entries[0].outlook_id
    links = [U.LinkNow("folder", 4, copy, "ck-created", create.snapshot)]
    (record,) = _undo(entries, links=links).records
    (step,) = record.steps
    assert (step.kind, step.outlook_id, step.if_match) == (U.DELETE_COPY, copy, "ck-created")
    assert record.link_op == U.FORGET_PARTNER
    # Without its link, the copy is not known any more: not deleted.
    (record,) = _undo(entries).records
    assert record.refusal.text == U.NOT_LINKED_TEXT


def test_an_outlook_copy_the_run_deleted_is_created_again_as_last_synced():
    part, _item, link = linked_pair(
        CTX, 3, "O3", email="gone@example.com", phone="+32 2 555 12 12", city="Ghent"
    )
    run = plan(links=[link], partners=[], gone={3: "archived"})
    (delete,) = run.actions
    assert delete.kind == DELETE_IN_OUTLOOK
    stored = link.snapshot.to_json()
    entries = _entries(run, snapshots={3: stored})
    (record,) = _undo(entries, partners={3: _now(part.values, active=False)}).records
    (step,) = record.steps
    assert step.kind == U.CREATE_AGAIN and step.if_match is None
    assert step.payload["singleValueExtendedProperties"] == [
        {"id": PARTNER_REF_PROPERTY_ID, "value": f"{DB}:3"}
    ]
    created = parse_graph_contact({**step.payload, "id": "O3b"}, CTX).contact
    assert created.same_as(link.snapshot.outlook)
    assert record.link_op == U.NEW_LEFT_OUT
    assert record.snapshot == Snapshot.from_json(stored)

    # Without the snapshot nothing can be created; a contact linked again is left alone.
    (record,) = _undo(_entries(run)).records
    assert record.refusal.describe() == "not undone: run #7 kept no synced version of this contact"
    linked = [U.LinkNow("folder", 3, "O9", "ck")]
    (record,) = _undo(entries, links=linked).records
    assert record.refusal.text == U.LINKED_AGAIN_TEXT


def test_a_partner_the_run_created_is_archived_and_its_outlook_contact_left_out():
    item = {
        "id": "O5",
        "changeKey": "ck5",
        "givenName": "Otto",
        "surname": "Outlook",
        "emailAddresses": [{"address": "otto@example.com"}],
    }
    run = plan(items=[item])
    (create,) = run.actions
    assert create.kind == CREATE_IN_ODOO
    entries = _entries(run)
    pid = entries[0].partner_id
    now = {pid: _now(create.values)}
    (record,) = _undo(entries, partners=now).records
    assert [s.kind for s in record.steps] == [U.ARCHIVE]
    assert record.link_op == U.LEAVE_OUT_ITEM
    # Imported one way from the default folder: archived, and no longer imported.
    imported = _entries(run, target="default_folder")
    (record,) = _undo(imported, partners=now).records
    assert record.link_op == U.STOP_IMPORT
    assert "no longer imported" in record.steps[0].reason.describe()
    # A colleague's contact (or one the user may not archive) stays.
    (record,) = _undo(entries, partners=now, not_archivable={pid: "an Odoo user"}).records
    assert record.refusal.describe() == "not undone: not allowed: an Odoo user"
    # Archived meanwhile: nothing to do, the Outlook contact is still left out.
    (record,) = _undo(entries, partners={pid: _now(create.values, active=False)}).records
    assert [s.kind for s in record.steps] == [U.NOTHING] and record.link_op == U.LEAVE_OUT_ITEM
    # Edited in Odoo since: kept.
    edited = {pid: _now({**create.values, "name": "Otto Renamed"})}
    (record,) = _undo(entries, partners=edited).records
    assert record.refusal.describe() == "not undone: changed in Odoo since run #7 (name)"


def test_a_partner_the_run_archived_is_restored():
    part, _item, link = linked_pair(CTX, 2, "O2")
    run = plan(Policies(outlook_deletion="archive"), [link], removed=["O2"], partners=[part])
    (archive,) = run.actions
    assert archive.kind == ARCHIVE_PARTNER
    entries = _entries(run)
    (record,) = _undo(entries, partners={2: _now(part.values, active=False)}).records
    assert [s.kind for s in record.steps] == [U.RESTORE] and record.link_op is None
    (record,) = _undo(entries, partners={2: _now(part.values)}).records
    assert [s.kind for s in record.steps] == [U.NOTHING]
    (record,) = _undo(entries).records
    assert record.refusal.describe() == "not undone: the Odoo contact was deleted since run #7"


def test_a_pair_the_run_made_is_put_back_and_left_out():
    odoo = partner(6, email="pair@example.com", phone="+32 2 555 00 00")
    item = {
        "id": "O6",
        "changeKey": "ck6",
        "displayName": "P6",
        "emailAddresses": [{"address": "pair@example.com"}],
        "jobTitle": "Buyer",
    }
    run = plan(items=[item], partners=[odoo])
    kinds = [a.kind for a in run.actions]
    assert kinds[0] == LINK and UPDATE_ODOO in kinds and UPDATE_OUTLOOK in kinds
    final = [a for a in run.actions if a.snapshot][-1].snapshot
    entries = _entries(run, before={6: {"function": False}})
    contact, _ = odoo_to_contact({**odoo.values, "function": "Buyer"}, CTX)
    now = {6: _now({**odoo.values, "function": "Buyer"})}
    links = [U.LinkNow("folder", 6, "O6", "ck7", final)]
    (record,) = _undo(entries, partners=now, links=links).records
    assert [s.kind for s in record.steps] == [U.PUT_BACK_OUTLOOK, U.PUT_BACK_ODOO, U.LEAVE_OUT]
    assert record.link_op == U.LEAVE_OUT_PAIR
    outlook, odoo_step = record.steps[0], record.steps[1]
    assert outlook.payload["businessPhones"] == [] and outlook.if_match == "ck7"
    assert odoo_step.values == {"function": False}
    assert contact.function == "Buyer"


def test_records_keep_the_order_of_their_lines_and_translate():
    part, _item, link = linked_pair(CTX, 2, "O2")
    run = plan(Policies(outlook_deletion="archive"), [link], removed=["O2"], partners=[part])
    entries = _entries(run)
    (record,) = _undo(entries, partners={2: _now(part.values, active=False)}).records
    assert record.line_ids == (entries[0].line_id,) and record.label == "P2"
    french = {U.RESTORE_TEXT: "archivé par l'exécution n°%(run)s : restauré"}
    assert record.steps[0].reason.describe(lambda t: french.get(t, t)) == (
        "archivé par l'exécution n°7 : restauré"
    )
    assert U.RESTORE_TEXT in U.TEXTS and "job title" in U.TEXTS


def test_an_item_naming_a_partner_not_in_scope_is_never_created_in_odoo():
    """A copy the sync made of a contact it no longer holds (archived since, or created again
    by an undo whose link was lost in a crash) is not made into a second partner."""
    copy = {
        "id": "O8",
        "displayName": "Archived Person",
        "emailAddresses": [{"address": "archived@example.com"}],
        "singleValueExtendedProperties": [{"id": PARTNER_REF_PROPERTY_ID, "value": f"{DB}:8"}],
    }
    (skip,) = plan(items=[copy]).actions
    assert skip.kind == "skip" and "not created again in Odoo" in skip.reason
    # Another database's copy is a contact like any other.
    foreign = {
        **copy,
        "singleValueExtendedProperties": [{"id": PARTNER_REF_PROPERTY_ID, "value": "other:8"}],
    }
    (create,) = plan(items=[foreign]).actions
    assert create.kind == CREATE_IN_ODOO
