"""Per-record problems: a code for machines, an English sentence for the admin reading the log."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

# Codes (stable: the Odoo sync log stores them).
WRONG_TYPE = "wrong_type"
NOT_AN_OBJECT = "not_an_object"
NO_ID = "no_id"
NO_NAME_NO_EMAIL = "no_name_no_email"
NAME_TOO_LONG = "name_too_long"
VALUE_TOO_LONG = "value_too_long"
INVALID_EMAIL = "invalid_email"
INVALID_PHONE = "invalid_phone"
UNKNOWN_COUNTRY = "unknown_country"
UNKNOWN_STATE = "unknown_state"
TOO_MANY_EMAILS = "too_many_emails"
TOO_MANY_BUSINESS_PHONES = "too_many_business_phones"
AMBIGUOUS_MATCH = "ambiguous_match"
DUPLICATE_ITEM = "duplicate_item"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: str | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def has_errors(problems) -> bool:
    return any(p.is_error for p in problems)


def describe(problems) -> str:
    """One line for a log or a toast: the errors first, then the warnings."""
    ordered = sorted(problems, key=lambda p: (not p.is_error,))
    return "; ".join(p.message for p in ordered)
