"""Graph contact JSON <-> Contact <-> Odoo partner values, and validation of the result.

The Odoo side is a plain dict of res.partner values built by the adapter (keys in
``ODOO_KEYS``), so this module never sees a record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import problems as P
from .contact import BUSINESS_ADDRESS, HOME_ADDRESS, Contact, OutlookState, field_key
from .normalize import (
    NAME_PARTICLES,
    CountryLookup,
    CountryResolver,
    canonical_text,
    clean_email,
    clean_text,
    email_key,
    html_to_text,
    is_valid_email,
    normalize_phone,
    normalize_website,
    phone_key,
    split_name,
    text_to_html,
)
from .problems import Problem

# Our single-value extended property: "<database uuid>:<partner id>" on every contact we create.
PARTNER_REF_PROPERTY_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name OdooPartnerRef"

MAX_EMAILS = 3
MAX_BUSINESS_PHONES = 2
NAME_MAX = 255
TEXT_MAX = 255
EMAIL_MAX = 320
WEBSITE_MAX = 2048
NOTES_MAX = 32_768
_LIMITS = {"email": EMAIL_MAX, "website": WEBSITE_MAX, "notes": NOTES_MAX}
# The parts of a Graph physicalAddress, in the order OutlookState.address keeps them.
ADDRESS_KEYS = ("street", "city", "state", "postalCode", "countryOrRegion")
# What Outlook holds that no Odoo field maps: never written by an update, carried in the
# snapshot (OutlookState.extras) so that a contact created again in Outlook gets it back.
# The name's parts, the other emails and phones and the address are kept by their own rules
# (see OutlookState). Kind: "text", "texts" (a list of text) or "address".
OUTLOOK_ONLY = {
    "nickName": "text",
    "initials": "text",
    "generation": "text",
    "fileAs": "text",
    "department": "text",
    "officeLocation": "text",
    "profession": "text",
    "manager": "text",
    "assistantName": "text",
    "spouseName": "text",
    "children": "texts",
    "birthday": "text",
    "imAddresses": "texts",
    "yomiGivenName": "text",
    "yomiSurname": "text",
    "yomiCompanyName": "text",
    HOME_ADDRESS: "address",
    "otherAddress": "address",
}


@dataclass(frozen=True)
class MappedField:
    """One field as it travels: merged as the unit `merge` (a Contact field, or "state"),
    named `label` in the log and the preview, held by the res.partner `columns` the adapter
    reads and handed to the planner under `odoo_keys`, held in Outlook by the Graph property
    `graph`. `text`: plain text, kept as it is on both sides; `by_name`: the adapter writes
    it as the record of that name (a title, a company). `graph_string`: the Graph property is
    the value as it is. `address`: part of the business address."""

    merge: str
    label: str
    columns: tuple[str, ...]
    odoo_keys: tuple[str, ...]
    graph: str
    text: bool = False
    by_name: bool = False
    graph_string: bool = False
    address: bool = False


# The mapping, field by field: every list below derives from it.
FIELDS = (
    MappedField("name", "name", ("name",), ("name",), "displayName", text=True),
    MappedField(
        "title",
        "title",
        ("title",),
        ("title",),
        "title",
        text=True,
        by_name=True,
        graph_string=True,
    ),
    MappedField(
        "function",
        "job title",
        ("function",),
        ("function",),
        "jobTitle",
        text=True,
        graph_string=True,
    ),
    MappedField(
        "company_name",
        "company",
        ("company_name", "parent_id"),
        ("company_name",),
        "companyName",
        text=True,
        by_name=True,
        graph_string=True,
    ),
    MappedField("email", "email", ("email",), ("email",), "emailAddresses", text=True),
    MappedField("phone", "phone", ("phone",), ("phone",), "businessPhones", text=True),
    MappedField(
        "mobile",
        "mobile",
        ("mobile",),
        ("mobile",),
        "mobilePhone",
        text=True,
        graph_string=True,
    ),
    MappedField(
        "street",
        "street",
        ("street",),
        ("street",),
        "businessAddress",
        text=True,
        address=True,
    ),
    MappedField(
        "street2",
        "street 2",
        ("street2",),
        ("street2",),
        "businessAddress",
        text=True,
        address=True,
    ),
    MappedField(
        "city",
        "city",
        ("city",),
        ("city",),
        "businessAddress",
        text=True,
        address=True,
    ),
    MappedField(
        "state",
        "state",
        ("state_id",),
        ("state_code", "state_name"),
        "businessAddress",
        address=True,
    ),
    MappedField("zip", "ZIP", ("zip",), ("zip",), "businessAddress", text=True, address=True),
    MappedField(
        "country_code",
        "country",
        ("country_id",),
        ("country_code",),
        "businessAddress",
        address=True,
    ),
    MappedField(
        "website",
        "website",
        ("website",),
        ("website",),
        "businessHomePage",
        text=True,
        graph_string=True,
    ),
    MappedField(
        "notes",
        "notes",
        ("comment",),
        ("comment",),
        "personalNotes",
        graph_string=True,
    ),
    MappedField("categories", "tags", ("category_id",), ("category_names",), "categories"),
)
MERGE_FIELDS = tuple(f.merge for f in FIELDS)
# Text that travels as it is between the contact and the partner (name first), and the part
# of it the adapter writes as it is.
PLAIN_FIELDS = tuple(f.merge for f in FIELDS if f.text)
ODOO_TEXT_KEYS = tuple(f.merge for f in FIELDS if f.text and not f.by_name)
ODOO_KEYS = tuple(key for f in FIELDS for key in f.odoo_keys)
PARTNER_COLUMNS = tuple(column for f in FIELDS for column in f.columns)
ADDRESS_FIELDS = tuple(f.merge for f in FIELDS if f.address)
ADDRESS_COLUMNS = tuple(column for f in FIELDS if f.address for column in f.columns)
FIELD_LABELS = {f.merge: f.label for f in FIELDS}
# Contact fields <-> Graph string properties (the rest need code).
_GRAPH_STRINGS = {f.merge: f.graph for f in FIELDS if f.graph_string}


@dataclass(frozen=True)
class MappingContext:
    countries: CountryLookup = field(default_factory=CountryResolver)
    default_region: str | None = None
    sync_categories: bool = True


@dataclass(frozen=True)
class ParsedItem:
    """An Outlook item as the planner sees it."""

    outlook_id: str
    contact: Contact
    state: OutlookState
    problems: tuple[Problem, ...]
    modified: str | None = None
    partner_ref: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


class _Reader:
    """Reads loosely typed JSON; records a problem instead of raising."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.problems: list[Problem] = []

    def _wrong(self, key: str, value: Any, expected: str) -> None:
        self.problems.append(
            Problem(
                P.WRONG_TYPE,
                f"{self.where} sent {key} as {type(value).__name__} where {expected} was expected;"
                " the record is left unchanged.",
                key,
            )
        )

    def string(self, key: str, data: Mapping[str, Any] | None = None) -> str:
        value = (self.data if data is None else data).get(key)
        if value is None or value is False:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.problems.append(
                Problem(
                    P.WRONG_TYPE,
                    f"{self.where} sent {key} as a number; it was read as text.",
                    key,
                    P.WARNING,
                )
            )
            return str(value)
        self._wrong(key, value, "text")
        return ""

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None or value is False:
            return []
        if not isinstance(value, list | tuple):
            self._wrong(key, value, "a list")
            return []
        out = []
        for entry in value:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, int | float) and not isinstance(entry, bool):
                out.append(str(entry))
            elif entry is not None:
                self._wrong(key, entry, "text in the list")
        return out

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self._wrong(key, value, "an object")
            return {}
        return value


# --- Graph -> Contact -----------------------------------------------------------------------


def _has_address(value: Any) -> bool:
    return isinstance(value, Mapping) and any(
        isinstance(value.get(key), str) and value[key].strip() for key in ADDRESS_KEYS
    )


def outlook_only_values(
    item: Mapping[str, Any], skip: str = "", categories: bool = False
) -> tuple[tuple[str, str], ...]:
    """The properties of OUTLOOK_ONLY the item holds (and its categories when they are not
    synced), as (property, JSON text), sorted; values of an unexpected type are left out
    (never sent back to Graph)."""
    found = []
    kinds = {**OUTLOOK_ONLY, "categories": "texts"} if categories else OUTLOOK_ONLY
    for key, kind in kinds.items():
        value = item.get(key)
        if key == skip or not value:
            continue
        if kind == "text" and isinstance(value, str):
            pass
        elif kind == "texts" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            pass
        elif kind == "address" and _has_address(value):
            value = {k: v for k, v in value.items() if k in ADDRESS_KEYS and isinstance(v, str)}
        else:
            continue
        found.append((key, json.dumps(value, ensure_ascii=False, sort_keys=True)))
    return tuple(sorted(found))


def split_street(text: str) -> tuple[str, str]:
    """Outlook's multi-line street: first line -> street, the other lines -> street2 (", ")."""
    lines = [
        clean_text(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    first, rest = (lines[0], lines[1:]) if lines else ("", [])
    return first, ", ".join(line for line in rest if line)


def join_street(street: str, street2: str) -> str:
    return f"{street}\n{street2}" if street2 else street


def parse_graph_contact(item: Any, ctx: MappingContext) -> ParsedItem:
    """Graph contact JSON -> ParsedItem; bad input becomes problems, never an exception."""
    if not isinstance(item, Mapping):
        return ParsedItem(
            "",
            Contact(),
            OutlookState(),
            (Problem(P.NOT_AN_OBJECT, "Outlook sent a contact that is not a JSON object."),),
        )
    read = _Reader(item, "Outlook")
    outlook_id = read.string("id")
    problems: list[Problem] = []
    if not outlook_id:
        problems.append(Problem(P.NO_ID, "Outlook sent a contact without an id."))

    emails: list[tuple[str, str]] = []
    raw_emails = item.get("emailAddresses")
    if raw_emails is not None and not isinstance(raw_emails, list):
        read._wrong("emailAddresses", raw_emails, "a list")
    for entry in raw_emails if isinstance(raw_emails, list) else []:
        if isinstance(entry, str):
            entry = {"address": entry}
        if not isinstance(entry, Mapping):
            read._wrong("emailAddresses", entry, "an email object")
            continue
        address = clean_email(read.string("address", entry))
        if address:
            emails.append((read.string("name", entry), address))
    if len(emails) > MAX_EMAILS:
        problems.append(
            Problem(
                P.TOO_MANY_EMAILS,
                f"Outlook sent {len(emails)} email addresses where a contact holds at most"
                f" {MAX_EMAILS}; the first one is synced, the others are left in Outlook.",
                "emailAddresses",
                severity=P.WARNING,
            )
        )
    business = [p for p in (clean_text(x) for x in read.strings("businessPhones")) if p]
    home = [p for p in (clean_text(x) for x in read.strings("homePhones")) if p]

    # The business address, else (a contact without one) the home address: written back
    # where it came from.
    source = BUSINESS_ADDRESS
    address = read.mapping(BUSINESS_ADDRESS)
    if not _has_address(address) and _has_address(item.get(HOME_ADDRESS)):
        source, address = HOME_ADDRESS, read.mapping(HOME_ADDRESS)
    raw_address = tuple(read.string(key, address) for key in ADDRESS_KEYS)
    street, street2 = split_street(read.string("street", address))
    country_text = clean_text(read.string("countryOrRegion", address))
    state_text = clean_text(read.string("state", address))
    country_code = ctx.countries.country_code(country_text) if country_text else None
    if country_text and not country_code:
        problems.append(
            Problem(
                P.UNKNOWN_COUNTRY,
                f"Unknown country {country_text!r} in Outlook: the country is not synced.",
                "country_code",
                P.WARNING,
            )
        )
    state = ctx.countries.state(country_code, state_text) if country_code and state_text else None
    if state_text and not state:
        problems.append(
            Problem(
                P.UNKNOWN_STATE,
                f"Unknown state {state_text!r} in Outlook: the state is not synced.",
                "state",
                P.WARNING,
            )
        )
    region = country_code or ctx.default_region
    phone_raw = business[0] if business else (home[0] if home else "")

    raw_parts = [read.string(k) for k in ("givenName", "middleName", "surname")]
    parts = [clean_text(p) for p in raw_parts]
    display_name = read.string("displayName")
    name = clean_text(display_name) or " ".join(p for p in parts if p)
    email = emails[0][1] if emails else ""
    contact = Contact(
        name=name,
        title=clean_text(read.string("title")),
        function=clean_text(read.string("jobTitle")),
        company_name=clean_text(read.string("companyName")),
        email=email,
        phone=normalize_phone(phone_raw, region).value,
        mobile=normalize_phone(read.string("mobilePhone"), region).value,
        street=street,
        street2=street2,
        city=clean_text(read.string("city", address)),
        state_code=state[0] if state else "",
        state_name=state[1] if state else "",
        zip=clean_text(read.string("postalCode", address)),
        country_code=country_code or "",
        website=normalize_website(read.string("businessHomePage")),
        notes=canonical_text(read.string("personalNotes")),
        categories=tuple(read.strings("categories")) if ctx.sync_categories else (),
    )
    state_out = OutlookState(
        emails=tuple(emails),
        business_phones=tuple(business),
        home_phones=tuple(home),
        country_text=country_text if not country_code else "",
        state_text=state_text if not state else "",
        display_name=display_name,
        given_name=raw_parts[0],
        middle_name=raw_parts[1],
        surname=raw_parts[2],
        address_source=source,
        address=raw_address if any(raw_address) else (),
        extras=outlook_only_values(item, skip=source, categories=not ctx.sync_categories),
        as_typed=tuple(
            (key, item[key], contact.get(name))
            for name, key in _GRAPH_STRINGS.items()
            if isinstance(item.get(key), str) and item[key] != contact.get(name)
        ),
    )
    return ParsedItem(
        outlook_id=outlook_id,
        contact=contact,
        state=state_out,
        problems=tuple(read.problems + problems + validate_contact(contact, region)),
        modified=read.string("lastModifiedDateTime") or None,
        partner_ref=_partner_ref(item),
        raw=item,
    )


def _partner_ref(item: Mapping[str, Any]) -> str | None:
    props = item.get("singleValueExtendedProperties")
    if not isinstance(props, list):
        return None
    wanted = PARTNER_REF_PROPERTY_ID.casefold()
    for prop in props:
        if isinstance(prop, Mapping) and str(prop.get("id", "")).casefold() == wanted:
            value = prop.get("value")
            return value if isinstance(value, str) else None
    return None


def partner_ref_value(database_uuid: str, partner_id: int) -> str:
    return f"{database_uuid}:{partner_id}"


def parse_partner_ref(value: str | None, database_uuid: str) -> int | None:
    """The partner id our extended property names, when it was written by this database."""
    if not value:
        return None
    uuid, _, pid = value.rpartition(":")
    if uuid != database_uuid or not pid.isdigit():
        return None
    return int(pid)


# --- Contact -> Graph ----------------------------------------------------------------------

# The contact's fields each part of a Graph address holds.
_ADDRESS_PARTS = {
    "street": ("street", "street2"),
    "city": ("city",),
    "state": ("state",),
    "postalCode": ("zip",),
    "countryOrRegion": ("country_code",),
}


def _address_body(
    contact: Contact, state: OutlookState, ctx: MappingContext, current: Contact | None = None
) -> dict:
    """The address as Graph holds it. With ``current`` (what Outlook shows), the parts whose
    fields did not change are sent as Outlook has them (a multi-line street stays as typed)."""
    raw = dict(zip(ADDRESS_KEYS, state.address, strict=False)) if state.address else {}
    country = ctx.countries.country_name(contact.country_code) if contact.country_code else ""
    new = {
        "street": join_street(contact.street, contact.street2),
        "city": contact.city,
        "state": contact.state_name or contact.state_code or state.state_text,
        "postalCode": contact.zip,
        "countryOrRegion": country or state.country_text,
    }
    return {
        key: raw[key]
        if current is not None
        and key in raw
        and all(current.key(n) == contact.key(n) for n in _ADDRESS_PARTS[key])
        else new[key]
        for key in ADDRESS_KEYS
    }


def _email_entry(name: str, address: str) -> dict:
    return {"name": name or address, "address": address}


def _words(text: str) -> list[str]:
    text = clean_text(text)
    return text.split(" ") if text else []


def _find_words(words: list[str], part: list[str], start: int, stop: int) -> int | None:
    """Where the words of ``part`` stand together in ``words[start:stop]`` (case ignored)."""
    folded, wanted = [w.casefold() for w in words], [w.casefold() for w in part]
    for at in range(start, stop - len(wanted) + 1):
        if wanted and folded[at : at + len(wanted)] == wanted:
            return at
    return None


def name_parts(name: str, state: OutlookState) -> tuple[str, str | None, str]:
    """A new full name as (given name, middle name, surname) for an Outlook contact that
    holds ``state``'s parts. The middle name is None when Outlook's stays as it is: always,
    unless the old name held it and the new one no longer does (then ""). Outlook's surname
    (or else its given name) is kept when the new name still ends (starts) with it; otherwise
    the name is split as ``split_name`` does."""
    words = _words(name)
    given_w, middle_w, surname_w = (
        _words(state.given_name),
        _words(state.middle_name),
        _words(state.surname),
    )
    if middle_w:
        at = _find_words(words, middle_w, 1, len(words) - 1)
        if at is not None:
            return " ".join(words[:at]), None, " ".join(words[at + len(middle_w) :])
    middle = None
    if middle_w:
        old = _words(state.display_name) or given_w + middle_w + surname_w
        if _find_words(old, middle_w, 0, len(old)) is not None:
            middle = ""  # the user took the middle name out of the name
    size = len(words)
    if surname_w and size > len(surname_w):
        at = _find_words(words, surname_w, size - len(surname_w), size)
        if at is not None:
            while at > 1 and words[at - 1] in NAME_PARTICLES:
                at -= 1
            return " ".join(words[:at]), middle, " ".join(words[at:])
    if given_w and size > len(given_w) and _find_words(words, given_w, 0, len(given_w)) == 0:
        return " ".join(words[: len(given_w)]), middle, " ".join(words[len(given_w) :])
    given, surname = split_name(name)
    return given, middle, surname


_FILE_AS_FORMS = (
    lambda given, surname, display: f"{surname}, {given}" if given and surname else "",
    lambda given, surname, display: f"{given} {surname}".strip(),
    lambda given, surname, display: f"{surname} {given}".strip(),
    lambda given, surname, display: display,
)


def _file_as(value: str, old: tuple[str, str, str], new: tuple[str, str, str]) -> str | None:
    """Outlook's "file as" for the new name when it was one of the usual forms of the old one;
    None (left as it is) when the user typed something else."""
    wanted = clean_text(value).casefold()
    for form in _FILE_AS_FORMS:
        before = clean_text(form(*old))
        if before and before.casefold() == wanted:
            return clean_text(form(*new))
    return None


def _extras(state: OutlookState) -> dict[str, Any]:
    body = {}
    for key, text in state.extras:
        try:
            body[key] = json.loads(text)
        except ValueError:
            continue  # a damaged snapshot: that property is not sent
    return body


def contact_to_graph(
    contact: Contact,
    ctx: MappingContext,
    state: OutlookState | None = None,
    partner_ref: str | None = None,
) -> dict:
    """A full Graph body (POST), or the item a snapshot stands for (``state``: what Outlook
    held beyond the mapped fields, carried into the body)."""
    state = state or OutlookState()
    region = contact.country_code or ctx.default_region
    emails = list(state.emails)
    if contact.email and not (emails and email_key(emails[0][1]) == email_key(contact.email)):
        emails[:1] = [(emails[0][0] if emails else contact.name, contact.email)]
    business = list(state.business_phones)
    shown = business[0] if business else (state.home_phones[0] if state.home_phones else "")
    # Keep Outlook's own spelling of a number that already means the same.
    if contact.phone and phone_key(normalize_phone(shown, region).value) != phone_key(
        contact.phone
    ):
        business[:1] = [contact.phone]
    if state.display_name or state.given_name or state.middle_name or state.surname:
        # The item a snapshot stands for: its name's parts as Outlook had them.
        given, middle, surname = state.given_name, state.middle_name, state.surname
    else:
        (given, surname), middle = split_name(contact.name), ""
    same_name = state.display_name and clean_text(state.display_name) == contact.name
    body: dict[str, Any] = _extras(state)
    if given:
        body["givenName"] = given
    if surname:
        body["surname"] = surname
    body.update(
        {
            "displayName": state.display_name if same_name else contact.name,
            "emailAddresses": [_email_entry(n, a) for n, a in emails],
            "businessPhones": business,
            "homePhones": list(state.home_phones),
            state.address_source: _address_body(contact, state, ctx, contact),
        }
    )
    if middle:
        body["middleName"] = middle
    typed = {key: (text, value) for key, text, value in state.as_typed}
    for name, graph_key in _GRAPH_STRINGS.items():
        text, value = typed.get(graph_key, (None, None))
        same = text is not None and field_key(name, value) == contact.key(name)
        body[graph_key] = text if same else contact.get(name)
    if ctx.sync_categories:
        body["categories"] = list(contact.categories)
    if partner_ref:
        body["singleValueExtendedProperties"] = [
            {"id": PARTNER_REF_PROPERTY_ID, "value": partner_ref}
        ]
    return body


def recreate_body(
    outlook: Contact,
    state: OutlookState,
    target: Contact,
    ctx: MappingContext,
    fields: Iterable[str] | None = None,
    partner_ref: str | None = None,
) -> dict:
    """The POST of a contact deleted in Outlook and created again from its last snapshot:
    what Outlook held then (``outlook``, ``state``: its other emails and phones, its middle
    name, birthday, home address...), with the fields Odoo sends (``fields``) updated to
    ``target`` as a PATCH would."""
    body = apply_patch(
        contact_to_graph(outlook, ctx, state),
        build_outlook_patch(outlook, state, target, ctx, fields),
    )
    if partner_ref:
        body["singleValueExtendedProperties"] = [
            {"id": PARTNER_REF_PROPERTY_ID, "value": partner_ref}
        ]
    return body


def build_outlook_patch(
    current: Contact,
    state: OutlookState,
    target: Contact,
    ctx: MappingContext,
    fields: Iterable[str] | None = None,
) -> dict:
    """PATCH body: only the changed fields among ``fields`` (the fields Odoo sends; all by
    default), and always displayName. What Outlook holds beyond them stays: its other emails
    and business phones (Graph replaces whole lists), home phones (never written), the middle
    name, the parts of the address that did not change, and every property of OUTLOOK_ONLY."""
    names = _patch_fields(ctx)
    if fields is not None:
        allowed = set(fields)
        names = tuple(n for n in names if n in allowed)
    changed = [n for n in names if current.key(n) != target.key(n)]
    if not changed:
        return {}
    if "country_code" in changed:
        # National numbers are read in the address country: rewrite them in international
        # format so the new country does not change their meaning.
        if target.mobile and "mobile" in names:
            changed.append("mobile")
        if target.phone and state.business_phones and "phone" in names:
            changed.append("phone")
    if "name" in changed:
        patch: dict[str, Any] = {"displayName": target.name}
        given, middle, surname = name_parts(target.name, state)
        if given != state.given_name:
            patch["givenName"] = given
        if surname != state.surname:
            patch["surname"] = surname
        if middle is not None:
            patch["middleName"] = middle
        file_as = _extras(state).get("fileAs")
        if isinstance(file_as, str) and file_as:
            renamed = _file_as(
                file_as,
                (state.given_name, state.surname, state.display_name or current.name),
                (given, surname, target.name),
            )
            if renamed is not None and renamed != file_as:
                patch["fileAs"] = renamed
    else:
        same_name = state.display_name and clean_text(state.display_name) == current.name
        patch = {"displayName": state.display_name if same_name else current.name}
    for name, graph_key in _GRAPH_STRINGS.items():
        if name in changed:
            patch[graph_key] = target.get(name)
    if "email" in changed:
        emails = list(state.emails)
        if target.email:
            emails[:1] = [(target.name, target.email)]
        else:
            emails = emails[1:]
        patch["emailAddresses"] = [_email_entry(n, a) for n, a in emails]
    if "phone" in changed:
        business = list(state.business_phones)
        business = [target.phone, *business[1:]] if target.phone else business[1:]
        patch["businessPhones"] = business
    if any(n in changed for n in ADDRESS_FIELDS):
        # Written where it came from: the home address of a contact that has no business one.
        patch[state.address_source] = _address_body(target, state, ctx, current)
    if "categories" in changed:
        patch["categories"] = list(target.categories)
    return patch


def _patch_fields(ctx: MappingContext) -> tuple[str, ...]:
    return (
        MERGE_FIELDS if ctx.sync_categories else tuple(f for f in MERGE_FIELDS if f != "categories")
    )


def apply_patch(item: Mapping[str, Any], patch: Mapping[str, Any]) -> dict:
    """Graph's PATCH semantics: listed properties replace the old ones whole."""
    merged = dict(item)
    merged.update(patch)
    return merged


def check_payload_limits(payload: Mapping[str, Any]) -> list[Problem]:
    """Graph answers 400 beyond 3 emails / 2 business phones: refuse before sending."""
    found = []
    emails = payload.get("emailAddresses")
    if isinstance(emails, list) and len(emails) > MAX_EMAILS:
        found.append(
            Problem(
                P.TOO_MANY_EMAILS,
                f"The Outlook contact would have {len(emails)} email addresses; Outlook allows"
                f" {MAX_EMAILS}. Remove one in Outlook.",
                "email",
            )
        )
    phones = payload.get("businessPhones")
    if isinstance(phones, list) and len(phones) > MAX_BUSINESS_PHONES:
        found.append(
            Problem(
                P.TOO_MANY_BUSINESS_PHONES,
                f"The Outlook contact would have {len(phones)} business phones; Outlook allows"
                f" {MAX_BUSINESS_PHONES}. Remove one in Outlook.",
                "phone",
            )
        )
    return found


# --- Odoo <-> Contact ----------------------------------------------------------------------


def odoo_to_contact(
    values: Mapping[str, Any], ctx: MappingContext
) -> tuple[Contact, list[Problem]]:
    """Partner values (see ODOO_KEYS; False/None mean empty) -> Contact and problems.

    Phones are read in the partner's country, else ``company_country_code`` (its company's),
    else the account's default region.
    """
    read = _Reader(values, "Odoo")
    country = clean_text(read.string("country_code")).upper()
    region = (
        country or clean_text(read.string("company_country_code")).upper() or ctx.default_region
    )
    email = clean_email(read.string("email"))
    categories = read.strings("category_names") if ctx.sync_categories else []
    contact = Contact(
        name=clean_text(read.string("name")) or email,
        title=clean_text(read.string("title")),
        function=clean_text(read.string("function")),
        company_name=clean_text(read.string("company_name")),
        email=email,
        phone=normalize_phone(read.string("phone"), region).value,
        mobile=normalize_phone(read.string("mobile"), region).value,
        street=clean_text(read.string("street")),
        street2=clean_text(read.string("street2")),
        city=clean_text(read.string("city")),
        state_code=clean_text(read.string("state_code")),
        state_name=clean_text(read.string("state_name")),
        zip=clean_text(read.string("zip")),
        country_code=country,
        website=normalize_website(read.string("website")),
        notes=html_to_text(read.string("comment")),
        categories=tuple(categories),
    )
    return contact, read.problems + validate_contact(contact, region)


def contact_to_odoo_values(contact: Contact, names=None) -> dict[str, Any]:
    """Values for the adapter (False = clear). Address state travels with its country."""
    names = set(names) if names is not None else None

    def wanted(name):
        return names is None or name in names

    values: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        if wanted(name):
            values[name] = contact.get(name) or False
    if wanted("state") or wanted("country_code"):
        values["country_code"] = contact.country_code or False
        values["state_code"] = contact.state_code or False
        values["state_name"] = contact.state_name or False
    if wanted("notes"):
        values["comment"] = text_to_html(contact.notes) or False
    if wanted("categories"):
        values["category_names"] = list(contact.categories)
    return values


# --- validation ----------------------------------------------------------------------------


def validate_contact(contact: Contact, region: str | None = None) -> list[Problem]:
    """Problems that refuse a record (errors) or are only logged (warnings)."""
    found: list[Problem] = []
    if not contact.name and not contact.email:
        found.append(Problem(P.NO_NAME_NO_EMAIL, "The contact has neither a name nor an email."))
    if len(contact.name) > NAME_MAX:
        found.append(
            Problem(
                P.NAME_TOO_LONG,
                f"The name has {len(contact.name)} characters; at most {NAME_MAX} are synced.",
                "name",
            )
        )
    for name in (*PLAIN_FIELDS[1:], "notes"):  # the name has its own limit, above
        limit = _LIMITS.get(name, TEXT_MAX)
        size = len(contact.get(name))
        if size > limit:
            found.append(
                Problem(
                    P.VALUE_TOO_LONG,
                    f"The {FIELD_LABELS[name]} has {size} characters; at most {limit} are synced.",
                    name,
                )
            )
    if any(len(c) > TEXT_MAX for c in contact.categories):
        found.append(
            Problem(P.VALUE_TOO_LONG, f"A tag is longer than {TEXT_MAX} characters.", "categories")
        )
    if contact.email and not is_valid_email(contact.email):
        found.append(
            Problem(P.INVALID_EMAIL, f"The email {contact.email[:80]!r} is malformed.", "email")
        )
    for name in ("phone", "mobile"):
        value = contact.get(name)
        if value and not normalize_phone(value, None).valid:
            hint = "" if region else " (no country known to read a national number)"
            found.append(
                Problem(
                    P.INVALID_PHONE,
                    f"The {name} {value[:40]!r} is not a valid number{hint}; kept as typed.",
                    name,
                    P.WARNING,
                )
            )
    return found
