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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import connections, routing
from bot.leads import Lead
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
from storage.batching import GroupCommit
from storage.db import transaction
from storage.models import Connection, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=10)
CLAIM_BATCH = 500
# Claiming the next batch while one is being polled keeps the HTTP client busy; two batches
# (1,000 polls) in flight is five times the client's global bound, so it never waits on a claim.
BATCHES_IN_FLIGHT = 2
MAX_BATCHES = 40  # per tick: 20,000 connections; anything left is due again at the next tick
MAX_BACKOFF = timedelta(minutes=30)
ERROR_AFTER_FAILURES = 3


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


@dataclass(frozen=True)
class Polled:
    """One successful poll, waiting to be written with the others that finished around it."""

    lease: polling.Lease
    connection: Connection
    subs: list[Subscription]
    leads: list[Lead]
    now: datetime
    next_run_at: datetime
    requests: int


class Poller:
    """One per process; `tick()` is what the scheduler calls."""

    def __init__(self, services: Services, *, owner: str | None = None, lookback: timedelta = LOOKBACK) -> None:
        self.services = services
        self.owner = owner or f"poller-{secrets.token_hex(4)}"
        self.lookback = lookback
        # Set when the process shuts down: finish the batches in hand, claim no more.
        self.stopping = False
        # A cycle over thousands of connections writes its outcomes in shared transactions, not one each.
        self._results: GroupCommit[Polled, routing.Routed | None] = GroupCommit(
            services.sessions, self._write_results, linger=0.005, max_items=500
        )

    async def tick(self) -> PollReport:
        """Poll every due connection, claiming them in batches (bounded per tick)."""
        report = PollReport()
        slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        running: list[asyncio.Task[None]] = []
        try:
            for _ in range(MAX_BATCHES):
                await slots.acquire()
                now = utcnow()
                leases = [] if self.stopping else await self._claim(now)
                if not leases:
                    slots.release()
                    break
                task = asyncio.create_task(self._poll_batch(leases, now, report))
                task.add_done_callback(lambda _: slots.release())
                running.append(task)
                if len(leases) < CLAIM_BATCH:
                    break
        finally:
            await asyncio.gather(*running)
        return report

    async def aclose(self) -> None:
        await self._results.aclose()

    async def _claim(self, now: datetime) -> list[polling.Lease]:
        async with transaction(self.services.sessions) as session:
            return await polling.claim_due(
                session,
                owner=self.owner,
                now=now,
                lease=timedelta(seconds=self.services.settings.poll_lease_seconds),
                limit=CLAIM_BATCH,
            )

    async def _poll_batch(self, leases: list[polling.Lease], now: datetime, report: PollReport) -> None:
        ids = [lease.connection_id for lease in leases]
        async with self.services.sessions() as session:
            conns = await connection_store.get_connections(session, connection_ids=ids)
            subs = await subscriptions.active_for_connections(session, connection_ids=ids)
            used = await connection_store.requests_on(session, connection_ids=ids, day=now.date())
        by_connection: defaultdict[int, list[Subscription]] = defaultdict(list)
        for sub in subs:
            by_connection[sub.connection_id].append(sub)
        await asyncio.gather(
            *(
                self._poll(lease, conns[lease.connection_id], by_connection[lease.connection_id], now, used, report)
                for lease in leases
                if lease.connection_id in conns
            )
        )

    async def _poll(
        self,
        lease: polling.Lease,
        connection: Connection,
        subs: list[Subscription],
        now: datetime,
        used: dict[int, int],
        report: PollReport,
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
        delay = self._delay(connection, now, walk.requests, used.get(lease.connection_id, 0) + walk.requests, lease)
        routed = await self._results.submit(
            Polled(lease, connection, subs, walk.leads, now, now + delay, walk.requests)
        )
        if routed is None:
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

    async def _write_results(self, session: AsyncSession, batch: Sequence[Polled]) -> list[routing.Routed | None]:
        """Advance each cursor (fenced by its lease) and enqueue its deliveries; None where the lease was lost."""
        held = await polling.finish_many(
            session, [(item.lease, item.now, item.next_run_at, item.requests) for item in batch]
        )
        results: list[routing.Routed | None] = []
        for item in batch:
            if item.lease.connection_id not in held:
                results.append(None)  # nothing of this poll was written, and nothing more may be
                continue
            results.append(await routing.route(session, subs=item.subs, leads=item.leads, now=item.now))
            if item.connection.status == "error":
                await connection_store.set_status(session, connection_id=item.lease.connection_id, status="ok")
        return results

    def _delay(
        self, connection: Connection, now: datetime, requests_per_poll: int, used_today: int, lease: polling.Lease
    ) -> timedelta:
        seconds = poll_delay(
            now=now,
            min_interval=self.services.settings.poll_min_interval_seconds,
            quota=connection.daily_quota,
            used_today=used_today,
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
