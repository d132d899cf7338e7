"""The poller: claim due connections, fetch their new leads once, enqueue deliveries, advance cursors.

Each tick leases due connections in the database (SKIP LOCKED on PostgreSQL), makes one
`GET /leads` walk per connection over [cursor - lookback, now] (oldest first, all pages),
matches leads to that connection's active subscriptions locally, and in ONE transaction
advances the cursor (fenced by the lease version) and inserts the deliveries (unique per
subscription and lead, so the lookback overlap never enqueues twice).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import connections, routing
from bot.quota import next_reset, poll_delay
from bot.services import Services
from bot.whatconverts import (
    WhatConvertsAuthError,
    WhatConvertsError,
    WhatConvertsForbidden,
    WhatConvertsQuotaExceeded,
)
from storage import connections as connection_store
from storage import polling, problems, subscriptions
from storage.db import transaction
from storage.models import Connection, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=10)
CLAIM_BATCH = 500
MAX_BACKOFF = timedelta(minutes=30)
ERROR_AFTER_FAILURES = 3


class LeaseLost(Exception):
    """Our lease expired and someone else polled this connection; drop this poll's work."""


@dataclass
class PollReport:
    polled: int = 0
    leads: int = 0
    enqueued: int = 0
    updated: int = 0
    failed: int = 0
    lost: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


class Poller:
    """One per process; `tick()` is what the scheduler calls."""

    def __init__(self, services: Services, *, owner: str | None = None, lookback: timedelta = LOOKBACK) -> None:
        self.services = services
        self.owner = owner or f"poller-{secrets.token_hex(4)}"
        self.lookback = lookback

    async def tick(self) -> PollReport:
        report = PollReport()
        now = utcnow()
        async with transaction(self.services.sessions) as session:
            leases = await polling.claim_due(
                session,
                owner=self.owner,
                now=now,
                lease=timedelta(seconds=self.services.settings.poll_lease_seconds),
                limit=CLAIM_BATCH,
            )
        if not leases:
            return report
        ids = [lease.connection_id for lease in leases]
        async with self.services.sessions() as session:
            conns = await connection_store.get_connections(session, connection_ids=ids)
            subs = await subscriptions.active_for_connections(session, connection_ids=ids)
        by_connection: defaultdict[int, list[Subscription]] = defaultdict(list)
        for sub in subs:
            by_connection[sub.connection_id].append(sub)
        await asyncio.gather(
            *(
                self._poll(lease, conns[lease.connection_id], by_connection[lease.connection_id], now, report)
                for lease in leases
                if lease.connection_id in conns
            )
        )
        return report

    async def _poll(
        self, lease: polling.Lease, connection: Connection, subs: list[Subscription], now: datetime, report: PollReport
    ) -> None:
        services = self.services
        now = now.replace(microsecond=0)  # the API's dates have whole seconds
        start = (lease.cursor or now) - self.lookback
        report.polled += 1
        try:
            walk = await connections.call_api(
                services,
                connection,
                lambda creds: services.wc.walk_leads(creds, start=start, end=now),
                requests=lambda result: result.requests,
            )
        except WhatConvertsError as exc:
            await self._failed(lease, connection, exc, now, report)
            return
        delay = await self._delay(connection, now, walk.requests, lease)
        try:
            async with transaction(services.sessions) as session:
                if not await polling.finish(
                    session, lease, cursor=now, next_run_at=now + delay, now=now, requests=walk.requests
                ):
                    raise LeaseLost()
                routed = await routing.route(session, subs=subs, leads=walk.leads, now=now)
                if connection.status == "error":
                    await connection_store.set_status(session, connection_id=lease.connection_id, status="ok")
        except LeaseLost:
            report.lost += 1
            services.metrics.poll_leases_lost.inc()
            log.warning("lost the lease on connection %s; its poll was discarded", lease.connection_id)
            return
        report.leads += len(walk.leads)
        report.enqueued += routed.new
        report.updated += routed.updated
        report.requests += walk.requests
        services.metrics.leads_polled.inc(len(walk.leads))
        services.metrics.deliveries_enqueued.labels("poll").inc(routed.new)

    async def _delay(
        self, connection: Connection, now: datetime, requests_per_poll: int, lease: polling.Lease
    ) -> timedelta:
        async with self.services.sessions() as session:
            used = (
                await connection_store.requests_on(session, connection_ids=[connection.id or 0], day=now.date())
            ).get(connection.id or 0, 0)
        seconds = poll_delay(
            now=now,
            min_interval=self.services.settings.poll_min_interval_seconds,
            quota=connection.daily_quota,
            used_today=used,
            requests_per_poll=requests_per_poll,
        )
        settings = self.services.settings
        if lease.last_webhook_at and now - lease.last_webhook_at < timedelta(minutes=settings.webhook_fresh_minutes):
            # Leads arrive instantly by webhook; polling is only the backstop for what a webhook missed.
            seconds = max(seconds, settings.backstop_poll_minutes * 60)
        return timedelta(seconds=seconds)

    async def _failed(
        self, lease: polling.Lease, connection: Connection, exc: WhatConvertsError, now: datetime, report: PollReport
    ) -> None:
        services = self.services
        report.failed += 1
        report.errors.append(type(exc).__name__)
        services.metrics.poll_errors.labels(type(exc).__name__).inc()
        failures = lease.failures + 1
        status: str | None = None
        problem: tuple[str, str] | None = None
        if isinstance(exc, WhatConvertsQuotaExceeded):
            # Back off this key only: until Retry-After when given, else until the daily reset.
            next_run = now + timedelta(seconds=exc.retry_after) if exc.retry_after else next_reset(now)
            if not exc.retry_after:
                problem = ("WhatConverts' daily API limit for this key is used up.", "Polling resumes at midnight UTC.")
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
        async with transaction(services.sessions) as session:
            if not await polling.finish(
                session, lease, cursor=None, next_run_at=next_run, now=now, requests=1, error=exc.message
            ):
                return
            if status and connection.status != status:
                await connection_store.set_status(
                    session, connection_id=lease.connection_id, status=status, error=exc.message
                )
                if problem is None and status == "error":
                    problem = (
                        f"Polling WhatConverts failed {failures} times in a row ({exc.message}).",
                        "We keep retrying with backoff; check status.whatconverts.com if it persists.",
                    )
            if problem:
                await problems.record(
                    session,
                    team_id=connection.team_id,
                    subject=f"connection {connection.label}",
                    message=problem[0],
                    fix=problem[1],
                )
        if status == "needs_reauth" and problem:
            await connections.notify(
                services,
                team_id=connection.team_id,
                user_ids=[connection.owner_user_id],
                text=f":warning: `{connection.label}`: {problem[0]} Its leads have stopped. {problem[1]}",
                include_installer=True,
            )
