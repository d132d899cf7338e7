"""Local time for a subscription (its creator's time zone) and quiet-hour windows that may wrap midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local(now: datetime, tz: str | None) -> datetime:
    """`now` in `tz` (UTC when unknown)."""
    try:
        return now.astimezone(ZoneInfo(tz)) if tz else now.astimezone(UTC)
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(UTC)


def in_window(window: tuple[time, time], moment: time) -> bool:
    """Is `moment` inside [start, end)? A window like 20:00-08:00 wraps midnight."""
    start, end = window
    moment = moment.replace(second=0, microsecond=0, tzinfo=None)
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end
