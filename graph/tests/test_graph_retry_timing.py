import random
from email.utils import formatdate

import pytest

from graph.retry import backoff_delay, parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 10 ", 10.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("0.25", 0.25),
        (7, 7.0),
    ],
)
def test_retry_after_in_seconds(value, expected):
    assert parse_retry_after(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "soon", "-1", "nan", "inf", "1e400", "Mon, 99"])
def test_retry_after_garbage_is_ignored(value):
    assert parse_retry_after(value) is None


def test_retry_after_http_date():
    now = 1_700_000_000.0
    header = formatdate(now + 42, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(42.0)


def test_retry_after_date_in_the_past_means_now():
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap():
    rng = random.Random(7)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 32.0), (6, 60.0), (50, 60.0)]:
        samples = [backoff_delay(attempt, rng) for _ in range(300)]
        assert min(samples) >= 0.0
        assert max(samples) <= ceiling
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(samples) < ceiling * 0.1
        assert max(samples) > ceiling * 0.9


def test_backoff_uses_the_given_base_and_cap():
    class Top:
        def uniform(self, low, high):
            return high

    assert backoff_delay(3, Top(), base=0.5, cap=100) == 4.0
    assert backoff_delay(30, Top(), base=0.5, cap=100) == 100
