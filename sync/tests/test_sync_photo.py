"""Photos: the three-way rule, the plan's photo actions, the preview, and the image sent."""

import io
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sync_fakes import COUNTRIES, CTX, DB, linked_pair, partner, plan

from sync import OdooSide, OutlookChanges, Policies, plan_sync
from sync.merge import CONFLICT_NEWEST, CONFLICT_OUTLOOK, ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO
from sync.photo import (
    CLEAR_PHOTO,
    DELETE_PHOTO,
    MAX_PHOTO_SIDE,
    NO_PHOTO,
    PHOTO,
    PUT_PHOTO,
    SET_PHOTO,
    PhotoBase,
    PhotoError,
    PhotoRule,
    decide_photo,
    image_type,
    photo_checksum,
    photo_step,
    prepare_photo,
    sent_base,
)
from sync.planner import (
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    KEEP_PHOTO,
    LINK,
    LINK_STORE,
    READ_PHOTO,
    UNCHANGED,
    UPDATE_ODOO,
    UPDATE_ODOO_PHOTO,
    UPDATE_OUTLOOK_PHOTO,
)
from sync.preview import (
    TEXTS,
    UPDATE_ODOO_SECTION,
    UPDATE_OUTLOOK_SECTION,
    preview_entries,
    select_actions,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40
SYNCED = PhotoBase(A, A)
PHOTOS = Policies(sync_photos=True)


def kinds(p):
    return [a.kind for a in p.actions]


def image(size=(64, 48), fmt="JPEG", color=(200, 30, 30), mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else (*color, 128)).save(out, format=fmt)
    return out.getvalue()


# --- the three-way rule ---------------------------------------------------------------------


def test_nothing_changed_costs_nothing():
    assert photo_step(SYNCED, A, None, PhotoRule(), read=False) is None
    assert photo_step(SYNCED, A, A, PhotoRule(), read=True) is None


@pytest.mark.parametrize(
    "odoo, outlook, write",
    [
        (B, A, PUT_PHOTO),  # changed in Odoo
        (NO_PHOTO, A, DELETE_PHOTO),  # removed in Odoo: removed in Outlook
        (A, B, SET_PHOTO),  # changed in Outlook
    ],
)
def test_a_photo_changed_on_one_side_wins(odoo, outlook, write):
    decision = decide_photo(SYNCED, odoo, outlook, PhotoRule())
    assert decision.write == write and decision.conflict is None


def test_removed_in_outlook_is_ignored_and_refilled_unless_outlook_may_clear():
    ignored = decide_photo(SYNCED, A, NO_PHOTO, PhotoRule())
    assert ignored.write == PUT_PHOTO and "ignored" in ignored.note
    cleared = decide_photo(SYNCED, A, NO_PHOTO, PhotoRule(outlook_may_clear=True))
    assert cleared.write == CLEAR_PHOTO and cleared.base == PhotoBase(NO_PHOTO, NO_PHOTO)
    one_way = decide_photo(SYNCED, A, NO_PHOTO, PhotoRule(direction=OUTLOOK_TO_ODOO))
    assert one_way.write is None and one_way.base == PhotoBase(A, NO_PHOTO)


@pytest.mark.parametrize(
    "policy, odoo_at, outlook_at, write, kept",
    [
        ("odoo", None, None, PUT_PHOTO, "odoo"),
        (CONFLICT_OUTLOOK, None, None, SET_PHOTO, "outlook"),
        (CONFLICT_NEWEST, "2024-01-01 10:00:00", "2024-01-02T10:00:00Z", SET_PHOTO, "outlook"),
        (CONFLICT_NEWEST, "2024-01-03 10:00:00", "2024-01-02T10:00:00Z", PUT_PHOTO, "odoo"),
    ],
)
def test_changed_on_both_sides_follows_the_conflict_policy(
    policy, odoo_at, outlook_at, write, kept
):
    rule = PhotoRule(conflict=policy, odoo_modified=odoo_at, outlook_modified=outlook_at)
    decision = decide_photo(SYNCED, B, C, rule)
    assert (decision.write, decision.conflict) == (write, kept)


def test_the_same_new_file_on_both_sides_is_no_conflict():
    decision = decide_photo(SYNCED, B, B, PhotoRule())
    assert decision.write is None and decision.base == PhotoBase(B, B)


def test_one_way_directions_copy_the_source_changes_only():
    down = PhotoRule(direction=OUTLOOK_TO_ODOO)
    assert decide_photo(SYNCED, B, A, down).write is None  # Odoo's own edit stays in Odoo
    assert decide_photo(SYNCED, A, B, down).write == SET_PHOTO
    up = PhotoRule(direction=ODOO_TO_OUTLOOK)
    assert decide_photo(SYNCED, A, B, up).write is None
    assert decide_photo(SYNCED, B, A, up).write == PUT_PHOTO
    # Both changed, the policy keeps Outlook's: a one-way copy to Outlook writes nothing.
    assert decide_photo(SYNCED, B, C, replace(up, conflict=CONFLICT_OUTLOOK)).write is None


def test_first_sight_fills_the_empty_side_and_never_replaces_a_photo():
    assert decide_photo(None, A, NO_PHOTO, PhotoRule()).write == PUT_PHOTO
    assert decide_photo(None, NO_PHOTO, B, PhotoRule()).write == SET_PHOTO
    both = decide_photo(None, A, B, PhotoRule(conflict=CONFLICT_OUTLOOK))
    assert both.write is None and both.base == PhotoBase(A, B) and both.conflict is None
    # A base that knows one side only is a first sight too.
    assert decide_photo(PhotoBase(NO_PHOTO, None), A, B, PhotoRule()).write is None
    # Both kept: the next syncs leave them so until one of them changes.
    assert decide_photo(both.base, A, B, PhotoRule()).write is None
    assert photo_step(both.base, A, None, PhotoRule(), read=False) is None
    assert decide_photo(both.base, C, B, PhotoRule()).write == PUT_PHOTO


def test_a_partner_the_user_may_not_change_keeps_its_photo():
    locked = PhotoRule(odoo_locked="a record rule")
    decision = decide_photo(SYNCED, A, B, locked)
    assert decision.write == PUT_PHOTO and "not allowed" in decision.note  # written back
    assert decide_photo(SYNCED, B, C, replace(locked, conflict=CONFLICT_OUTLOOK)).write == (
        PUT_PHOTO
    )
    first = decide_photo(None, NO_PHOTO, B, locked)
    assert first.write is None  # the user's Outlook photo stays, Odoo is not written


def test_unknown_outlook_photo_is_read_only_when_it_may_have_changed():
    assert photo_step(SYNCED, A, None, PhotoRule(), read=True).decision is None
    assert photo_step(None, A, None, PhotoRule(), read=False) is None  # no guess
    step = photo_step(SYNCED, B, None, PhotoRule(), read=False)
    assert step.decision.write == PUT_PHOTO  # Outlook did not change: it holds the base's


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["odoo", "outlook", "sync"]), st.sampled_from([A, B, C, None])),
        max_size=12,
    ),
    st.sampled_from(["odoo", CONFLICT_OUTLOOK]),
    st.booleans(),
)
def test_property_two_way_sync_converges(edits, policy, may_clear):
    """Random edits on both sides, synced now and then: after a last sync both sides hold the
    same picture, and one more sync writes nothing (Outlook stores what it is sent)."""
    odoo = outlook = NO_PHOTO
    base = PhotoBase(NO_PHOTO, NO_PHOTO)
    rule = PhotoRule(conflict=policy, outlook_may_clear=may_clear)

    def sync(odoo, outlook, base):
        decision = decide_photo(base, odoo, outlook, rule)
        if decision.write == PUT_PHOTO:
            outlook = odoo
        elif decision.write == DELETE_PHOTO:
            outlook = NO_PHOTO
        elif decision.write == SET_PHOTO:
            odoo = outlook
        elif decision.write == CLEAR_PHOTO:
            odoo = NO_PHOTO
        filled = decision.base
        return odoo, outlook, PhotoBase(filled.odoo or odoo, filled.outlook or outlook)

    for side, value in edits:
        value = value or NO_PHOTO
        if side == "odoo":
            odoo = value
        elif side == "outlook":
            outlook = value
        else:
            odoo, outlook, base = sync(odoo, outlook, base)
    odoo, outlook, base = sync(odoo, outlook, base)
    assert odoo == outlook
    assert decide_photo(base, odoo, outlook, rule).write is None


# --- in the plan ------------------------------------------------------------------------------


def photo_pair(pid=1, oid="O1", photo=A, base=SYNCED, **values):
    part, item, link = linked_pair(CTX, pid, oid, **values)
    return replace(part, photo=photo), item, replace(link, photo=base)


def test_an_unchanged_photo_plans_nothing_to_read_or_write():
    part, _item, link = photo_pair()
    p = plan(PHOTOS, links=[link], partners=[part])
    assert kinds(p) == [UNCHANGED] and not p.has_writes


def test_an_odoo_photo_change_alone_is_the_records_action_and_stores_its_link():
    part, _item, link = photo_pair(photo=B)
    p = plan(PHOTOS, links=[link], partners=[part])
    assert kinds(p) == [UPDATE_OUTLOOK_PHOTO]
    action = p.actions[0]
    assert action.photo.alone and action.photo.decision.write == PUT_PHOTO
    assert action.changes[0].field == PHOTO


def test_an_item_in_the_round_has_its_photo_read_when_not_read_before_planning():
    part, item, link = photo_pair()
    p = plan(PHOTOS, links=[link], partners=[part], items=[{**item, "changeKey": "ck2"}])
    assert kinds(p) == [READ_PHOTO]
    action = p.actions[0]
    assert action.photo.alone and action.photo.decision is None
    assert action.link_op == LINK_STORE and action.change_key == "ck2"  # taken over


def test_photos_read_before_planning_are_decided_by_the_planner():
    part, item, link = photo_pair(jobTitle="x")
    edited = {**item, "changeKey": "ck2", "jobTitle": "Buyer"}
    p = plan_with_photos({"O1": B}, links=[link], partners=[part], items=[edited])
    assert kinds(p) == [UPDATE_ODOO, UPDATE_ODOO_PHOTO]
    photo = p.actions[-1]
    assert not photo.photo.alone and photo.photo.decision.write == SET_PHOTO


def plan_with_photos(photos, links=(), items=(), partners=(), policies=PHOTOS, **odoo):
    """A plan whose Outlook photos were read before planning (`photos`: id -> checksum)."""
    return plan_sync(
        policies,
        links,
        OutlookChanges(items=list(items), photos=photos),
        OdooSide(partners=list(partners), **odoo),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )


def test_a_photo_changed_on_both_sides_joins_the_conflict_line():
    part, item, link = photo_pair(photo=B, city="Gent")
    link = replace(link, photo=SYNCED)
    edited = {**item, "changeKey": "ck2"}
    p = plan_with_photos({"O1": C}, links=[link], partners=[part], items=[edited])
    assert kinds(p) == [CONFLICT, UPDATE_OUTLOOK_PHOTO]
    conflict = p.actions[0]
    assert [c.field for c in conflict.conflicts] == [PHOTO]
    assert "photo (kept odoo's)" in conflict.reason


def test_a_new_partner_goes_with_its_photo_and_its_link_records_none_first():
    p = plan(PHOTOS, partners=[replace(partner(1, email="a@x.com"), photo=A)])
    assert kinds(p) == [CREATE_IN_OUTLOOK, UPDATE_OUTLOOK_PHOTO]
    create, photo = p.actions
    assert create.photo_base == PhotoBase(NO_PHOTO, NO_PHOTO)
    assert photo.photo.decision.write == PUT_PHOTO and not photo.photo.alone
    without = plan(PHOTOS, partners=[replace(partner(1, email="a@x.com"), photo=NO_PHOTO)])
    assert kinds(without) == [CREATE_IN_OUTLOOK]
    assert without.actions[0].photo_base == PhotoBase(NO_PHOTO, NO_PHOTO)


def test_a_new_outlook_contact_brings_its_photo():
    new = {"id": "O9", "displayName": "Zoe", "emailAddresses": [{"address": "z@x.com"}]}
    assert kinds(plan(PHOTOS, items=[new])) == [CREATE_IN_ODOO, READ_PHOTO]
    read = plan_with_photos({"O9": B}, items=[new])
    assert kinds(read) == [CREATE_IN_ODOO, UPDATE_ODOO_PHOTO]
    none = plan_with_photos({"O9": NO_PHOTO}, items=[new])
    assert kinds(none) == [CREATE_IN_ODOO]
    assert none.actions[0].photo_base == PhotoBase(NO_PHOTO, NO_PHOTO)


def test_a_matched_pair_is_a_first_sight():
    item = {"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "ann@x.com"}]}
    part = replace(partner(1, name="Ann", email="ann@x.com"), photo=A)
    p = plan_with_photos({"O1": B}, items=[item], partners=[part])
    assert kinds(p) == [LINK]  # two different photos: both stay, the link records them
    assert p.actions[0].photo_base == PhotoBase(A, B)


def test_a_link_that_does_not_know_outlooks_photo_waits_to_read_it():
    part, _item, link = photo_pair(base=None)
    assert kinds(plan(PHOTOS, links=[link], partners=[part])) == [UNCHANGED]
    checked = plan(PHOTOS, links=[link], partners=[part], photo_checks=frozenset({1}))
    assert kinds(checked) == [READ_PHOTO]


def test_a_photo_only_recorded_is_a_quiet_action():
    part, item, link = photo_pair(base=PhotoBase(A, B))
    # Outlook's photo became Odoo's file (the same picture, Outlook's own copy replaced).
    p = plan_with_photos({"O1": A}, links=[link], partners=[part], items=[item])
    assert kinds(p) == [KEEP_PHOTO] and p.actions[0].photo.alone  # the link's only write
    assert p.actions[0].photo.decision.base == PhotoBase(A, A)
    moved = {**item, "changeKey": "ck2"}
    p = plan_with_photos({"O1": A}, links=[link], partners=[part], items=[moved])
    assert kinds(p) == [UNCHANGED] and p.actions[0].photo_base == PhotoBase(A, A)
    _part, _item, quiet = photo_pair(base=PhotoBase(A, None))
    p = plan(PHOTOS, links=[quiet], partners=[part], photo_checks=frozenset({1}))
    assert kinds(p) == [READ_PHOTO]
    p = plan_with_photos({"O1": A}, links=[quiet], partners=[part], photo_checks={1})
    assert kinds(p) == [KEEP_PHOTO] and p.actions[0].photo.alone


def test_photos_off_or_unread_change_nothing():
    part, item, link = photo_pair(photo=B)
    assert kinds(plan(links=[link], partners=[part])) == [UNCHANGED]
    unread = replace(part, photo=None)
    assert kinds(plan(PHOTOS, links=[link], partners=[unread])) == [UNCHANGED]


def test_the_preview_shows_photo_changes_in_the_update_sections():
    part, item, link = photo_pair(photo=B)
    outlook = preview_entries(plan(PHOTOS, links=[link], partners=[part]))
    assert [e.section for e in outlook] == [UPDATE_OUTLOOK_SECTION]
    assert outlook[0].changes == "photo: a photo → another photo"
    assert outlook[0].optional and outlook[0].default_selected
    part2, item2, link2 = photo_pair(pid=2, oid="O2")
    into_odoo = preview_entries(
        plan_with_photos({"O2": NO_PHOTO}, links=[link2], partners=[part2], items=[item2])
    )
    # Removed in Outlook: ignored, Odoo's photo goes back to Outlook.
    assert into_odoo[0].section == UPDATE_OUTLOOK_SECTION
    assert into_odoo[0].changes == "photo: (empty) → a photo"
    may_clear = Policies(sync_photos=True, outlook_may_clear=True)
    cleared = plan_with_photos(
        {"O2": NO_PHOTO}, links=[link2], partners=[part2], items=[item2], policies=may_clear
    )
    entry = preview_entries(cleared)[0]
    assert entry.section == UPDATE_ODOO_SECTION and entry.changes == "photo: a photo → (empty)"
    assert {"a photo", "another photo", "photo"} <= TEXTS


def test_a_photo_change_is_the_users_choice_in_the_preview():
    one, _item1, link1 = photo_pair(pid=1, oid="O1", photo=B)
    two, _item2, link2 = photo_pair(pid=2, oid="O2", photo=C)
    p = plan(PHOTOS, links=[link1, link2], partners=[one, two])
    first = preview_entries(p)[0]
    kept, aside = select_actions(p, {first.key: first.signature})
    assert [a.partner_id for a in kept.actions] == [1] and aside == ["partner:2"]


def test_an_unread_photo_is_not_shown_in_the_preview():
    part, item, link = photo_pair()
    entries = preview_entries(plan(PHOTOS, links=[link], partners=[part], items=[item]))
    assert entries == []


# --- the image Outlook gets -----------------------------------------------------------------


def test_a_small_jpeg_or_png_goes_as_it_is():
    for fmt, kind in (("JPEG", "image/jpeg"), ("PNG", "image/png")):
        data = image(fmt=fmt)
        prepared = prepare_photo(data)
        assert prepared.data == data and prepared.content_type == kind
        assert prepared.checksum == photo_checksum(data) != NO_PHOTO


def test_a_large_image_is_resized_and_reencoded_within_the_limits():
    big = image(size=(3000, 2000), fmt="PNG")
    prepared = prepare_photo(big)
    assert prepared.content_type == "image/jpeg" and image_type(prepared.data) == "image/jpeg"
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert max(out.size) == MAX_PHOTO_SIDE and out.size[0] > out.size[1]
    tight = prepare_photo(big, max_bytes=4000)
    assert len(tight.data) <= 4000


def test_other_formats_and_transparency_become_a_jpeg():
    gif = prepare_photo(image(fmt="GIF"))
    assert gif.content_type == "image/jpeg"
    clear = prepare_photo(image(size=(MAX_PHOTO_SIDE + 100, 50), fmt="PNG", mode="RGBA"))
    assert clear.content_type == "image/jpeg"


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff" + b"0" * 50])
def test_a_corrupt_image_is_refused_with_a_reason(data):
    with pytest.raises(PhotoError):
        prepare_photo(data)


# --- the photo's own direction (Settings, Field by Field) -----------------------------------


def photo_way(direction, account_direction="two_way"):
    return Policies(
        sync_photos=True, direction=account_direction, field_directions=(("photo", direction),)
    )


def test_a_photo_not_synced_is_neither_read_nor_written_and_keeps_its_base():
    part, item, link = photo_pair(photo=B)
    not_synced = photo_way("not_synced")
    assert kinds(plan(not_synced, links=[link], partners=[part])) == [UNCHANGED]
    edited = {**item, "changeKey": "ck2"}
    p = plan(not_synced, links=[link], partners=[part], items=[edited])
    assert READ_PHOTO not in kinds(p) and not any(a.photo for a in p.actions)
    # Synced again: the change made meanwhile (Odoo's B over the base A) travels.
    again = plan(PHOTOS, links=[link], partners=[part])
    assert kinds(again) == [UPDATE_OUTLOOK_PHOTO]


def test_a_photo_set_odoo_to_outlook_is_never_written_in_odoo():
    part, item, link = photo_pair(photo=A)
    edited = {**item, "changeKey": "ck2"}
    odoo_only = photo_way("odoo_to_outlook")
    p = plan_with_photos(
        {"O1": B}, links=[link], partners=[part], items=[edited], policies=odoo_only
    )
    assert UPDATE_ODOO_PHOTO not in kinds(p)
    part, _item, link = photo_pair(photo=B)
    assert kinds(plan(odoo_only, links=[link], partners=[part])) == [UPDATE_OUTLOOK_PHOTO]


def test_a_photo_set_outlook_to_odoo_is_never_written_in_outlook():
    part, _item, link = photo_pair(photo=B)
    outlook_only = photo_way("outlook_to_odoo")
    assert UPDATE_OUTLOOK_PHOTO not in kinds(plan(outlook_only, links=[link], partners=[part]))
    # ... and the account's direction applies on top of the photo's own.
    part, item, link = photo_pair(photo=A)
    edited = {**item, "changeKey": "ck2"}
    p = plan_with_photos(
        {"O1": B},
        links=[link],
        partners=[part],
        items=[edited],
        policies=photo_way("outlook_to_odoo", "odoo_to_outlook"),
    )
    assert UPDATE_ODOO_PHOTO not in kinds(p) and UPDATE_OUTLOOK_PHOTO not in kinds(p)


def test_a_photo_outlook_stored_otherwise_than_sent_is_never_brought_back():
    # Sent A to Outlook, which keeps a re-encoded C: read back, C is that photo, not a change.
    base = sent_base(A, A)
    kept = decide_photo(base, A, C, PhotoRule())
    assert kept.write is None and kept.base == PhotoBase(A, C)
    # Odoo's image removed meanwhile: Outlook's copy of it goes too.
    removed = decide_photo(base, NO_PHOTO, C, PhotoRule())
    assert removed.write == DELETE_PHOTO
    # Not read yet: the mark stays, and Odoo's own change still goes out.
    assert photo_step(base, A, None, PhotoRule(), read=False) is None
    changed = photo_step(base, B, None, PhotoRule(), read=False)
    assert changed.decision.write == PUT_PHOTO
