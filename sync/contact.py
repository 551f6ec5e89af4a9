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


@dataclass(frozen=True)
class OutlookState:
    """Outlook-only details of an item that a PATCH must carry over (Graph replaces lists).

    Also the raw country / state texts that did not resolve, so writing the address does not
    wipe them.
    """

    emails: tuple[tuple[str, str], ...] = ()  # (name, address), in Outlook's order
    business_phones: tuple[str, ...] = ()
    home_phones: tuple[str, ...] = ()
    country_text: str = ""
    state_text: str = ""

    def to_json(self) -> dict:
        return {
            "emails": [list(e) for e in self.emails],
            "business_phones": list(self.business_phones),
            "home_phones": list(self.home_phones),
            "country_text": self.country_text,
            "state_text": self.state_text,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> OutlookState:
        data = data or {}

        def strings(key):
            raw = data.get(key)
            return tuple(v for v in raw if isinstance(v, str)) if isinstance(raw, list) else ()

        emails = data.get("emails") if isinstance(data.get("emails"), list) else []
        return cls(
            emails=tuple(
                (str(e[0]), str(e[1]))
                for e in emails
                if isinstance(e, list | tuple) and len(e) == 2
            ),
            business_phones=strings("business_phones"),
            home_phones=strings("home_phones"),
            country_text=data.get("country_text") or "",
            state_text=data.get("state_text") or "",
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
