"""Small OData helpers: the few `$filter` / `$expand` / `$select` shapes the simulator supports."""

from __future__ import annotations

import re

_STR = r"'((?:[^']|'')*)'"


class ODataError(ValueError):
    """Raised for a query option the simulator cannot (or Graph would not) accept."""


def unquote(value: str) -> str:
    return value.replace("''", "'")


def parse_select(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [p.strip() for p in value.split(",") if p.strip()]


def parse_prefer(header: str | None) -> dict[str, str]:
    """`Prefer: odata.maxpagesize=50, IdType="ImmutableId"` -> {"odata.maxpagesize": "50", ...}."""
    prefs: dict[str, str] = {}
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, _, val = part.partition("=")
        prefs[key.strip().lower()] = val.strip().strip('"')
    return prefs


def ext_prop_key(prop_id: str) -> tuple[str, str, str]:
    """Normalise a single-value extended property id.

    `String {GUID} Name X`: the type and GUID compare case-insensitively, the name case-sensitively.
    Other shapes (`String 0x3001`) are compared as given (type lower-cased).
    """
    m = re.match(r"^\s*(\w+)\s+\{([0-9a-fA-F-]+)\}\s+Name\s+(.+?)\s*$", prop_id)
    if m:
        return (m.group(1).lower(), m.group(2).lower(), m.group(3))
    parts = prop_id.split(None, 1)
    if len(parts) == 2:
        return (parts[0].lower(), "", parts[1].lower())
    raise ODataError(f"Invalid extended property id '{prop_id}'.")


def parse_expand_ext_ids(value: str | None) -> list[tuple[str, str, str]] | None:
    """`singleValueExtendedProperties($filter=id eq '...')` -> list of normalised ids.

    Returns None when there is no `$expand`; raises ODataError for other expansions.
    """
    if not value:
        return None
    m = re.match(r"^\s*singleValueExtendedProperties\s*\((.*)\)\s*$", value, re.I | re.S)
    if not m:
        raise ODataError(f"Parsing OData Select and Expand failed: unsupported $expand '{value}'.")
    inner = m.group(1)
    ids = [unquote(x) for x in re.findall(r"\bid\s+eq\s+" + _STR, inner, re.I)]
    if not ids:
        raise ODataError("The $expand of singleValueExtendedProperties needs $filter=id eq '...'.")
    return [ext_prop_key(i) for i in ids]


def _lower(v):
    return v.lower() if isinstance(v, str) else v


def parse_filter(value: str | None):
    """Return a predicate `item -> bool` for the supported `$filter` shapes, or None.

    Supported (keywords case-insensitive, string compare case-insensitive like Exchange/Entra):
    - `prop eq 'x'`, `prop eq true|false|null`, `prop ne ...`
    - `startswith(prop,'x')`
    - `coll/any(a:a/sub eq 'x')` e.g. `emailAddresses/any(a:a/address eq 'x@y')`
    - `singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value eq '...')`
    - any of those joined with ` and `.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    m = re.match(
        r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+"
        + _STR
        + r"\s+and\s+\1/value\s+eq\s+"
        + _STR
        + r"\s*\)$",
        text,
        re.I,
    )
    if m:
        key = ext_prop_key(unquote(m.group(2)))
        wanted = unquote(m.group(3))

        def ext_pred(item):
            entry = (item.get("_ext") or {}).get(key)
            return entry is not None and entry[1] == wanted

        return ext_pred
    parts = _split_and(text)
    if len(parts) > 1:
        preds = [parse_filter(p) for p in parts]
        return lambda item: all(p(item) for p in preds)
    m = re.match(r"^(\w+)/any\(\s*(\w+)\s*:\s*\2(?:/(\w+))?\s+eq\s+" + _STR + r"\s*\)$", text, re.I)
    if m:
        coll, sub, wanted = m.group(1), m.group(3), unquote(m.group(4)).lower()

        def any_pred(item):
            for entry in _get_ci(item, coll) or []:
                val = entry.get(sub) if (sub and isinstance(entry, dict)) else entry
                if isinstance(val, str) and val.lower() == wanted:
                    return True
            return False

        return any_pred
    m = re.match(r"^startswith\(\s*(\w+)\s*,\s*" + _STR + r"\s*\)$", text, re.I)
    if m:
        prop, prefix = m.group(1), unquote(m.group(2)).lower()
        return lambda item: str(_get_ci(item, prop) or "").lower().startswith(prefix)
    m = re.match(r"^(\w+)\s+(eq|ne)\s+(?:" + _STR + r"|(true|false|null))$", text, re.I)
    if m:
        prop, op = m.group(1), m.group(2).lower()
        if m.group(3) is not None:
            wanted = unquote(m.group(3)).lower()
        else:
            wanted = {"true": True, "false": False, "null": None}[m.group(4).lower()]

        def eq_pred(item):
            hit = _lower(_get_ci(item, prop)) == wanted
            return hit if op == "eq" else not hit

        return eq_pred
    raise ODataError(f"Invalid filter clause: the simulator does not support '{value}'.")


def _split_and(text: str) -> list[str]:
    """Split on top-level ` and ` (outside quotes and parentheses)."""
    parts, depth, quote, start, i = [], 0, False, 0, 0
    low = text.lower()
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and low.startswith(" and ", i):
            parts.append(text[start:i].strip())
            i += 5
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def _get_ci(item: dict, prop: str):
    if prop in item:
        return item[prop]
    low = prop.lower()
    for k, v in item.items():
        if k.lower() == low:
            return v
    return None
