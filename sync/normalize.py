"""Normalisation shared by both sides, so that equal data compares equal and never ping-pongs."""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from html.parser import HTMLParser
from typing import Protocol

import phonenumbers

_SPACES = re.compile(r"\s+")
_INLINE_SPACES = re.compile(r"[^\S\n]+")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")
_PHONE_KEY_DROP = re.compile(r"[\s().\-/]")


def clean_text(value: str) -> str:
    """Single-line fields: every run of whitespace (newlines included) becomes one space."""
    return _SPACES.sub(" ", value).strip()


def clean_email(value: str) -> str:
    text = clean_text(value)
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    return text


def email_key(value: str) -> str:
    """Emails compare case-insensitively; they are stored as given."""
    return value.strip().lower()


def is_valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


# --- phones -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    value: str  # international format when parseable, else the text as typed (never lost)
    valid: bool


@lru_cache(maxsize=65_536)  # pure and hot: every partner's phones are read on every run
def normalize_phone(raw: str, region: str | None) -> Phone:
    """International format ("+32 2 555 12 12 ext. 12") for valid numbers, else keep as typed.

    National numbers need a region (the partner's country, else its company's, else the
    account default); without one only numbers typed with "+" or "00" parse.
    """
    text = clean_text(raw)
    if not text:
        return Phone("", True)
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return Phone(text, False)
    if not phonenumbers.is_valid_number(number):
        return Phone(text, False)
    return Phone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL), True
    )


def phone_key(value: str) -> str:
    """Canonical phones differ only in layout characters; garbage compares as typed."""
    return _PHONE_KEY_DROP.sub("", value).lower()


@lru_cache(maxsize=65_536)
def e164_key(value: str) -> str | None:
    """The E.164 form of a normalised valid phone (extension dropped), for matching."""
    if not value.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_tail(e164: str, size: int = 6) -> str:
    """The last ``size`` digits of a valid phone's national number (all of a shorter one).

    However the number is typed (spaces, a national or international prefix, a carrier code,
    an extension after it), these digits follow each other in it: a loose search key.
    """
    number = phonenumbers.parse(e164, None)
    return phonenumbers.national_significant_number(number)[-size:]


# Letters as on a phone keypad: phonenumbers reads "1-800-FLOWERS" as 1-800-3569377.
KEYPAD_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
KEYPAD_DIGITS = "22233344455566677778889999"


@cache
def script_digits() -> tuple[str, str]:
    """The digits of other scripts (Arabic-Indic, full-width...) and their ASCII digits, in
    the same order: phonenumbers reads them all as digits."""
    chars = [
        c
        for c in map(chr, range(128, sys.maxunicode + 1))
        if unicodedata.decimal(c, None) is not None
    ]
    return "".join(chars), "".join(str(unicodedata.decimal(c)) for c in chars)


# --- websites -----------------------------------------------------------------------------


def normalize_website(value: str) -> str:
    """Mirror Odoo's ``res.partner._clean_website``: add "http://" when there is no scheme.

    Scheme detection follows werkzeug's url_parse, which Odoo uses: "x.com:8080" has no
    scheme (digits only after the colon), "x.com:8080/a" does.
    """
    text = value.strip()
    if not text:
        return ""
    colon = text.find(":")
    if colon > 0 and _SCHEME.match(text[:colon]):
        rest = text[colon + 1 :]
        if not rest or any(c not in "0123456789" for c in rest):
            return text
    if text.startswith("//"):
        return "http:" + text
    return "http://" + text


def website_key(value: str) -> str:
    """Scheme and host are case-insensitive and a bare trailing slash means nothing."""
    text = normalize_website(value)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    path = path if path else ""
    return f"{scheme.lower()}://{host.lower()}" + (f"/{path}" if path else "")


# --- notes: HTML (Odoo) <-> plain text (Outlook) ------------------------------------------

_BLOCK_TAGS = frozenset(
    "p div li ul ol tr table thead tbody h1 h2 h3 h4 h5 h6 blockquote pre section article "
    "header footer hr dl dt dd address figure".split()
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def _at_line_start(self) -> bool:
        return not self.parts or self.parts[-1].endswith("\n")

    def _break_line(self) -> None:
        if not self._at_line_start():
            self.parts.append("\n")

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_data(self, data):
        if self.skipping:
            return
        text = _SPACES.sub(" ", data)
        if self._at_line_start():
            text = text.lstrip(" ")
        if text:
            self.parts.append(text)


def canonical_text(value: str) -> str:
    """The one plain-text form of notes: LF line ends, single inner spaces, trimmed lines."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [_INLINE_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


@lru_cache(maxsize=16_384)
def html_to_text(value: str) -> str:
    if not value or not value.strip():
        return ""
    extractor = _TextExtractor()
    extractor.feed(value)
    extractor.close()
    return canonical_text("".join(extractor.parts))


def text_to_html(value: str) -> str:
    """Escape and keep line breaks as <br>, so ``html_to_text(text_to_html(t)) == t``."""
    text = canonical_text(value)
    if not text:
        return ""
    return "<p>" + "<br>".join(html.escape(line, quote=False) for line in text.split("\n")) + "</p>"


# --- names --------------------------------------------------------------------------------

# Lower-case particles that belong to the surname ("Ludwig van Beethoven" -> "van Beethoven").
# Only when typed in lower case: "Anna De Vries" keeps "De" in the given name.
NAME_PARTICLES = frozenset(
    "van von der den de del della dei degli di da das do dos du la le les ten ter te zu zur "
    "bin ibn al el y st. ste.".split()
)


def split_name(name: str) -> tuple[str, str]:
    """Full name -> (given name, surname): last token, plus the particles right before it."""
    tokens = clean_text(name).split(" ") if clean_text(name) else []
    if not tokens:
        return "", ""
    if len(tokens) == 1:
        return tokens[0], ""
    start = len(tokens) - 1
    while start > 0 and tokens[start - 1] in NAME_PARTICLES:
        start -= 1
    return " ".join(tokens[:start]), " ".join(tokens[start:])


# --- countries and states -----------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", clean_text(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace(".", "")


class CountryLookup(Protocol):
    def country_code(self, text: str) -> str | None: ...
    def country_name(self, code: str) -> str: ...
    def state(self, country_code: str, text: str) -> tuple[str, str] | None: ...
    def has_states(self, country_code: str) -> bool: ...


class CountryResolver:
    """Country / state lookup by code or name; tests feed literals, Odoo feeds res.country.

    ``countries``: code -> name; ``aliases``: other names (translations, "USA") -> code;
    ``states``: country code -> {state code -> state name}. Matching ignores case and accents.
    """

    def __init__(
        self,
        countries: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        states: Mapping[str, Mapping[str, str]] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        pairs = countries.items() if isinstance(countries, Mapping) else countries
        self._names: dict[str, str] = {}
        self._by_text: dict[str, str] = {}
        for code, name in pairs:
            code = code.upper()
            self._names[code] = name
            self._by_text[_fold(code)] = code
            self._by_text.setdefault(_fold(name), code)
        for alias, code in (aliases or {}).items():
            self._by_text.setdefault(_fold(alias), code.upper())
        self._states: dict[str, dict[str, tuple[str, str]]] = {}
        for country, table in (states or {}).items():
            index: dict[str, tuple[str, str]] = {}
            for code, name in table.items():
                index[_fold(code)] = (code, name)
                index.setdefault(_fold(name), (code, name))
            self._states[country.upper()] = index

    def country_code(self, text: str) -> str | None:
        return self._by_text.get(_fold(text)) if text and text.strip() else None

    def country_name(self, code: str) -> str:
        return self._names.get(code.upper(), code.upper())

    def state(self, country_code: str, text: str) -> tuple[str, str] | None:
        if not text or not text.strip():
            return None
        return self._states.get(country_code.upper(), {}).get(_fold(text))

    def has_states(self, country_code: str) -> bool:
        return bool(self._states.get(country_code.upper()))
