"""When a daily job runs next: at a time of a timezone, whatever the season."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def next_daily_at(after: datetime, hour: float, tz_name: str | None) -> datetime:
    """The first `hour` o'clock (a float, 2.5 = 02:30) in `tz_name` after `after`, both as
    naive UTC datetimes (as Odoo stores them). In the hour a clock change repeats, the later
    one (standard time) is meant."""
    zone = ZoneInfo(tz_name or "UTC")
    local = after.replace(tzinfo=timezone.utc).astimezone(zone)
    hours, minutes = divmod(round(hour * 60), 60)
    at = time(hour=min(hours, 23), minute=minutes, fold=1)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(timezone.utc).replace(tzinfo=None)
