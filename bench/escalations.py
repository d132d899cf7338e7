"""Escalation sweep: 100,000 posted cards waiting for their deadline (`+sla`), one sweep's database time.

Rows are written directly (100 connections with a subscription each in its own channel, 100,000
posted cards and their open escalations: 99 % due later, 1 % due now, a fifth of those and of the
others with their lead claimed). Then sweeps run as the scheduler's do (`storage.escalations.claim`
with the escalator's batch, in its own transaction): the first closes the claimed ones it meets
and leases the rest; sweeps repeat until nothing is due. Reported, on SQLite and PostgreSQL: the
database time of one sweep (the claim transaction, timed around it), the due query alone
(PostgreSQL: execution time from EXPLAIN ANALYZE), and the index its plan reads.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import insert, select, text

from bench import seed
from bench.common import table
from bench.poll import database
from bot.alerts.escalations import CLAIM_LIMIT
from storage import escalations as store
from storage import migrate
from storage.crypto import Cipher
from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import Delivery, Escalation, LeadClaim, Subscription
from storage.types import utcnow

CARDS = int(os.environ.get("BENCH_ESCALATIONS", "100000"))
CHANNELS = 100
DUE_SHARE = 0.01
CLAIMED_SHARE = 0.2
CHUNK = 5000
TARGET_MS = 1000.0


async def _seed(sessions, now) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The cards, their escalations and claims; returns (due, due and claimed)."""
    await seed.connections(sessions, count=CHANNELS, channels=CHANNELS)
    async with sessions() as session:
        subs = list((await session.execute(select(Subscription.id, Subscription.channel_id))).all())
    rng = random.Random(17)
    due = claimed_due = 0
    for first in range(0, CARDS, CHUNK):
        lead_ids = range(first + 1, min(CARDS, first + CHUNK) + 1)
        deliveries = [
            {"subscription_id": subs[n % len(subs)].id, "team_id": "T1", "channel_id": subs[n % len(subs)].channel_id,
             "lead_id": n, "lead_json": "{}", "status": "sent", "attempts": 0, "next_attempt_at": now,
             "uncertain": False, "needs_update": False, "notes_json": "[]", "message_ts": f"1700000000.{n:06d}",
             "created_at": now, "sent_at": now}
            for n in lead_ids
        ]  # fmt: skip
        async with transaction(sessions) as session:
            result = await session.execute(insert(Delivery).returning(Delivery.id, Delivery.lead_id), deliveries)
            escalations, claims = [], []
            for delivery_id, lead_id in result.all():
                is_due = rng.random() < DUE_SHARE
                at = (
                    now - timedelta(seconds=rng.randint(1, 600))
                    if is_due
                    else now + timedelta(minutes=rng.randint(1, 120))
                )
                escalations.append(
                    {"delivery_id": delivery_id, "team_id": "T1", "lead_id": lead_id, "state": "open", "step": 0,
                     "due_at": at, "posted_at": at - timedelta(minutes=5), "attempts": 0, "uncertain": False}
                )  # fmt: skip
                if rng.random() < CLAIMED_SHARE:
                    claims.append(
                        {"team_id": "T1", "lead_id": lead_id, "claimed_by": "U1", "claimed_at": now,
                         "first_claimed_by": "U1", "first_claimed_at": now, "arrived_at": now, "updated_at": now}
                    )  # fmt: skip
                    claimed_due += is_due
                due += is_due
            await session.execute(insert(Escalation), escalations)
            if claims:
                await session.execute(insert(LeadClaim), claims)
    return due, claimed_due


async def sweep(engine: str) -> dict:
    async with database(engine) as url:
        await asyncio.to_thread(migrate.upgrade, url)
        db = make_engine(url, cipher=Cipher([Fernet.generate_key().decode()]))
        sessions = make_sessionmaker(db)
        try:
            now = utcnow()
            due, claimed_due = await _seed(sessions, now)
            async with db.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
                query = store.due(now=utcnow(), limit=CLAIM_LIMIT)
                compiled = query.compile(db.sync_engine, compile_kwargs={"literal_binds": True})
                if engine == "postgres":
                    plan = [r[0] for r in (await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))).all()]
                    query_ms = float(next(line for line in plan if "Execution Time" in line).split()[-2])
                else:
                    plan = [str(r[-1]) for r in (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()]
                    start = time.perf_counter()
                    await conn.execute(query)
                    query_ms = (time.perf_counter() - start) * 1000
                await conn.rollback()
            times, leased, closed = [], 0, 0
            while True:
                start = time.perf_counter()
                async with transaction(sessions) as session:
                    got, shut = await store.claim(
                        session,
                        owner="bench",
                        now=utcnow(),
                        limit=CLAIM_LIMIT,
                        lease_until=utcnow() + timedelta(hours=1),
                    )
                times.append((time.perf_counter() - start) * 1000)
                leased, closed = leased + len(got), closed + shut
                if not got and not shut:
                    break
        finally:
            await db.dispose()
    return {
        "due": due, "claimed_due": claimed_due, "leased": leased, "closed": closed, "first_ms": times[0],
        "max_ms": max(times), "median_ms": statistics.median(times[:-1] or times), "sweeps": len(times) - 1,
        "query_ms": query_ms,
        "index": "ix_escalations_open_due" in " ".join(plan), "plan": plan,
    }  # fmt: skip


def run() -> str:
    parts = []
    for engine in ("sqlite", "postgres"):
        r = asyncio.run(sweep(engine))
        rows = [
            ("open escalations", f"{CARDS:,} ({r['due']:,} due, {r['claimed_due']:,} of these claimed)", ""),
            ("first sweep (claim transaction)", f"{r['first_ms']:.1f} ms", f"≤ {TARGET_MS:.0f} ms"),
            (f"sweeps to drain the due ones ({CLAIM_LIMIT} each)", f"{r['sweeps']}: median {r['median_ms']:.1f} ms, "
             f"max {r['max_ms']:.1f} ms", f"≤ {TARGET_MS:.0f} ms each"),
            ("closed as claimed / leased to send", f"{r['closed']:,} / {r['leased']:,}",
             f"{r['claimed_due']:,} / {r['due'] - r['claimed_due']:,}"),
            ("due query alone" + (" (EXPLAIN ANALYZE)" if engine == "postgres" else ""), f"{r['query_ms']:.2f} ms", ""),
            ("plan reads the partial index", "yes" if r["index"] else "NO: " + " / ".join(r["plan"])[:200], "yes"),
        ]  # fmt: skip
        parts.append(f"## Escalation sweep ({engine})\n\n" + table(rows, ["measure", "value", "target"]))
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(run())
