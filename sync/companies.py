"""Linking an Outlook company name to an Odoo company (R3), and when not to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def name_key(name: str | None) -> str:
    return (name or "").strip().lower()


def pick_company(name: str, companies: Sequence[tuple[int, str]]) -> int | None:
    """The company an Outlook company name means, among (id, name) pairs given oldest first:
    the exact name (case ignored; the oldest), else the single one whose name contains it;
    None when there is no such company or several."""
    key = name_key(name)
    exact = [cid for cid, cname in companies if name_key(cname) == key]
    if exact:
        return exact[0]
    partial = [cid for cid, cname in companies if key in (cname or "").lower()]
    return partial[0] if len(partial) == 1 else None


def address_key(values: Iterable[Any]) -> tuple:
    """An address comparable whatever its source: texts spaced and cased alike, ids as they
    are, empty as False."""
    return tuple(
        " ".join(value.split()).lower() or False if isinstance(value, str) else value or False
        for value in values
    )


def keeps_own_address(own: tuple, company: tuple | None) -> bool:
    """Whether a contact must stay unlinked from its company to keep its own address: Odoo
    gives a company's contacts the company's address, so linking would overwrite it."""
    return bool(company and any(company) and any(own) and own != company)
