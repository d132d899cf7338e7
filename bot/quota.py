"""The poll interval that keeps a key within its daily quota (at most 80 %, commands included)."""

from __future__ import annotations

from datetime import datetime, timedelta

BUDGET_SHARE = 0.8


def next_reset(now: datetime) -> datetime:
    """WhatConverts quotas reset at midnight UTC."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def poll_delay(*, now: datetime, min_interval: float, quota: int, used_today: int, requests_per_poll: int) -> float:
    """Seconds until the next poll: spread what's left of today's budget evenly over what's left of today."""
    left_today = (next_reset(now) - now).total_seconds()
    budget = int(quota * BUDGET_SHARE) - used_today
    per_poll = max(1, requests_per_poll)
    if budget < per_poll:
        return left_today + 1.0  # spent: wait for the reset
    return max(float(min_interval), left_today / (budget // per_poll))
