"""The poll plan: which polls sweep, how far back they read, and a day's polls and sweeps within the quota share.

A sweep takes the place of the poll that falls due; a key may spend at most 80 % of its daily
quota, so the extra pages of sweeps still to come today are reserved out of the polls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.poll_plan import is_sweep, poll_seconds, window_start
from bot.alerts.poll_plan import next_sweep as next_sweep_state
from bot.alerts.poller import LOOKBACK
from bot.config import Settings, load_settings
from storage.polling import Lease

MIDNIGHT = datetime(2026, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def a_day(settings: Settings, *, quota: int, poll_pages: int, sweep_pages: int, backstop: bool = False) -> dict:
    """Poll from midnight to midnight as the poller does: each poll a sweep when one is due."""
    now, used, polls, sweeps = MIDNIGHT, 0, 0, 0
    next_sweep = MIDNIGHT + timedelta(seconds=settings.update_sweep_seconds)
    last = poll_pages
    gaps: list[float] = []
    while now < MIDNIGHT + DAY:
        sweep = now >= next_sweep
        cost = sweep_pages if sweep else poll_pages
        polls, sweeps, used = polls + 1, sweeps + sweep, used + cost
        if sweep:
            change = next_sweep_state(Lease(1, 1, now, 1, 0, next_sweep_at=next_sweep), now, sweep=True,
                                      requests=cost, every_seconds=settings.update_sweep_seconds)  # fmt: skip
            assert change is not None and change.next_at is not None
            next_sweep = change.next_at
        seconds = poll_seconds(
            settings, now=now, quota=quota, used_today=used, backstop=backstop,
            poll_requests=last if sweep else cost, sweep_requests=cost if sweep else sweep_pages,
        )  # fmt: skip
        last = cost
        gaps.append(seconds)
        now += timedelta(seconds=seconds)
    return {"polls": polls, "sweeps": sweeps, "used": used, "gaps": gaps}


def test_a_one_page_sweep_costs_nothing_extra() -> None:
    day = a_day(load_settings(), quota=1000, poll_pages=1, sweep_pages=1)

    assert 90 <= day["sweeps"] <= 96  # every 15 minutes, in place of the poll that fell due
    assert 780 <= day["polls"] == day["used"] <= 800  # and polls still every ~108 s, as before sweeps


def test_sweeps_of_several_pages_are_reserved_so_the_day_stays_within_the_share() -> None:
    settings = load_settings()
    one = a_day(settings, quota=1000, poll_pages=1, sweep_pages=1)
    three = a_day(settings, quota=1000, poll_pages=1, sweep_pages=3)

    assert three["used"] <= 800 and three["used"] >= 750
    assert 90 <= three["sweeps"] <= 96
    # The sweeps' extra pages come out of the polls, spread over the day (not a starved evening).
    assert three["polls"] < one["polls"] - 150
    assert max(three["gaps"][:-1]) < 1.3 * min(three["gaps"][:-1])


def test_when_every_poll_is_a_sweep_each_poll_costs_a_sweep() -> None:
    """On the backstop (every profile sends webhooks) polls come every 15 minutes: each is a sweep."""
    day = a_day(load_settings(), quota=1000, poll_pages=1, sweep_pages=12, backstop=True)

    assert day["used"] <= 800
    assert min(day["gaps"][:-1]) >= 15 * 60


def test_a_sweep_reads_the_wide_window_and_a_first_poll_does_not() -> None:
    now = MIDNIGHT + timedelta(hours=12)
    first = Lease(1, 1, None, 1, 0)
    due = Lease(1, 2, now - timedelta(minutes=2), 1, 0, next_sweep_at=now - timedelta(seconds=1))
    stale = Lease(1, 3, now - timedelta(days=2), 1, 0, next_sweep_at=now)

    assert not is_sweep(first, now) and is_sweep(due, now)
    assert window_start(due, now, lookback=LOOKBACK, sweep=False, hours=24) == now - timedelta(minutes=12)
    assert window_start(due, now, lookback=LOOKBACK, sweep=True, hours=24) == now - DAY
    # A cursor further back than the sweep (polling paused for two days) is not cut short.
    assert window_start(stale, now, lookback=LOOKBACK, sweep=True, hours=24) == now - 2 * DAY - LOOKBACK


def test_the_sweep_may_not_reach_past_the_delivery_record() -> None:
    with pytest.raises(Exception, match="UPDATE_SWEEP_HOURS"):
        load_settings(update_sweep_hours=7 * 24)
    assert load_settings(update_sweep_hours=48, delivery_retention_days=3).update_sweep_hours == 48
