"""The poller: claim due connections, fetch their new leads once, enqueue deliveries, advance cursors.

Each tick leases due connections in the database (SKIP LOCKED on PostgreSQL), makes one
`GET /leads` walk per connection over [cursor - lookback, now] (oldest first, all pages; every
`UPDATE_SWEEP_SECONDS` over the last `UPDATE_SWEEP_HOURS` instead, see `poll_plan`), matches
leads to that connection's active subscriptions locally, and in ONE transaction advances the
cursor (fenced by the lease version) and inserts the deliveries (unique per subscription and
lead, so the overlap never enqueues twice; a lead seen changed edits its cards).
The next poll is planned from the key's budget: every connection of one API key, in any
workspace, spends one quota.

Whatever goes wrong in one connection's poll stays that connection's (`poll_failures`), and the
other polls of its batch, written in the same transaction, go on without it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import lead_problems, poll_failures, poll_plan, routing, webhook_trust
from bot.connect import credentials, scope_refresh
from bot.connect import service as connections
from bot.services import Services
from bot.whatconverts import scopes
from bot.whatconverts.leads import Lead
from bot.whatconverts.quota import KeyBudget, key_budget
from storage import connections as connection_store
from storage import polling, subscriptions, webhook_sources
from storage import scopes as scope_store
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


@dataclass
class PollReport:
    polled: int = 0
    leads: int = 0
    enqueued: int = 0
    updated: int = 0
    failed: int = 0
    lost: int = 0
    requests: int = 0
    sweeps: int = 0
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
    skipped: int = 0  # leads without a usable lead_id
    sweep: polling.Sweep | None = None  # the sweep state this poll changed
    trusted: frozenset[scopes.Source] = frozenset()  # pairs whose webhooks are trusted to bring new leads
    next_if_missed: datetime | None = None  # when to poll instead should one of them turn out to miss a lead


@dataclass(frozen=True)
class Known:
    """What a batch's polls need to know beyond their leases, read once per batch."""

    used: dict[str, int]  # requests made today, by key identity
    webhooks: dict[int, set[scopes.Source]]  # (account, profile) pairs trusted to bring new leads
    scope_checks: dict[int, tuple[datetime | None, datetime | None]]


# What became of one poll in the shared write: routed, its lease lost (None), or failed on its own.
Written = routing.Routed | Exception | None


class Poller:
    """One per process; `tick()` is what the scheduler calls."""

    def __init__(self, services: Services, *, owner: str | None = None, lookback: timedelta = LOOKBACK) -> None:
        self.services = services
        self.owner = owner or f"poller-{secrets.token_hex(4)}"
        self.lookback = lookback
        # Set when the process shuts down: finish the batches in hand, claim no more.
        self.stopping = False
        # A cycle over thousands of connections writes its outcomes in shared transactions, not one each.
        self._results: GroupCommit[Polled, Written] = GroupCommit(
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
            # The quota is the key's: count and plan over every connection using it, in any workspace.
            key_ids = {c.key_id for c in conns.values()}
            known = Known(
                used=await connection_store.requests_on(session, key_ids=key_ids, day=now.date()),
                webhooks=await webhook_trust.trusted(session, self.services.settings, connection_ids=ids, now=now),
                scope_checks=await scope_store.last_checks(session, connection_ids=ids),
            )
            members = await connection_store.key_members(session, key_ids=key_ids)
        share = self.services.settings.whatconverts_quota_share
        budgets: dict[str, KeyBudget] = {}
        for c in conns.values():
            if c.key_id not in budgets:
                of_key = members.get(c.key_id, [])
                budgets[c.key_id] = key_budget(of_key, default_share=share, fallback_quota=c.daily_quota)
        by_connection: defaultdict[int, list[Subscription]] = defaultdict(list)
        for sub in subs:
            by_connection[sub.connection_id].append(sub)
        await asyncio.gather(
            *(
                self._poll(
                    lease,
                    conns[lease.connection_id],
                    by_connection[lease.connection_id],
                    now,
                    known,
                    budgets[conns[lease.connection_id].key_id],
                    report,
                )
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
        known: Known,
        budget: KeyBudget,
        report: PollReport,
    ) -> None:
        services = self.services
        settings = services.settings
        now = now.replace(microsecond=0)  # the API's dates have whole seconds
        sweep = poll_plan.is_sweep(lease, now)
        hours = settings.update_sweep_hours
        start = poll_plan.window_start(lease, now, lookback=self.lookback, sweep=sweep, hours=hours)
        report.polled += 1
        try:
            walk = await credentials.call_api(
                services,
                connection,
                lambda creds: services.wc.walk_leads(creds, start=start, end=now),
                requests=lambda result: result.requests,
            )
            leads = [lead for lead in walk.leads if routing.storable(lead)]
            skipped = walk.unparseable + len(walk.leads) - len(leads)
            refreshed_at = known.scope_checks.get(lease.connection_id, (None, None))[0]
            scope_requests = await scope_refresh.after_poll(
                services, connection, leads, now=now, refreshed_at=refreshed_at
            )
            used_today = known.used.get(connection.key_id, 0) + walk.requests + scope_requests
            trusted = known.webhooks.get(lease.connection_id, set())
            delay = self._delay(connection, budget, now, lease, sweep, walk.requests, used_today, trusted)
            # Planned now, when the budget is at hand; used if the write finds the webhooks missed a lead.
            untrusted = (
                self._delay(connection, budget, now, lease, sweep, walk.requests, used_today, set())
                if trusted
                else delay
            )
            changed = poll_plan.next_sweep(
                lease, now, sweep=sweep, requests=walk.requests, every_seconds=settings.update_sweep_seconds
            )
            routed = await self._results.submit(
                Polled(
                    lease,
                    connection,
                    subs,
                    leads,
                    now,
                    now + delay,
                    walk.requests,
                    skipped,
                    changed,
                    frozenset(trusted),
                    now + untrusted if untrusted < delay else None,
                )
            )
        except Exception as exc:  # the poll's error boundary: any fault is this connection's alone
            routed = exc
        if isinstance(routed, Exception):
            report.failed += 1
            report.errors.append(type(routed).__name__)
            services.metrics.poll_errors.labels(type(routed).__name__).inc()
            try:
                await poll_failures.handle(services, lease, connection, routed, now)
            except (SQLAlchemyError, OSError) as exc:  # the database itself is away: the lease runs out instead
                log.warning("couldn't record the failed poll of connection %s: %s", lease.connection_id, exc)
            return
        if routed is None:
            report.lost += 1
            services.metrics.poll_leases_lost.inc()
            log.warning("lost the lease on connection %s; its poll was discarded", lease.connection_id)
            return
        report.leads += len(walk.leads)
        report.sweeps += sweep
        report.enqueued += routed.new
        report.updated += routed.updated
        report.requests += walk.requests
        services.metrics.leads_polled.inc(len(walk.leads))
        services.metrics.deliveries_enqueued.labels("poll").inc(routed.new)

    async def _write_results(self, session: AsyncSession, batch: Sequence[Polled]) -> list[Written]:
        """Write the batch together; if that fails, each poll on its own, so one can't fail the others."""
        unreadable: Counter[str] = Counter()
        try:
            async with session.begin_nested():
                results: list[Written] = await self._write(session, batch, unreadable)
        except Exception as exc:  # whatever it is, it is retried alone below and reported there
            if len(batch) == 1:
                return [exc]
            log.warning("writing %d polls together failed (%s); writing each alone", len(batch), type(exc).__name__)
            unreadable.clear()
            results = []
            for item in batch:
                alone: Counter[str] = Counter()
                try:
                    async with session.begin_nested():
                        results.extend(await self._write(session, [item], alone))
                except Exception as failed:  # this poll's own fault, handled by `poll_failures`
                    results.append(failed)
                    continue
                unreadable.update(alone)
        for name, count in unreadable.items():
            self.services.metrics.lead_fields_unreadable.labels(name).inc(count)
        return results

    async def _write(self, session: AsyncSession, batch: Sequence[Polled], unreadable: Counter[str]) -> list[Written]:
        """Advance each cursor (fenced by its lease) and enqueue its deliveries; None where the lease was lost."""
        held = await polling.finish_many(
            session,
            [(item.lease, item.now, item.next_run_at, item.requests) for item in batch],
            sweeps={item.lease.connection_id: item.sweep for item in batch if item.sweep is not None},
        )
        results: list[Written] = []
        for item in batch:
            if item.lease.connection_id not in held:
                results.append(None)  # nothing of this poll was written, and nothing more may be
                continue
            routed = await routing.route(session, subs=item.subs, leads=item.leads, now=item.now)
            results.append(routed)
            await self._check_webhooks(session, item, routed)
            if item.connection.status == "error":
                await connection_store.set_status(session, connection_id=item.lease.connection_id, status="ok")
            team_id, label = item.connection.team_id, item.connection.label
            unreadable.update(
                await lead_problems.record_unreadable(session, team_id=team_id, label=label, leads=item.leads)
            )
            await lead_problems.record_skipped(session, team_id=team_id, label=label, count=item.skipped, now=item.now)
        return results

    async def _check_webhooks(self, session: AsyncSession, item: Polled, routed: routing.Routed) -> None:
        """Leads this poll saw first that a trusted webhook should have brought: stop trusting it."""
        missed = webhook_trust.misses(routed.first, item.trusted, key_type=item.connection.key_type, now=item.now)
        if not missed:
            return
        connection_id = item.lease.connection_id
        await webhook_sources.missed(session, connection_id=connection_id, sources=missed, at=item.now)
        if item.next_if_missed is not None:
            await polling.reschedule(session, connection_id=connection_id, next_run_at=item.next_if_missed)
        self.services.metrics.webhook_misses.inc(len(missed))
        log.warning(
            "connection %s: a poll found leads its webhooks didn't bring (%s); polling at the normal pace",
            connection_id,
            ", ".join(f"profile {profile}" for _, profile in sorted(missed)),
        )

    def _delay(
        self,
        connection: Connection,
        budget: KeyBudget,
        now: datetime,
        lease: polling.Lease,
        sweep: bool,
        requests: int,
        used_today: int,
        trusted: set[scopes.Source],
    ) -> timedelta:
        """Within the key's quota share (sweeps included); only a backstop while every profile sends webhooks."""
        covered = scopes.coverage(connection.key_type, connections.scope_of(connection), trusted).complete
        seconds = poll_plan.poll_seconds(
            self.services.settings,
            now=now,
            quota=budget.quota,
            share=budget.share,
            sharing=budget.sharing,
            used_today=used_today,
            # What each kind of poll costs: this one's walk, and the last of the other kind.
            poll_requests=lease.last_requests if sweep else requests,
            sweep_requests=requests if sweep else lease.sweep_requests,
            backstop=covered,
        )
        return timedelta(seconds=seconds)
