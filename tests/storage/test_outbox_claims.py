"""Claims: every channel's next post before any channel's second, and a channel another sender
has in flight is left to it (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import outbox
from storage.crypto import Cipher
from storage.db import make_engine, make_sessionmaker, transaction
from storage.types import utcnow
from tests.support.constants import ENCRYPTION_KEY
from tests.support.rows import subscribed_channels

CHANNELS = ("C1", "C2", "C3")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, cipher=Cipher([ENCRYPTION_KEY]))
    sessions = make_sessionmaker(engine)
    subs = await subscribed_channels(sessions, channels=CHANNELS, start_at=utcnow() - timedelta(days=1))
    async with transaction(sessions) as session:
        # Channel by channel, as a poll of one key per channel would write them: C1's five first.
        now = utcnow()
        rows = [
            {
                "subscription_id": sub.id,
                "team_id": "T1",
                "channel_id": sub.channel_id,
                "lead_id": lead,
                "lead_json": "{}",
                "lead_updated_at": now,
                "status": "pending",
                "next_attempt_at": now,
                "created_at": now,
            }
            for sub in subs
            for lead in range(5)
        ]
        await outbox.upsert(session, rows)
    yield sessions
    await engine.dispose()


async def claim(sessions: async_sessionmaker[AsyncSession], owner: str, limit: int) -> list[str]:
    async with transaction(sessions) as session:
        claimed = await outbox.claim(
            session, owner=owner, now=utcnow(), limit=limit, per_channel=2, ttl=timedelta(seconds=30)
        )
    return sorted(d.channel_id for d in claimed)


async def test_a_small_claim_serves_every_channel_before_any_channel_twice(sessions) -> None:  # type: ignore[no-untyped-def]
    assert await claim(sessions, "sender-a", limit=3) == ["C1", "C2", "C3"]


async def test_a_channel_in_flight_in_another_sender_is_left_to_it(sessions) -> None:  # type: ignore[no-untyped-def]
    first = await claim(sessions, "sender-a", limit=2)
    second = await claim(sessions, "sender-b", limit=10)
    again = await claim(sessions, "sender-a", limit=10)

    assert first == ["C1", "C2"]
    assert second == ["C3", "C3"]  # C1 and C2 are sender-a's until its posts are done
    assert again == ["C1", "C1", "C2", "C2"]  # its own channels stay open to sender-a


async def test_upsert_counts_new_and_changed_leads_but_not_unchanged_ones(sessions) -> None:  # type: ignore[no-untyped-def]
    # The poll's report (and so its "cards edited" figure) is this count; asyncpg's rowcount for a
    # many-row statement is -1, which read as "nothing changed" on PostgreSQL.
    async with transaction(sessions) as session:
        known = await outbox.known_leads(session, subscription_ids=[1, 2, 3], lead_ids=[0, 1])
        later = utcnow() + timedelta(minutes=40)
        base = {"team_id": "T1", "lead_json": "{}", "status": "pending", "next_attempt_at": later, "created_at": later}
        rows = [
            {**base, "subscription_id": sub, "channel_id": channel, "lead_id": lead, "lead_updated_at": later}
            for sub, channel in ((1, "C1"), (2, "C2"))
            for lead in (0, 1)
        ]
        changed = await outbox.upsert(session, rows)
        again = await outbox.upsert(session, rows)
        new = await outbox.upsert(session, [{**rows[0], "lead_id": 99}, {**rows[1], "lead_id": 98}])
    assert len(known) == 6
    assert (changed, again, new) == (4, 0, 2)
