"""The next daily run: local time of day, across midnight and clock changes."""

from datetime import datetime

from sync.schedule import next_daily_at


def test_later_today_else_tomorrow_in_the_given_timezone():
    # 2026-11-29 10:00 UTC is 11:00 in Brussels (CET, UTC+1).
    now = datetime(2026, 11, 29, 10, 0)
    assert next_daily_at(now, 14.5, "Europe/Brussels") == datetime(2026, 11, 29, 13, 30)
    assert next_daily_at(now, 3, "Europe/Brussels") == datetime(2026, 11, 30, 2, 0)
    assert next_daily_at(now, 0, None) == datetime(2026, 11, 30, 0, 0)
    assert next_daily_at(now, 23.99, "UTC") == datetime(2026, 11, 29, 23, 59)


def test_clock_changes_keep_the_local_time():
    # Summer time (UTC+2) starts in Brussels on 2026-03-29 at 02:00.
    before = datetime(2026, 3, 28, 12, 0)
    assert next_daily_at(before, 3, "Europe/Brussels") == datetime(2026, 3, 29, 1, 0)
    assert next_daily_at(datetime(2026, 3, 29, 12, 0), 3, "Europe/Brussels") == datetime(
        2026, 3, 30, 1, 0
    )
    # On 2026-10-25 the hour from 02:00 to 03:00 comes twice: the later one, in standard time.
    assert next_daily_at(datetime(2026, 10, 24, 12, 0), 2.5, "Europe/Brussels") == datetime(
        2026, 10, 25, 1, 30
    )
