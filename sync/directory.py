"""Entra ID user -> partner values, for the directory import: mapping, types, reasons.

The Odoo adapter describes the target fields (type, size, required) and the countries and
states it knows; everything that can refuse a record is decided here, with a reason an
administrator can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EXTENSION_PREFIX = "onPremisesExtensionAttributes.extensionAttribute"
# A delta item may carry only the properties that changed: absent is "unchanged", not empty.
MISSING = object()
MAIL_OR_UPN = "mail_or_upn"

# (attribute, label) in the order the mapping editor shows them.
USER_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    *(
        ("displayName", "Display name"),
        ("givenName", "First name"),
        ("surname", "Last name"),
        (MAIL_OR_UPN, "Email (mail, else user principal name)"),
        ("mail", "Mail"),
        ("userPrincipalName", "User principal name"),
        ("jobTitle", "Job title"),
        ("department", "Department"),
        ("companyName", "Company name"),
        ("mobilePhone", "Mobile phone"),
        ("businessPhones", "Business phone (first)"),
        ("officeLocation", "Office location"),
        ("streetAddress", "Street address"),
        ("city", "City"),
        ("state", "State or province"),
        ("postalCode", "Postal code"),
        ("country", "Country or region"),
        ("employeeId", "Employee ID"),
    ),
    *((f"{EXTENSION_PREFIX}{n}", f"Extension attribute {n}") for n in range(1, 16)),
)

# The default mapping of a new directory source: (attribute, partner field, overwrite).
DEFAULT_MAPPING: tuple[tuple[str, str, bool], ...] = (
    ("displayName", "name", True),
    (MAIL_OR_UPN, "email", True),
    ("businessPhones", "phone", True),
    ("mobilePhone", "mobile", True),
    ("jobTitle", "function", True),
    ("companyName", "company_name", True),
    ("streetAddress", "street", True),
    ("city", "city", True),
    ("postalCode", "zip", True),
    ("state", "state_id", True),
    ("country", "country_id", True),
)

# Without a declared size, Odoo's char columns are unbounded; a value longer than this is
# certainly not a name, phone or title, and would only clutter the partner.
DEFAULT_CHAR_LIMIT = 1024
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
SUPPORTED_TYPES = frozenset(
    {"char", "text", "html", "integer", "float", "monetary", "boolean", "selection", "many2one"}
)
SUPPORTED_RELATIONS = frozenset({"res.country", "res.country.state"})


@dataclass(frozen=True)
class TargetField:
    """What the import needs to know of a partner field."""

    name: str
    type: str
    label: str = ""
    size: int | None = None
    required: bool = False
    relation: str | None = None
    selection: tuple[str, ...] = ()

    def refusal(self) -> str | None:
        """Why this field cannot receive directory values, or None when it can."""
        if self.type not in SUPPORTED_TYPES:
            return f"fields of type {self.type} cannot be filled from the directory"
        if self.type == "many2one" and self.relation not in SUPPORTED_RELATIONS:
            return "only Country and State links can be filled from the directory"
        return None


@dataclass(frozen=True)
class MappingLine:
    attribute: str
    field: str
    overwrite: bool = True


@dataclass
class Lookups:
    """Countries and states by lowercase name or code, as the database has them."""

    countries: Mapping[str, int] = field(default_factory=dict)
    states: Mapping[tuple[int, str], int] = field(default_factory=dict)

    def country(self, text: str) -> int | None:
        return self.countries.get(text.strip().lower())

    def state(self, country_id: int | None, text: str) -> int | None:
        if country_id is None:
            return None
        return self.states.get((country_id, text.strip().lower()))


@dataclass
class ConvertedUser:
    user_id: str
    email: str | None
    values: dict[str, Any]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def selected_attributes(lines: Iterable[MappingLine]) -> set[str]:
    """The Graph $select names a mapping needs."""
    names = set()
    for line in lines:
        if line.attribute == MAIL_OR_UPN:
            names.update(("mail", "userPrincipalName"))
        elif line.attribute.startswith(EXTENSION_PREFIX):
            names.add("onPremisesExtensionAttributes")
        else:
            names.add(line.attribute)
    return names


def user_email(user: Mapping[str, Any]) -> str | None:
    """The address a partner is matched on: mail, else the user principal name."""
    for key in ("mail", "userPrincipalName"):
        value = user.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def attribute_value(user: Mapping[str, Any], attribute: str) -> Any:
    """The attribute's value, None when empty, MISSING when the item does not carry it."""
    if attribute == MAIL_OR_UPN:
        if "mail" not in user and "userPrincipalName" not in user:
            return MISSING
        return user_email(user)
    if attribute.startswith(EXTENSION_PREFIX):
        if "onPremisesExtensionAttributes" not in user:
            return MISSING
        extensions = user.get("onPremisesExtensionAttributes")
        if not isinstance(extensions, Mapping):
            return None
        return extensions.get(attribute.split(".", 1)[1])
    if attribute not in user:
        return MISSING
    value = user.get(attribute)
    if attribute == "businessPhones":
        if isinstance(value, list):
            # The first non-empty entry, whatever its type: a wrong type must show, not vanish.
            return next((v for v in value if v not in (None, "") and str(v).strip()), None)
        return value
    return value


def convert_user(
    user: Mapping[str, Any],
    lines: Iterable[MappingLine],
    fields: Mapping[str, TargetField],
    lookups: Lookups,
) -> ConvertedUser:
    """Partner values for one user, or the reasons it cannot be imported."""
    user_id = user.get("id") if isinstance(user.get("id"), str) else ""
    values: dict[str, Any] = {}
    problems: list[str] = []
    lines = list(lines)
    # Countries first: a state is only meaningful within its country.
    ordered = sorted(lines, key=lambda line: fields[line.field].relation != "res.country")
    for line in ordered:
        target = fields[line.field]
        raw = attribute_value(user, line.attribute)
        if raw is MISSING:
            continue
        try:
            value = _convert(raw, target, lookups, values)
        except ValueError as problem:
            problems.append(f"{target.label or target.name}: {problem}")
            continue
        values[target.name] = value
    email = user_email(user)
    if email is not None and not _EMAIL.match(email):
        problems.append(f"invalid email: {email!r}")
    for target in fields.values():
        if target.required and target.name in values and values[target.name] in (None, False, ""):
            problems.append(f"required field empty: {target.label or target.name}")
    return ConvertedUser(user_id=user_id, email=email, values=values, problems=problems)


def _convert(raw: Any, target: TargetField, lookups: Lookups, values: dict[str, Any]) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return False
    if isinstance(raw, list | dict):
        raise ValueError(f"type mismatch: a {type(raw).__name__} cannot fill this field")
    kind = target.type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"type mismatch: {raw!r} is not true or false")
    if isinstance(raw, bool):
        raise ValueError(f"type mismatch: {raw!r} is not a text or a number")
    text = str(raw).strip()
    if kind in ("char", "text", "html"):
        limit = target.size or (DEFAULT_CHAR_LIMIT if kind == "char" else None)
        if limit and len(text) > limit:
            raise ValueError(f"too long ({len(text)} characters, at most {limit})")
        return text
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"type mismatch: {text!r} is not a whole number")
        number = int(text)
        if not -(2**31) <= number < 2**31:
            raise ValueError(f"{text} is out of range for a whole number")
        return number
    if kind in ("float", "monetary"):
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(f"type mismatch: {text!r} is not a number")
        return number
    if kind == "selection":
        if text not in target.selection:
            allowed = ", ".join(target.selection) or "none"
            raise ValueError(f"{text!r} is not one of the allowed values ({allowed})")
        return text
    if kind == "many2one" and target.relation == "res.country":
        country_id = lookups.country(text)
        if country_id is None:
            raise ValueError(f"unknown country {text!r}")
        return country_id
    if kind == "many2one" and target.relation == "res.country.state":
        country_id = values.get("country_id") or None
        state_id = lookups.state(country_id, text)
        if state_id is None:
            raise ValueError(f"unknown state {text!r}" + ("" if country_id else " (no country)"))
        return state_id
    raise ValueError(target.refusal() or f"fields of type {kind} are not supported")


# Why a user's contact leaves an import limited to groups.
NOT_IN_GROUPS = "no longer in the chosen groups"


def group_scope_changes(
    members: Mapping[str, Mapping[str, Any]],
    previous: Iterable[str] | None,
    changed: Iterable[Mapping[str, Any]] = (),
    removed: Mapping[str, str] | None = None,
) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
    """What an import limited to groups does: (users to import, user id -> why gone).

    `members` are the groups' users now (transitive, with their attributes), `previous` the
    member ids of the last import (None: a full read, every member is imported), `changed` and
    `removed` what the users delta reported since then. A user is imported again when the delta
    says it changed or when it joined the groups (its attributes may not have changed: the delta
    would not report it); a member who left the groups is gone, as is one deleted. A user who
    changed outside the groups, and was not in them before, is none of the import's business.
    """
    gone = dict(removed or {})
    if previous is None:
        return list(members.values()), gone
    before = set(previous)
    changed_ids = {user.get("id") for user in changed}
    users = [
        user for user_id, user in members.items() if user_id in changed_ids or user_id not in before
    ]
    for user_id in sorted(before - members.keys()):
        gone.setdefault(user_id, NOT_IN_GROUPS)
    return users, gone
