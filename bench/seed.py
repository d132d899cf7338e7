"""Bulk rows for scale benchmarks: thousands of connections, subscriptions and waiting deliveries.

Written through the app's own models and engine (so credentials are encrypted as in production),
many rows per transaction; going through `/whatconverts connect` 10,000 times would measure the
set-up, not the product.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts import filters
from storage import outbox
from storage.db import transaction
from storage.models import Connection, Delivery, PollState, Subscription
from storage.types import utcnow

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "whatconverts"
FAR = timedelta(days=365)
CHUNK = 1000


def channel(i: int) -> str:
    return f"C{i:05d}"


def lead(lead_id: int, *, created: datetime, source: str = "Google") -> dict:
    """A real-shaped lead (the phone-call sample) with its own id and time."""
    sample = json.loads((FIXTURES / "leads_page_mixed.json").read_text())["leads"][0]
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**sample, "lead_id": lead_id, "lead_source": source, "date_created": stamp, "last_updated": stamp}


async def connections(
    sessions: async_sessionmaker[AsyncSession],
    *,
    count: int,
    channels: int,
    team_id: str = "T1",
    sources: int = 0,
    first: int = 0,
) -> list[tuple[int, str]]:
    """`count` API-key connections (token `key-<i>`), none due yet. Each has one subscription for
    every lead (channels round robin over `channels`) or, with `sources`, one per source
    (`+source:src<j>`, channel i * sources + j), as an agency routes a key's leads by source.
    Numbering (labels, tokens, channels) starts at `first`. Returns (connection id, token) pairs."""
    everything = filters.to_json(filters.Filters())
    by_source = [filters.to_json(filters.Filters(include=frozenset({("source", f"src{j}")}))) for j in range(sources)]
    created: list[tuple[int, str]] = []
    start = utcnow() - timedelta(days=1)
    for chunk in range(first, first + count, CHUNK):
        async with transaction(sessions) as session:
            rows = [
                Connection(
                    team_id=team_id,
                    label=f"key-{i}",
                    kind="api_key",
                    daily_quota=10**7,
                    # Distinct keys, already identified: the app's own identities need its secret, and
                    # identifying 10,000 seeded rows in the middle of a timed run would skew it.
                    key_id=f"key:bench-{i}",
                    owner_user_id="U1",
                    api_token=f"key-{i}",
                    api_secret=f"secret-{i}",
                )
                for i in range(chunk, min(first + count, chunk + CHUNK))
            ]
            session.add_all(rows)
            await session.flush()
            for i, row in enumerate(rows, start=chunk):
                assert row.id is not None
                routes = [(channel(i * sources + j), rules) for j, rules in enumerate(by_source)]
                for channel_id, rules in routes or [(channel(i % channels), everything)]:
                    session.add(
                        Subscription(
                            team_id=team_id,
                            connection_id=row.id,
                            channel_id=channel_id,
                            filters_json=rules,
                            created_by="U1",
                            start_at=start,
                        )
                    )
                session.add(PollState(connection_id=row.id, next_run_at=utcnow() + FAR, cursor=utcnow()))
                created.append((row.id, f"key-{i}"))
    return created


async def make_due(sessions: async_sessionmaker[AsyncSession]) -> datetime:
    """Every connection due now (the start of a measured cycle)."""
    now = utcnow()
    async with transaction(sessions) as session:
        await session.execute(update(PollState).values(next_run_at=now, cursor=now))
    return now


async def deliveries(sessions: async_sessionmaker[AsyncSession], *, count: int, first_lead: int = 1) -> None:
    """`count` new leads spread round robin over the existing subscriptions, waiting (not due yet)."""
    async with sessions() as session:
        subs = list((await session.execute(Subscription.__table__.select().order_by(Subscription.id))).all())
    later = utcnow() + FAR
    for first in range(0, count, CHUNK):
        rows = []
        for n in range(first, min(count, first + CHUNK)):
            sub = subs[n % len(subs)]
            lead_id = first_lead + n
            payload = json.dumps(lead(lead_id, created=utcnow()), separators=(",", ":"))
            rows.append(
                {
                    "subscription_id": sub.id,
                    "team_id": sub.team_id,
                    "channel_id": sub.channel_id,
                    "lead_id": lead_id,
                    "lead_json": payload,
                    "lead_updated_at": utcnow(),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": later,
                    "created_at": utcnow(),
                }
            )
        async with transaction(sessions) as session:
            await outbox.upsert(session, rows)


async def release_deliveries(sessions: async_sessionmaker[AsyncSession]) -> datetime:
    """Every waiting delivery due now (the start of a measured burst)."""
    now = utcnow()
    async with transaction(sessions) as session:
        await session.execute(update(Delivery).where(Delivery.status == "pending").values(next_attempt_at=now))
    return now
