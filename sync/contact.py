"""The neutral contact both sides are mapped to, and the snapshot stored on each link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .normalize import email_key, phone_key, website_key

SNAPSHOT_VERSION = 1
# The state is merged as one unit: the pair (state_code, state_name).
STATE_PARTS = ("state_code", "state_name")


def _dedupe_categories(values) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        text = " ".join(str(value).split())
        if text and text.casefold() not in seen:
            seen[text.casefold()] = text
    return tuple(sorted(seen.values(), key=lambda v: (v.casefold(), v)))


@dataclass(frozen=True)
class Contact:
    """Normalised mapped fields; built by the mapping functions, compared by ``key()``."""

    name: str = ""
    title: str = ""
    function: str = ""
    company_name: str = ""
    email: str = ""
    phone: str = ""
    mobile: str = ""
    street: str = ""
    street2: str = ""
    city: str = ""
    state_code: str = ""
    state_name: str = ""
    zip: str = ""
    country_code: str = ""
    website: str = ""
    notes: str = ""
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", _dedupe_categories(self.categories))

    def get(self, name: str) -> Any:
        if name == "state":
            return (self.state_code, self.state_name)
        return getattr(self, name)

    def with_value(self, name: str, value: Any) -> Contact:
        if name == "state":
            return replace(self, state_code=value[0], state_name=value[1])
        return replace(self, **{name: value})

    def key(self, name: str) -> Any:
        """What equality means per field: case-free emails, layout-free phones, and so on."""
        return field_key(name, self.get(name))

    def is_empty(self, name: str) -> bool:
        value = self.get(name)
        return not any(value) if name == "state" else not value

    @classmethod
    def units(cls) -> tuple[str, ...]:
        """Its merge units, in order: its fields, the state's two parts as one."""
        names = [f.name for f in fields(cls)]
        at = names.index(STATE_PARTS[0])
        return (*names[:at], "state", *names[at + len(STATE_PARTS) :])

    def same_as(self, other: Contact, names: tuple[str, ...] | None = None) -> bool:
        return all(self.key(n) == other.key(n) for n in names or self.units())

    def fingerprint(self) -> str:
        """Stable hash of the compared forms: equal fingerprints mean nothing to sync."""
        payload = json.dumps([[n, self.key(n)] for n in self.units()], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_snapshot(self) -> dict:
        data = asdict(self)
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_snapshot(cls, data: dict | None) -> Contact:
        """Tolerant: unknown keys are ignored and missing ones are empty (older snapshots)."""
        data = data or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if f.name == "categories":
                values[f.name] = tuple(raw) if isinstance(raw, list | tuple) else ()
            else:
                values[f.name] = raw if isinstance(raw, str) else ""
        return cls(**values)


def field_key(name: str, value: Any) -> Any:
    if name == "state":
        code, label = value
        return code.upper() if code else label.casefold()
    if name == "email":
        return email_key(value)
    if name in ("phone", "mobile"):
        return phone_key(value)
    if name == "website":
        return website_key(value)
    if name == "country_code":
        return value.upper()
    if name == "categories":
        return tuple(sorted(v.casefold() for v in value))
    return value


BUSINESS_ADDRESS = "businessAddress"
HOME_ADDRESS = "homeAddress"


@dataclass(frozen=True)
class OutlookState:
    """What Outlook holds of an item beyond the mapped fields, so that writing it keeps them.

    Graph replaces lists whole (emails, business and home phones): a PATCH carries the other
    entries over. The raw country / state texts that did not resolve, so writing the address
    does not wipe them. The name's parts as Outlook splits them, so a rename keeps the middle
    name (and the given name or surname the new name still starts or ends with). Which
    address the contact's address is (``address_source``: the business address, or the home
    address of a contact without one) and its raw parts (street, city, state, postalCode,
    countryOrRegion), so a change of one part leaves the others as typed. ``extras``: the
    properties Odoo has no field for (sync.mapping.OUTLOOK_ONLY) as (property, JSON text), so
    a contact created again in Outlook from the snapshot gets them back. ``as_typed``: the
    mapped text properties whose Outlook text differs from the value read (notes with their
    spaces, a phone typed nationally) as (property, text, value read), so that the contact
    comes back as it was typed while the value is the same.
    """

    emails: tuple[tuple[str, str], ...] = ()  # (name, address), in Outlook's order
    business_phones: tuple[str, ...] = ()
    home_phones: tuple[str, ...] = ()
    country_text: str = ""
    state_text: str = ""
    display_name: str = ""
    given_name: str = ""
    middle_name: str = ""
    surname: str = ""
    address_source: str = BUSINESS_ADDRESS
    address: tuple[str, ...] = ()
    extras: tuple[tuple[str, str], ...] = ()
    as_typed: tuple[tuple[str, str, str], ...] = ()

    def to_json(self) -> dict:
        data = {
            "emails": [list(e) for e in self.emails],
            "business_phones": list(self.business_phones),
            "home_phones": list(self.home_phones),
            "country_text": self.country_text,
            "state_text": self.state_text,
        }
        # Stored only when set: older snapshots and most contacts stay as small as they were.
        for key in ("display_name", "given_name", "middle_name", "surname"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.address_source != BUSINESS_ADDRESS:
            data["address_source"] = self.address_source
        if any(self.address):
            data["address"] = list(self.address)
        if self.extras:
            data["extras"] = [list(e) for e in self.extras]
        if self.as_typed:
            data["as_typed"] = [list(e) for e in self.as_typed]
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> OutlookState:
        data = data or {}

        def strings(key):
            raw = data.get(key)
            return tuple(v for v in raw if isinstance(v, str)) if isinstance(raw, list) else ()

        def text(key):
            raw = data.get(key)
            return raw if isinstance(raw, str) else ""

        def pairs(key):
            raw = data.get(key) if isinstance(data.get(key), list) else []
            return tuple(
                (str(e[0]), str(e[1])) for e in raw if isinstance(e, list | tuple) and len(e) == 2
            )

        source = text("address_source")
        return cls(
            emails=pairs("emails"),
            business_phones=strings("business_phones"),
            home_phones=strings("home_phones"),
            country_text=text("country_text"),
            state_text=text("state_text"),
            display_name=text("display_name"),
            given_name=text("given_name"),
            middle_name=text("middle_name"),
            surname=text("surname"),
            address_source=source if source == HOME_ADDRESS else BUSINESS_ADDRESS,
            address=strings("address"),
            extras=pairs("extras"),
            as_typed=tuple(
                (str(e[0]), str(e[1]), str(e[2]))
                for e in (data.get("as_typed") if isinstance(data.get("as_typed"), list) else [])
                if isinstance(e, list | tuple) and len(e) == 3
            ),
        )


@dataclass(frozen=True)
class Snapshot:
    """What a link stores after a successful sync of the pair.

    ``base`` is the common ancestor for the three-way merge. ``outlook`` is the item's view as
    last written or read (equal to ``base`` in two-way sync), with ``outlook_state``: when the
    item is absent from a delta round, this is what Outlook holds.
    """

    base: Contact
    outlook: Contact
    outlook_state: OutlookState = field(default_factory=OutlookState)

    def fingerprint(self) -> str:
        return self.base.fingerprint()

    def to_json(self) -> dict:
        data = {
            "version": SNAPSHOT_VERSION,
            "base": self.base.to_snapshot(),
            "outlook_state": self.outlook_state.to_json(),
        }
        if self.outlook != self.base:
            data["outlook"] = self.outlook.to_snapshot()
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> Snapshot | None:
        if not isinstance(data, dict) or not isinstance(data.get("base"), dict):
            return None
        base = Contact.from_snapshot(data["base"])
        outlook = Contact.from_snapshot(data["outlook"]) if data.get("outlook") else base
        return cls(base, outlook, OutlookState.from_json(data.get("outlook_state")))
