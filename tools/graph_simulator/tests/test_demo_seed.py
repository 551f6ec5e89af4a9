"""The demo mailbox's address book (tools/demo_seed.py) seeded by `make demo`."""

import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import demo_seed
import phonenumbers
import pytest
from demo_seed import MESSY, ODOO_DEMO_PEOPLE, country_code, demo_contacts

from graph_simulator.contacts import validate

BOOK = demo_contacts()
ROOT = Path(__file__).resolve().parents[3]
DEMO_PARTNERS_XML = Path("odoo/addons/base/data/res_partner_demo.xml")


def _phones(contact):
    return [
        *contact.get("businessPhones", []),
        *contact.get("homePhones", []),
        *([contact["mobilePhone"]] if contact.get("mobilePhone") else []),
    ]


def _emails(contact):
    return [e["address"] for e in contact.get("emailAddresses", [])]


def _country(contact):
    return country_code((contact.get("businessAddress") or {}).get("countryOrRegion", ""))


def _odoo_tree():
    """The Odoo 18 tree `make test` would use (tools/common.sh find_odoo), else None."""
    candidates = (
        [os.environ["ODOO_PATH"]]
        if os.environ.get("ODOO_PATH")
        else [ROOT.parent / "odoo", "/opt/odoo18", "/opt/odoo"]
    )
    for candidate in map(Path, candidates):
        release = candidate / "odoo/release.py"
        if release.is_file() and re.search(
            r"^version_info = \(18, 0", release.read_text(), re.MULTILINE
        ):
            return candidate
    return None


def test_about_200_contacts_the_same_on_every_run():
    assert len(BOOK) == demo_seed.DEFAULT_COUNT == 200
    assert demo_contacts() == BOOK
    assert demo_contacts(seed=demo_seed.DEFAULT_SEED + 1) != BOOK
    assert len(demo_contacts(count=50)) == 50


def test_every_contact_is_accepted_by_the_simulator(graph_sim):
    for contact in BOOK:
        validate(contact)  # raises GraphError on what Graph would refuse
    user = graph_sim.add_user("seed.check@contoso.example.com")
    folder = graph_sim.create_folder(user["id"], demo_seed.DEMO_FOLDER)
    graph_sim.seed_contacts(user["id"], BOOK, folder_id=folder["id"])
    stored = graph_sim.contacts(user["id"], folder_id=folder["id"])
    assert sorted(c["displayName"] for c in stored) == sorted(c["displayName"] for c in BOOK)


def test_no_email_is_used_by_two_contacts():
    addresses = Counter(a.lower() for c in BOOK for a in _emails(c))
    assert [a for a, n in addresses.items() if n > 1] == []


def test_duplicates_are_real_odoo_demo_partners():
    odoo = _odoo_tree()
    if odoo is None:
        pytest.skip("no Odoo 18 tree (ODOO_PATH, ../odoo, /opt/odoo18, /opt/odoo)")
    partners = {}
    for record in ET.parse(odoo / DEMO_PARTNERS_XML).iter("record"):
        if record.get("model") != "res.partner":
            continue
        fields = {f.get("name"): (f.text or "").strip() for f in record.iter("field")}
        if fields.get("email"):
            partners[fields["email"].lower()] = fields
    assert len(ODOO_DEMO_PEOPLE) >= 5
    book = {a.lower(): c for c in BOOK for a in _emails(c)}
    for name, email, _company, job, phone in ODOO_DEMO_PEOPLE:
        assert partners[email.lower()]["name"] == name
        assert partners[email.lower()]["function"] == job
        assert partners[email.lower()]["phone"] == phone
        assert book[email.lower()]["displayName"] == name
    # Only those: no other contact of the book collides with Odoo's demo data by chance.
    assert set(book) & set(partners) == {e.lower() for _n, e, *_ in ODOO_DEMO_PEOPLE}
    # Outlook keeps addresses as typed: some differ from Odoo's in case only.
    as_typed = {a for c in BOOK for a in _emails(c)}
    assert any(e not in as_typed for _n, e, *_ in ODOO_DEMO_PEOPLE)


def test_phone_formats_vary_per_country():
    layouts = Counter()
    per_country = {}
    for contact in BOOK:
        if contact["displayName"] in MESSY:
            continue
        for phone in _phones(contact):
            if phone.startswith("+"):
                kind = "+ (0)" if "(0)" in phone else "+"
            else:
                kind = "00" if phone.startswith("00") else "national"
            layouts[kind] += 1
            per_country.setdefault(_country(contact), set()).add(kind)
    assert min(layouts[k] for k in ("+", "+ (0)", "00", "national")) >= 5, layouts
    for code in ("FR", "DE", "BE", "US", "GB", "NL", "ES", "IN"):
        assert {"+", "national"} <= per_country.get(code, set()), code
    # "+33 1 99 00 12 34", "+33199001234", "+1 415-555-0132": the layouts differ within "+" too.
    assert len({re.sub(r"\d", "9", p) for c in BOOK for p in _phones(c)}) >= 40


def test_phones_are_valid_numbers_read_in_the_contacts_country():
    odoo_phones = {phone for *_rest, phone in ODOO_DEMO_PEOPLE}
    checked = 0
    for contact in BOOK:
        if contact["displayName"] in MESSY:
            continue
        for phone in _phones(contact):
            if phone in odoo_phones:
                continue  # as Odoo's demo data types them
            number = phonenumbers.parse(phone, _country(contact))
            assert phonenumbers.is_valid_number(number), (contact["displayName"], phone)
            checked += 1
    assert checked > 300


def test_the_book_reads_like_a_real_one():
    def count(predicate):
        return sum(1 for c in BOOK if predicate(c))

    assert count(lambda c: c.get("companyName")) >= 150
    assert count(lambda c: c.get("jobTitle")) >= 100
    assert count(lambda c: c.get("personalNotes")) >= 30
    assert count(lambda c: "\n" in (c.get("personalNotes") or "")) >= 5
    assert count(lambda c: "\n" in c.get("businessAddress", {}).get("street", "")) >= 20
    assert count(lambda c: len(_emails(c)) >= 2) >= 25
    assert count(lambda c: len(_emails(c)) == 3) >= 3
    assert count(lambda c: not _emails(c)) >= 1
    assert count(lambda c: c.get("businessAddress", {}).get("state")) >= 10
    countries = Counter(_country(c) for c in BOOK if c.get("businessAddress"))
    assert None not in countries
    assert all(countries[code] >= 8 for code in demo_seed.COUNTRIES), countries
    assert {c["displayName"] for c in BOOK} >= set(MESSY)
