"""lead_claims on SQLite and PostgreSQL: one winner however many press at once, compare-and-set
releases and hand-overs, a claim taken mid-send redrawn after it, and what speed to lead reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import claims, outbox
from storage.crypto import Cipher
from storage.db import make_engine, make_sessionmaker, transaction
from storage.types import utcnow
from tests.support.constants import ENCRYPTION_KEY
from tests.support.rows import subscribed_channels

T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Workspace T1: one connection, #leads (C1) and #sales (C2) subscribed; lead 1 posted in both."""
    engine = make_engine(database_url, cipher=Cipher([ENCRYPTION_KEY]))
    made = make_sessionmaker(engine)
    await subscribed_channels(made, channels=("C1", "C2"), start_at=T0 - timedelta(days=1))
    await post(made, lead_id=1, at={1: T0, 2: T0 + timedelta(seconds=40)})
    yield made
    await engine.dispose()


async def post(
    sessions: async_sessionmaker[AsyncSession], *, lead_id: int, at: dict[int, datetime | None], status: str = "sent"
) -> None:
    """The lead's card posted by subscription → at that time (None: not posted yet)."""
    rows = [
        {
            "subscription_id": sub,
            "team_id": "T1",
            "channel_id": f"C{sub}",
            "lead_id": lead_id,
            "lead_json": f'{{"lead_id": {lead_id}, "lead_source": "google"}}',
            "lead_updated_at": T0,
            "status": status if sent else "pending",
            "next_attempt_at": T0,
            "created_at": T0,
            "sent_at": sent,
            "message_ts": f"{lead_id}.{sub}" if sent else None,
        }
        for sub, sent in at.items()
    ]
    async with transaction(sessions) as session:
        await outbox.upsert(session, rows)


async def take(sessions: async_sessionmaker[AsyncSession], user: str, lead_id: int = 1) -> claims.Taken:
    async with transaction(sessions) as session:
        arrived = await claims.first_card_at(session, team_id="T1", lead_id=lead_id)
        assert arrived is not None
        return await claims.take(session, team_id="T1", lead_id=lead_id, user_id=user, arrived_at=arrived, now=utcnow())


async def test_presses_at_the_same_instant_have_one_winner(sessions, database_url: str) -> None:  # type: ignore[no-untyped-def]
    # Two engines: two processes, each with its own connections, as the web processes would be.
    other = make_engine(database_url, cipher=Cipher([ENCRYPTION_KEY]))
    try:
        pools = [sessions, make_sessionmaker(other)]
        users = [f"U{n:02d}" for n in range(12)]
        outcomes = await asyncio.gather(*(take(pools[i % 2], user) for i, user in enumerate(users)))
    finally:
        await other.dispose()

    winners = [user for user, taken in zip(users, outcomes, strict=True) if taken.won]
    assert len(winners) == 1
    assert {taken.claim.claimed_by for taken in outcomes} == set(winners)  # the losers all read the winner
    async with sessions() as session:
        claim = await claims.get(session, team_id="T1", lead_id=1)
    assert claim is not None and claim.claimed_by == claim.first_claimed_by == winners[0]
    assert claim.arrived_at == T0  # the first card of the lead, whichever channel it was in


async def test_release_and_hand_over_apply_only_while_the_holder_is_who_was_read(sessions) -> None:  # type: ignore[no-untyped-def]
    await take(sessions, "U1")
    async with transaction(sessions) as session:
        stale = await claims.release(session, team_id="T1", lead_id=1, holder="U9", now=utcnow())
        moved = await claims.hand_over(session, team_id="T1", lead_id=1, holder="U1", to="U2", now=utcnow())
        late = await claims.hand_over(session, team_id="T1", lead_id=1, holder="U1", to="U3", now=utcnow())
    assert stale is None and late is None
    assert moved is not None and (moved.claimed_by, moved.first_claimed_by) == ("U2", "U1")

    async with transaction(sessions) as session:
        released = await claims.release(session, team_id="T1", lead_id=1, holder="U2", now=utcnow())
    assert released is not None and released.claimed_by is None and released.claimed_at is None
    assert released.first_claimed_by == "U1"

    again = await take(sessions, "U3")  # free again: anyone may take it; the first claim stays
    assert again.won and (again.claim.claimed_by, again.claim.first_claimed_by) == ("U3", "U1")


async def test_a_claim_taken_while_its_card_is_being_sent_is_drawn_after_that_send(sessions) -> None:  # type: ignore[no-untyped-def]
    async def sender_claims() -> list[int]:
        async with transaction(sessions) as session:
            rows = await outbox.claim(
                session, owner="s1", now=utcnow(), limit=10, per_channel=2, ttl=timedelta(seconds=30)
            )
        return sorted(d.id or 0 for d in rows)

    async def sender_marks(ids: list[int]) -> None:
        async with transaction(sessions) as session:
            for delivery_id in ids:
                row = await outbox.get_delivery(session, delivery_id=delivery_id)
                assert row is not None
                await outbox.mark_sent(
                    session, delivery_id=delivery_id, owner="s1", ts=None, now=utcnow(), shown_json=row.lead_json
                )

    async with transaction(sessions) as session:  # something asks for a redraw: both cards are due edits
        assert await claims.refresh_cards(session, team_id="T1", lead_id=1, now=utcnow()) == 2
    in_flight = await sender_claims()
    assert len(in_flight) == 2

    taken = await take(sessions, "U2")  # after the sender read the claims, before it marks
    async with transaction(sessions) as session:
        assert await claims.refresh_cards(session, team_id="T1", lead_id=1, now=utcnow()) == 2
    await sender_marks(in_flight)

    assert taken.won
    assert await sender_claims() == in_flight  # due again: the next edit draws the claim
    await sender_marks(in_flight)
    assert await sender_claims() == []  # nothing asked for since: drawn once, done


async def test_posted_leads_and_the_unclaimed_oldest_first(sessions) -> None:  # type: ignore[no-untyped-def]
    await post(sessions, lead_id=2, at={1: T0 + timedelta(minutes=5)})
    await post(sessions, lead_id=3, at={2: T0 + timedelta(minutes=2)})
    await post(sessions, lead_id=4, at={1: None})  # still waiting to be posted: not a card yet
    await post(sessions, lead_id=5, at={1: T0 + timedelta(minutes=1)}, status="summarized")  # a summary line only
    await take(sessions, "U1", lead_id=3)

    async with sessions() as session:
        posted = await claims.posted_leads(session, team_id="T1", since=T0, until=T0 + timedelta(hours=1))
        later = await claims.posted_leads(
            session, team_id="T1", since=T0 + timedelta(seconds=1), until=T0 + timedelta(hours=1)
        )
        total, oldest = await claims.unclaimed(session, team_id="T1", limit=1)
        _, both = await claims.unclaimed(session, team_id="T1", limit=10)

    assert [(p.lead_id, p.arrived_at) for p in posted] == [
        (1, T0), (3, T0 + timedelta(minutes=2)), (2, T0 + timedelta(minutes=5)),
    ]  # fmt: skip
    assert [p.lead_id for p in later] == [3, 2]  # lead 1 arrived before (its second card doesn't count)
    assert total == 2 and [(w.lead_id, w.channel_id, w.message_ts) for w in oldest] == [(1, "C1", "1.1")]
    assert [(w.lead_id, w.arrived_at) for w in both] == [(1, T0), (2, T0 + timedelta(minutes=5))]
