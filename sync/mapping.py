"""Graph contact JSON <-> Contact <-> Odoo partner values, and validation of the result.

The Odoo side is a plain dict of res.partner values built by the adapter (keys in
``ODOO_KEYS``), so this module never sees a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import problems as P
from .contact import Contact, OutlookState
from .normalize import (
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

    address = read.mapping("businessAddress")
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

    parts = [clean_text(read.string(k)) for k in ("givenName", "middleName", "surname")]
    name = clean_text(read.string("displayName")) or " ".join(p for p in parts if p)
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


def _address_body(contact: Contact, state: OutlookState, ctx: MappingContext) -> dict:
    country = ctx.countries.country_name(contact.country_code) if contact.country_code else ""
    return {
        "street": join_street(contact.street, contact.street2),
        "city": contact.city,
        "state": contact.state_name or contact.state_code or state.state_text,
        "postalCode": contact.zip,
        "countryOrRegion": country or state.country_text,
    }


def _email_entry(name: str, address: str) -> dict:
    return {"name": name or address, "address": address}


def contact_to_graph(
    contact: Contact,
    ctx: MappingContext,
    state: OutlookState | None = None,
    partner_ref: str | None = None,
) -> dict:
    """A full Graph body (POST), or a synthetic item for a contact known only by snapshot."""
    state = state or OutlookState()
    given, surname = split_name(contact.name)
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
    body: dict[str, Any] = {
        "displayName": contact.name,
        "givenName": given,
        "surname": surname,
        "emailAddresses": [_email_entry(n, a) for n, a in emails],
        "businessPhones": business,
        "homePhones": list(state.home_phones),
        "mobilePhone": contact.mobile,
        "businessAddress": _address_body(contact, state, ctx),
    }
    for name, graph_key in _GRAPH_STRINGS.items():
        if name != "mobile":
            body[graph_key] = contact.get(name)
    if ctx.sync_categories:
        body["categories"] = list(contact.categories)
    if partner_ref:
        body["singleValueExtendedProperties"] = [
            {"id": PARTNER_REF_PROPERTY_ID, "value": partner_ref}
        ]
    return body


def build_outlook_patch(
    current: Contact, state: OutlookState, target: Contact, ctx: MappingContext
) -> dict:
    """PATCH body: only changed fields, always displayName; keeps Outlook's other emails and
    business phones (Graph replaces whole lists) and never writes home phones."""
    changed = [n for n in _patch_fields(ctx) if current.key(n) != target.key(n)]
    if not changed:
        return {}
    if "country_code" in changed:
        # National numbers are read in the address country: rewrite them in international
        # format so the new country does not change their meaning.
        if target.mobile:
            changed.append("mobile")
        if target.phone and state.business_phones:
            changed.append("phone")
    patch: dict[str, Any] = {"displayName": target.name}
    if "name" in changed:
        given, surname = split_name(target.name)
        patch.update(givenName=given, middleName="", surname=surname)
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
        patch["businessAddress"] = _address_body(target, state, ctx)
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
