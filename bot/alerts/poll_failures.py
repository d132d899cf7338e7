"""What a failed poll does: release its lease at once, back off, and mark, record and tell.

WhatConverts' own refusals each get their answer: a throttle (its burst limit) backs the key off
for seconds to minutes; the daily quota, only when there is evidence of it, waits for midnight
UTC; a dead key needs reauth and its owner is told. Both limits belong to the key, so every
connection of the key waits, not just the one that heard it. Anything else, WhatConverts being
away or a fault nothing foresaw, is retried with exponential backoff; after a few failures in a
row the connection shows "error" and its owner and the installer are told, once.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from bot.services import Services
from bot.slack.notify import notify
from bot.whatconverts.client import (
    WhatConvertsAuthError,
    WhatConvertsError,
    WhatConvertsForbidden,
    WhatConvertsQuotaExceeded,
    WhatConvertsThrottled,
)
from bot.whatconverts.quota import key_budget, looks_spent, next_reset
from storage import connections as connection_store
from storage import polling, problems
from storage.db import transaction
from storage.models import Connection

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=30)
ERROR_AFTER_FAILURES = 3
# A throttle is over in moments (WhatConverts throttles past 20 requests at once): 30 s, doubling
# while it persists, up to 15 minutes.
THROTTLE_BACKOFF = timedelta(seconds=30)
MAX_THROTTLE_BACKOFF = timedelta(minutes=15)


def throttle_delay(failures: int, *, min_interval: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row that was a throttle, jittered ±20 %
    so the key's connections (and processes) don't come back together. Never sooner than a normal poll."""
    base = THROTTLE_BACKOFF.total_seconds() * 2 ** min(failures - 1, 10)
    capped = min(max(base, float(min_interval)), MAX_THROTTLE_BACKOFF.total_seconds())
    return capped * random.uniform(0.8, 1.2)


async def _spent_today(services: Services, connection: Connection, now: datetime) -> bool:
    """Our own count says the key's day is (nearly) spent: a throttle then is likelier the daily limit."""
    async with services.sessions() as session:
        used = await connection_store.requests_on(session, key_ids=[connection.key_id], day=now.date())
        members = await connection_store.key_members(session, key_ids=[connection.key_id])
    budget = key_budget(
        members.get(connection.key_id, []),
        default_share=services.settings.whatconverts_quota_share,
        fallback_quota=connection.daily_quota,
    )
    return looks_spent(used_today=used.get(connection.key_id, 0), budget=budget)


async def handle(
    services: Services, lease: polling.Lease, connection: Connection, exc: Exception, now: datetime
) -> None:
    """Release the lease at once, schedule the retry, and mark, record and tell as the failure deserves."""
    if isinstance(exc, WhatConvertsError):
        message = exc.message
    else:
        # Not WhatConverts' doing: a fault of ours or of data nothing foresaw. The traceback goes to
        # the log; Slack gets the kind only (exception text may quote lead data).
        message = f"unexpected error ({type(exc).__name__})"
        log.error("polling connection %s failed: %s", lease.connection_id, message, exc_info=exc)
    failures = lease.failures + 1
    status: str | None = None
    problem: tuple[str, str] | None = None
    key_waits = False  # the limit is the key's: its other connections wait as long
    if isinstance(exc, WhatConvertsThrottled) and not exc.retry_after and await _spent_today(services, connection, now):
        exc = WhatConvertsQuotaExceeded(exc.message, status=exc.status)
    if isinstance(exc, WhatConvertsQuotaExceeded):
        # Until Retry-After when given, else until the daily reset.
        next_run = now + timedelta(seconds=exc.retry_after) if exc.retry_after else next_reset(now)
        key_waits = True
        if not exc.retry_after:
            problem = ("WhatConverts' daily API limit for this key is used up.", "Polling resumes at midnight UTC.")
    elif isinstance(exc, WhatConvertsThrottled):
        wait = exc.retry_after or throttle_delay(failures, min_interval=services.settings.poll_min_interval_seconds)
        next_run = now + timedelta(seconds=wait)
        key_waits = True
        # Said as what it is: a pause of minutes, not "the daily limit is used up".
        message = f"WhatConverts throttled this key ({exc.message}); trying again in {_duration(wait)}"
    elif isinstance(exc, WhatConvertsAuthError | WhatConvertsForbidden):
        next_run = now + timedelta(hours=1)
        if connection.kind == "api_key":
            status = "needs_reauth"
            problem = (
                "WhatConverts no longer accepts this API key.",
                f"Run /whatconverts connect {connection.label} with a current token and secret.",
            )
    else:
        base = max(services.settings.poll_min_interval_seconds, 30) * 2 ** min(failures - 1, 6)
        backoff = min(timedelta(seconds=base), MAX_BACKOFF).total_seconds()
        next_run = now + timedelta(seconds=backoff * random.uniform(0.8, 1.2))
        if failures >= ERROR_AFTER_FAILURES:
            status = "error"
    told: str | None = None
    async with transaction(services.sessions) as session:
        if not await polling.finish(
            session, lease, cursor=None, next_run_at=next_run, now=now, requests=1, error=message
        ):
            return
        if key_waits:
            await polling.defer_key(session, key_id=connection.key_id, until=next_run)
        if status and connection.status != status:
            await connection_store.set_status(session, connection_id=lease.connection_id, status=status, error=message)
            if problem is None and status == "error":
                problem = (
                    f"Polling WhatConverts failed {failures} times in a row ({message}).",
                    "We keep retrying with backoff; check status.whatconverts.com if it persists."
                    if isinstance(exc, WhatConvertsError)
                    else "We keep retrying with backoff; the app's log has the details for its operator.",
                )
                told = (
                    f":warning: `{connection.label}`: polling WhatConverts failed {failures} times in a row "
                    f"({message}). Its leads wait, none is lost; we keep retrying with backoff."
                )
        if problem:
            await problems.record(
                session,
                team_id=connection.team_id,
                subject=f"connection {connection.label}",
                message=problem[0],
                fix=problem[1],
            )
        elif not isinstance(exc, WhatConvertsError):
            await problems.record_once(
                session,
                team_id=connection.team_id,
                subject=f"connection {connection.label}",
                message=f"Polling failed with an {message}; its leads wait, none is lost.",
                fix="We retry with backoff; the app's log has the details for its operator.",
                since=now - timedelta(days=1),
            )
    if status == "needs_reauth" and problem:
        told = f":warning: `{connection.label}`: {problem[0]} Its leads have stopped. {problem[1]}"
    if told:
        await notify(
            services,
            team_id=connection.team_id,
            user_ids=[connection.owner_user_id],
            text=told,
            include_installer=True,
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    return f"{round(seconds / 60)} min"
