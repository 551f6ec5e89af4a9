"""Retry timing: Retry-After parsing and exponential backoff with full jitter."""

from __future__ import annotations

import math
import random
import time
from email.utils import parsedate_to_datetime

BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0


def parse_retry_after(value: object, now: float | None = None) -> float | None:
    """Seconds to wait, or None when the header is absent or unusable.

    Graph sends integer seconds, Outlook sometimes fractions; RFC 9110 also allows an HTTP-date,
    which is turned into seconds from `now` (epoch seconds, default: the wall clock).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def backoff_delay(
    attempt: int,
    rng: random.Random | None = None,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> float:
    """Full jitter (AWS style): spreads retries of many workers instead of synchronising them."""
    ceiling = min(cap, base * (2 ** min(max(attempt, 0), 32)))
    return (rng or random).uniform(0.0, ceiling)
