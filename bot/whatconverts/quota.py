"""A key's daily budget: how often its connections poll so that together they stay within their share.

WhatConverts' quota belongs to the API key (1,000 requests a day for a profile key, 10,000 for a
master key, reset at midnight UTC), shared by every connection using the key, in any workspace,
and by every other tool the key is pasted into. The app spends at most its share of it (80 % by
default, `WHATCONVERTS_QUOTA_SHARE`, or what an admin set with `/whatconverts quota`), commands
included: what is left of today's share is spread over what is left of today, across the key's
connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.connections import KeyMember

BUDGET_SHARE = 0.8
# A throttle (429 without "daily") counts as the daily limit once we ourselves have spent this much
# of what we may spend today: past that, the key's other users may well have spent the rest.
DAILY_EVIDENCE = 0.9


@dataclass(frozen=True)
class KeyBudget:
    """What a key allows the app today, and how many of its connections poll on it."""

    quota: int
    share: float
    sharing: int = 1

    @property
    def allowance(self) -> int:
        """Requests the app may make with the key today."""
        return int(self.quota * self.share)


def key_budget(members: Sequence[KeyMember], *, default_share: float, fallback_quota: int) -> KeyBudget:
    """The budget of a key from its connections. Should they ever disagree, the most careful wins."""
    if not members:
        return KeyBudget(quota=fallback_quota, share=default_share)
    return KeyBudget(
        quota=min(m.daily_quota for m in members),
        share=min(m.quota_share if m.quota_share is not None else default_share for m in members),
        sharing=max(1, sum(m.polling for m in members)),
    )


def next_reset(now: datetime) -> datetime:
    """WhatConverts quotas reset at midnight UTC."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def poll_delay(
    *,
    now: datetime,
    min_interval: float,
    quota: int,
    used_today: int,
    requests_per_poll: int,
    share: float = BUDGET_SHARE,
    sharing: int = 1,
) -> float:
    """Seconds until a connection's next poll: what's left of the key's budget today, spread evenly
    over what's left of today and over the `sharing` connections polling with the key."""
    left_today = (next_reset(now) - now).total_seconds()
    budget = int(quota * share) - used_today
    per_poll = max(1, requests_per_poll)
    if budget < per_poll:
        return left_today + 1.0  # spent: wait for the reset
    return max(float(min_interval), left_today * max(1, sharing) / (budget // per_poll))


def looks_spent(*, used_today: int, budget: KeyBudget) -> bool:
    """Is a throttle more likely the daily limit? Only when we have spent (nearly) all we may today."""
    return used_today >= DAILY_EVIDENCE * budget.allowance
