"""webhook_sources on SQLite and PostgreSQL: a pair is fresh after its webhook and not after it missed a lead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import webhook_sources
from storage.crypto import Cipher
from storage.db import make_engine, make_sessionmaker, transaction
from tests.support.constants import ENCRYPTION_KEY
from tests.support.rows import subscribed_channels

T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Connection 1, whose agency key's profiles 10 and 20 (account 1) sent webhooks at T0."""
    engine = make_engine(database_url, cipher=Cipher([ENCRYPTION_KEY]))
    made = make_sessionmaker(engine)
    (sub,) = await subscribed_channels(made, channels=("C1",), start_at=T0)
    async with transaction(made) as session:
        await webhook_sources.record(session, connection_id=sub.connection_id, sources=[(1, 20), (1, 10)], at=T0)
    yield made
    await engine.dispose()


async def test_a_miss_withholds_only_that_pair_and_only_for_a_while(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        # (1, 30) never sent one: a miss can't make it known.
        await webhook_sources.missed(session, connection_id=1, sources=[(1, 10), (1, 30)], at=T0 + HOUR)
    async with sessions() as session:
        before = await webhook_sources.fresh(session, connection_ids=[1], since=T0)
        trusted = await webhook_sources.fresh(session, connection_ids=[1], since=T0, missed_since=T0)
        later = await webhook_sources.fresh(session, connection_ids=[1], since=T0, missed_since=T0 + 2 * HOUR)
        missed = await webhook_sources.last_missed(session, connection_ids=[1, 2], since=T0)
        forgotten = await webhook_sources.last_missed(session, connection_ids=[1], since=T0 + 2 * HOUR)

    assert before == {1: {(1, 10), (1, 20)}}  # without `missed_since`, freshness alone
    assert trusted == {1: {(1, 20)}}
    assert later == {1: {(1, 10), (1, 20)}}  # the miss is older than what is remembered
    assert missed == {1: T0 + HOUR} and forgotten == {}


async def test_a_new_webhook_keeps_the_miss(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A calls-only webhook keeps sending calls: they mustn't win back trust the forms lost."""
    async with transaction(sessions) as session:
        await webhook_sources.missed(session, connection_id=1, sources=[(1, 10)], at=T0 + HOUR)
    async with transaction(sessions) as session:
        await webhook_sources.record(session, connection_id=1, sources=[(1, 10)], at=T0 + 2 * HOUR)
    async with sessions() as session:
        trusted = await webhook_sources.fresh(session, connection_ids=[1], since=T0 + 2 * HOUR, missed_since=T0)

    assert trusted == {}
