"""The preview of a plan: one entry per record, sections, and the user's choice applied back."""

from dataclasses import replace

from sync_fakes import linked_pair as _linked_pair
from sync_fakes import partner

from sync import (
    CountryResolver,
    OdooSide,
    OutlookChanges,
    Policies,
    plan_sync,
)
from sync.mapping import MappingContext
from sync.planner import (
    CONFLICT,
    CREATE_IN_ODOO,
    CREATE_IN_OUTLOOK,
    DELETE_IN_OUTLOOK,
    INVALID,
    LINK,
    UNCHANGED,
    UPDATE_ODOO,
    UPDATE_OUTLOOK,
)
from sync.preview import (
    CONFLICT_SECTION,
    CREATE_ODOO_SECTION,
    CREATE_OUTLOOK_SECTION,
    DELETION_SECTION,
    INVALID_SECTION,
    TEXTS,
    UPDATE_OUTLOOK_SECTION,
    preview_entries,
    select_actions,
)

COUNTRIES = CountryResolver({"BE": "Belgium"})
CTX = MappingContext(COUNTRIES, "BE")


def plan(links=(), items=(), partners=(), gone=None, policies=None):
    return plan_sync(
        policies or Policies(),
        links,
        OutlookChanges(items=list(items)),
        OdooSide(partners=list(partners), gone=gone or {}),
        database_uuid="db1",
        countries=COUNTRIES,
        default_region="BE",
    )


def linked_pair(pid, oid, **values):
    part, _item, link = _linked_pair(CTX, pid, oid, **values)
    return part, link


def first_sync_plan():
    return plan(
        items=[
            {"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "ann@x.com"}]},
            {"id": "O2", "displayName": "Olga", "emailAddresses": [{"address": "olga@x.com"}]},
            {"id": "O3", "displayName": "Bad", "emailAddresses": [{"address": "bad@@x"}]},
        ],
        partners=[partner(1, email="ann@x.com"), partner(2, email="paul@x.com", city="Gent")],
    )


def test_one_entry_per_record_in_its_section():
    entries = {e.key: e for e in preview_entries(first_sync_plan())}
    assert set(entries) == {"partner:1", "outlook:O2", "outlook:O3", "partner:2"}
    ann = entries["partner:1"]
    # Matched by email with different names: the conflict names the section.
    assert ann.kinds == (LINK, UPDATE_OUTLOOK, CONFLICT)
    assert ann.section == CONFLICT_SECTION and ann.optional and ann.default_selected
    assert (ann.partner_id, ann.outlook_id) == (1, "O1")
    assert "name: Odoo P1 / Outlook Ann, kept odoo's" in ann.changes
    assert "matched: same email" in ann.reason
    olga = entries["outlook:O2"]
    assert olga.section == CREATE_ODOO_SECTION and olga.kinds == (CREATE_IN_ODOO,)
    assert olga.values["email"] == "olga@x.com"
    assert "email: olga@x.com" in olga.changes
    bad = entries["outlook:O3"]
    assert bad.section == INVALID_SECTION and not bad.optional and not bad.default_selected
    assert "malformed" in bad.reason
    paul = entries["partner:2"]
    assert paul.section == CREATE_OUTLOOK_SECTION and paul.kinds == (CREATE_IN_OUTLOOK,)
    assert "city: Gent" in paul.changes


def test_unchanged_records_are_not_shown_and_deletions_start_unticked():
    same, same_link = linked_pair(1, "O1", email="a@x.com")
    edited, edited_link = linked_pair(2, "O2", email="b@x.com", function="Buyer")
    edited = replace(edited, values={**edited.values, "function": "Head Buyer"})
    _, gone_link = linked_pair(3, "O3", email="c@x.com")
    p = plan(
        links=[same_link, edited_link, gone_link],
        partners=[same, edited],
        gone={3: "archived"},
        policies=Policies(mass_delete_confirmed=True),
    )
    assert UNCHANGED in [a.kind for a in p.actions]
    entries = {e.key: e for e in preview_entries(p)}
    assert set(entries) == {"partner:2", "partner:3"}
    update = entries["partner:2"]
    assert update.section == UPDATE_OUTLOOK_SECTION and update.default_selected
    assert update.changes == "job title: Buyer → Head Buyer"
    deletion = entries["partner:3"]
    assert deletion.kinds == (DELETE_IN_OUTLOOK,)
    assert deletion.section == DELETION_SECTION and deletion.optional
    assert not deletion.default_selected


def test_selection_keeps_ticked_records_whose_kinds_did_not_change():
    first = first_sync_plan()
    seen = {e.key: e.signature for e in preview_entries(first)}
    chosen = {key: seen[key] for key in ("partner:1", "outlook:O2")}
    kept, aside = select_actions(first, chosen)
    # Paul was not ticked; the refused O3 is only logged, so it always goes ahead.
    assert sorted({a.group for a in kept.actions}) == ["outlook:O2", "outlook:O3", "partner:1"]
    assert aside == ["partner:2"]
    assert [a.kind for a in kept.actions if a.group == "outlook:O3"] == [INVALID]

    # Olga's email was changed in Odoo's favour since: now she matches a partner, the record
    # is no longer the one ticked, and Ann's signature still holds.
    again = plan(
        items=[
            {"id": "O1", "displayName": "Ann", "emailAddresses": [{"address": "ann@x.com"}]},
            {"id": "O2", "displayName": "Olga", "emailAddresses": [{"address": "olga@x.com"}]},
        ],
        partners=[
            partner(1, email="ann@x.com"),
            partner(2, email="paul@x.com", city="Gent"),
            partner(4, name="Olga", email="olga@x.com"),
        ],
    )
    kept, aside = select_actions(again, chosen)
    assert {a.group for a in kept.actions} == {"partner:1"}
    assert sorted(aside) == ["partner:2", "partner:4"]


def edited_on_both_sides():
    """A synced pair: the job title edited in Odoo, a mobile added in Outlook."""
    part, link = linked_pair(1, "O1", email="a@x.com", function="Buyer")
    part = replace(part, values={**part.values, "function": "Head Buyer"})
    item = {
        "id": "O1",
        "changeKey": "ck2",
        "displayName": "P1",
        "givenName": "P1",
        "jobTitle": "Buyer",
        "emailAddresses": [{"address": "a@x.com"}],
        "mobilePhone": "+32 470 11 22 33",
    }
    return part, link, item


def test_an_update_of_both_sides_says_which_side_changes():
    part, link, item = edited_on_both_sides()
    p = plan(links=[link], items=[item], partners=[part])
    (entry,) = preview_entries(p)
    assert entry.kinds == (UPDATE_OUTLOOK, UPDATE_ODOO)
    assert entry.changes.splitlines() == [
        "Outlook: job title: Buyer → Head Buyer",
        "Odoo: mobile: (empty) → +32 470 11 22 33",
    ]


FRENCH = {
    "(empty)": "(vide)",
    "%(field)s: %(old)s → %(new)s": "%(field)s : %(old)s → %(new)s",
    "%(field)s: %(new)s": "%(field)s : %(new)s",
    "Outlook: %(changes)s": "Outlook : %(changes)s",
    "Odoo: %(changes)s": "Odoo : %(changes)s",
    "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept odoo's": (
        "%(field)s : Odoo %(odoo)s / Outlook %(outlook)s, celui d'Odoo gardé"
    ),
    "job title": "poste",
    "mobile": "portable",
    "name": "nom",
    "email": "e-mail",
}


def test_the_changes_are_told_in_the_words_translate_gives():
    asked = []

    def translate(text):
        asked.append(text)
        return FRENCH.get(text, text)

    part, link, item = edited_on_both_sides()
    (both,) = preview_entries(plan(links=[link], items=[item], partners=[part]), translate)
    assert both.changes.splitlines() == [
        "Outlook : poste : Buyer → Head Buyer",
        "Odoo : portable : (vide) → +32 470 11 22 33",
    ]
    entries = {e.key: e for e in preview_entries(first_sync_plan(), translate)}
    assert "nom : Odoo P1 / Outlook Ann, celui d'Odoo gardé" in entries["partner:1"].changes
    assert "e-mail : olga@x.com" in entries["outlook:O2"].changes
    assert set(asked) <= TEXTS


def test_a_translation_that_lost_a_placeholder_falls_back_to_english():
    broken = {"%(field)s: %(old)s → %(new)s": "%(champ)s : %(old)s → %(new)s"}
    part, link = linked_pair(1, "O1", email="a@x.com", function="Buyer")
    part = replace(part, values={**part.values, "function": "Head Buyer"})
    (entry,) = preview_entries(
        plan(links=[link], partners=[part]), lambda text: broken.get(text, text)
    )
    assert entry.changes == "job title: Buyer → Head Buyer"
