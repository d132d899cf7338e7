"""What a poll reads and when the next one comes: the lookback, the update sweep and the quota plan.

`GET /leads` lists by date created and has no "updated since" (platform truth W2), so a poll
that re-reads only the last minutes never sees a call complete or a value set an hour later.
Every `UPDATE_SWEEP_SECONDS` a connection's poll is a *sweep*: it re-reads everything created
in the last `UPDATE_SWEEP_HOURS` instead, and routing turns what changed into card edits. A
sweep takes the place of the poll that falls due, so it costs extra only when the wide window
needs more pages than the short one; the plan reserves that extra for every sweep left today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.whatconverts.quota import BUDGET_SHARE, next_reset, poll_delay
from storage.polling import Lease, Sweep

DAY_SECONDS = 86_400


def is_sweep(lease: Lease, now: datetime) -> bool:
    """Is this poll a sweep? Not a connection's first: a new one has no cards to follow yet."""
    return lease.next_sweep_at is not None and lease.next_sweep_at <= now


def window_start(lease: Lease, now: datetime, *, lookback: timedelta, sweep: bool, hours: int) -> datetime:
    """Where the poll's walk starts: the cursor less the lookback, or further back for a sweep."""
    start = (lease.cursor or now) - lookback
    return min(start, now - timedelta(hours=hours)) if sweep else start


def next_sweep(lease: Lease, now: datetime, *, sweep: bool, requests: int, every_seconds: int) -> Sweep | None:
    """The sweep state this poll leaves (None: unchanged). A first poll schedules the first sweep."""
    every = timedelta(seconds=every_seconds)
    if sweep and lease.next_sweep_at is not None:
        # On the schedule, not from now: a sweep waits for the next poll, and that wait mustn't add up.
        anchored = lease.next_sweep_at + every
        return Sweep(anchored if anchored > now else now + every, requests)
    if lease.next_sweep_at is None:
        return Sweep(now + every, lease.sweep_requests)
    return None


def poll_seconds(
    settings: Settings,
    *,
    now: datetime,
    quota: int,
    used_today: int,
    poll_requests: int,
    sweep_requests: int,
    backstop: bool,
    share: float = BUDGET_SHARE,
    sharing: int = 1,
) -> float:
    """Seconds until the next poll, keeping polls and sweeps together within the key's share of its quota.

    `backstop`: every profile sends webhooks, so polling only catches what a webhook missed.
    """
    floor = float(settings.poll_min_interval_seconds)
    if backstop:
        floor = max(floor, settings.backstop_poll_minutes * 60.0)
    every = settings.update_sweep_seconds
    poll, sweep = max(1, poll_requests), max(1, sweep_requests)
    sweeps_left = math.ceil((next_reset(now) - now).total_seconds() / every)
    seconds = poll_delay(
        now=now,
        min_interval=floor,
        quota=quota,
        used_today=used_today + max(0, sweep - poll) * sweeps_left,  # the sweeps still to come, as if spent
        requests_per_poll=poll,
        share=share,
        sharing=sharing,
    )
    if seconds >= every:
        # Polls no more often than sweeps: every poll is a sweep, and costs what a sweep does.
        seconds = poll_delay(
            now=now,
            min_interval=floor,
            quota=quota,
            used_today=used_today,
            requests_per_poll=max(poll, sweep),
            share=share,
            sharing=sharing,
        )
    return seconds


@dataclass(frozen=True)
class SweepPlan:
    """What `status` says about the update sweep of one connection."""

    hours: int
    every_seconds: int
    requests_per_day: int


def sweep_plan(settings: Settings, *, sweep_requests: int) -> SweepPlan:
    every = settings.update_sweep_seconds
    return SweepPlan(
        hours=settings.update_sweep_hours,
        every_seconds=every,
        requests_per_day=math.ceil(DAY_SECONDS / every) * max(1, sweep_requests),
    )
