"""Normalisation: phones, websites, notes, names, countries."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.normalize import (
    KEYPAD_DIGITS,
    KEYPAD_LETTERS,
    CountryResolver,
    canonical_text,
    e164_key,
    html_to_text,
    national_tail,
    normalize_phone,
    normalize_website,
    phone_key,
    script_digits,
    split_name,
    text_to_html,
    website_key,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected", "valid"),
    [
        ("02 555 12 12", "BE", "+32 2 555 12 12", True),  # national number, partner's country
        ("+32 2 555 12 12", None, "+32 2 555 12 12", True),  # "+" needs no country
        ("+32(0)2-555.12.12", None, "+32 2 555 12 12", True),
        ("0032 2 555 12 12", "FR", "+32 2 555 12 12", True),  # international prefix from France
        ("+32 2 555 12 12 ext. 12", None, "+32 2 555 12 12 ext. 12", True),
        ("02 555 12 12 x12", "BE", "+32 2 555 12 12 ext. 12", True),
        ("02 555 12 12", None, "02 555 12 12", False),  # national, no country: kept as typed
        ("call me maybe", "BE", "call me maybe", False),  # garbage kept, never lost
        ("+999 123", None, "+999 123", False),
        ("  ", "BE", "", True),
        ("+1 415 555 2671", "BE", "+1 415-555-2671", True),
    ],
)
def test_phone_normalisation(raw, region, expected, valid):
    phone = normalize_phone(raw, region)
    assert (phone.value, phone.valid) == (expected, valid)


def test_phone_keys_ignore_layout_and_e164_drops_extension():
    assert phone_key("+32 2 555 12 12") == phone_key("+32-2-555-1212")
    assert e164_key("+32 2 555 12 12 ext. 12") == "+3225551212"
    assert e164_key("garbage") is None


def _in_script(text, zero):
    """`text` with its digits written in the script whose zero is `zero`."""
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


def _typed_digits(typed):
    """The digits of a typed number as the default folder's partner search reads them."""
    other, ascii_digits = script_digits()
    typed = typed.translate(str.maketrans(other, ascii_digits))
    keypad = typed.upper().translate(str.maketrans(KEYPAD_LETTERS, KEYPAD_DIGITS))
    return {"".join(c for c in text if c in "0123456789") for text in (typed, keypad)}


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("02 555 12 12", "BE"),
        ("+32 (0)2-555.12.12", None),
        ("0032 2 555 12 12 ext. 12", "FR"),
        (_in_script("02 555 12 12", 0x0660), "BE"),  # Arabic-Indic digits
        (_in_script("02 555 12 12", 0xFF10), "BE"),  # full-width digits
        ("011 15-2345-6789", "AR"),  # a carrier prefix between area code and number
        ("1-800-FLOWERS", "US"),
        ("06 1234 5678", "IT"),  # Italy keeps the leading zero
        ("+683 7012", None),  # Niue: four digits in all
    ],
)
def test_national_tail_is_found_in_the_digits_however_typed(typed, region):
    key = e164_key(normalize_phone(typed, region).value)
    assert key
    tail = national_tail(key)
    assert tail == ("7012" if key.startswith("+683") else key[-6:])
    assert any(tail in digits for digits in _typed_digits(typed))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("www.odoo.com", "http://www.odoo.com"),  # Odoo's _clean_website adds http://
        ("https://odoo.com/a", "https://odoo.com/a"),
        ("odoo.com/path?q=1", "http://odoo.com/path?q=1"),
        ("odoo.com:8080", "http://odoo.com:8080"),
        ("mailto:a@b.c", "mailto:a@b.c"),
        ("//cdn.example.com", "http://cdn.example.com"),
        ("  ", ""),
    ],
)
def test_website_matches_odoo_cleaning(raw, expected):
    assert normalize_website(raw) == expected
    assert normalize_website(expected) == expected  # idempotent: no ping-pong


def test_website_key_ignores_case_of_host_and_bare_slash():
    assert website_key("HTTP://Example.COM/") == website_key("example.com")
    assert website_key("https://x.com/A") != website_key("https://x.com/a")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello</p>", "Hello"),
        ("<p>a</p><p>b</p>", "a\nb"),
        ("<p>a</p>\n  <p>b</p>", "a\nb"),
        ("a<br>b<br/><br>c", "a\nb\n\nc"),
        ("<p>Fish &amp; chips &lt;3</p>", "Fish & chips <3"),
        ("<div><b>bold</b>   and <i>it</i></div>", "bold and it"),
        ("<style>p{}</style><script>x()</script><p>kept</p>", "kept"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<p>a&nbsp;&nbsp;b</p>", "a b"),
        ("", ""),
        ("<p><br></p>", ""),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_text_to_html_escapes_and_keeps_lines():
    assert text_to_html("a <b> & c\nnext") == "<p>a &lt;b&gt; &amp; c<br>next</p>"
    assert text_to_html("  \n ") == ""


note_text = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)
    | st.sampled_from(["\n", "\r\n", "\r", "\t", "<", ">", "&", "  ", "<p>", "&amp;", "\u00a0"]),
    max_size=16,
).map("".join)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(note_text)
def test_text_html_text_is_identity_on_canonical_text(text):
    canonical = canonical_text(text)
    assert html_to_text(text_to_html(canonical)) == canonical
    assert canonical_text(canonical) == canonical


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from(
            ["<p>", "</p>", "<br>", "<div>", "</div>", "a", " b ", "&amp;", "\n", "<li>"]
        )
        | note_text,
        max_size=12,
    ).map("".join)
)
def test_html_round_trip_is_stable(html):
    once = html_to_text(html)
    assert html_to_text(text_to_html(once)) == once


@pytest.mark.parametrize(
    ("name", "given", "surname"),
    [
        ("Jean-Luc Picard", "Jean-Luc", "Picard"),
        ("Anna van der Berg", "Anna", "van der Berg"),
        ("van der Berg", "", "van der Berg"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Maria de la Cruz", "Maria", "de la Cruz"),
        ("Anna De Vries", "Anna De", "Vries"),  # capitalised particle: part of the given name
        ("Jean  Pierre   Dupont", "Jean Pierre", "Dupont"),
        ("Cher", "Cher", ""),
        ("", "", ""),
    ],
)
def test_split_name(name, given, surname):
    assert split_name(name) == (given, surname)


def test_country_resolver_by_code_name_alias_and_accents():
    resolver = CountryResolver(
        {"BE": "Belgium", "CI": "Côte d'Ivoire", "US": "United States"},
        states={"US": {"CA": "California"}},
        aliases={"U.S.A.": "US", "Belgique": "BE"},
    )
    assert resolver.country_code("be") == "BE"
    assert resolver.country_code(" belgium ") == "BE"
    assert resolver.country_code("BELGIQUE") == "BE"
    assert resolver.country_code("usa") == "US"
    assert resolver.country_code("cote d'ivoire") == "CI"
    assert resolver.country_code("Narnia") is None
    assert resolver.country_name("us") == "United States"
    assert resolver.state("US", "california") == ("CA", "California")
    assert resolver.state("US", "ca") == ("CA", "California")
    assert resolver.state("BE", "CA") is None
    assert resolver.has_states("US") and not resolver.has_states("BE")
