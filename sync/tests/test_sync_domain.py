"""A user's custom domain is read as data: values and uid only, bounded, never run."""

import pytest

from sync.domain import MAX_DOMAIN_LENGTH, MAX_DOMAIN_TERMS, parse_domain


def test_plain_domains_read_as_lists_with_uid():
    assert parse_domain("[('user_id', '=', uid), ('color', '>', -1)]", 7) == [
        ("user_id", "=", 7),
        ("color", ">", -1),
    ]
    assert parse_domain("['|', ('a', '=', True), ('b', 'in', [1, 2.5, None])]", 1) == [
        "|",
        ("a", "=", True),
        ("b", "in", [1, 2.5, None]),
    ]
    assert parse_domain("[]", 1) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("__import__('os').system('id')", "only plain values"),
        ("[('id', 'in', list(range(10 ** 9)))]", "only plain values"),
        ("[('date', '<', context_today())]", "only plain values"),
        ("[('name', '=', 'x' * 10)]", "only plain values"),
        ("[x for x in 'ab']", "only plain values"),
        ("42", "a domain is a list"),
        ("('name', '=', 'x')", "a domain is a list"),
        ("[('name', '=',", "not a domain"),
        ("[('name', '=', '" + "x" * MAX_DOMAIN_LENGTH + "')]", "longer than"),
        (str([("name", "=", n) for n in range(MAX_DOMAIN_TERMS + 1)]), "more than"),
    ],
)
def test_anything_else_is_refused_with_its_reason(text, why):
    with pytest.raises(ValueError, match=why):
        parse_domain(text, 1)
