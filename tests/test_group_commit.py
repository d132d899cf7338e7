"""Group commit: writes arriving together share one transaction, each caller gets its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.batching import GroupCommit
from storage.db import make_engine, make_sessionmaker


@pytest.fixture
async def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url, cipher=None)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE gc_items (n INTEGER PRIMARY KEY)"))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def count(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM gc_items"))).scalar_one())


async def test_a_burst_is_one_transaction_and_each_caller_gets_its_result(sessions) -> None:  # type: ignore[no-untyped-def]
    batches: list[list[int]] = []

    async def write(session: AsyncSession, items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await session.execute(text("INSERT INTO gc_items (n) VALUES (:n)"), [{"n": n} for n in items])
        return [n * 10 for n in items]

    group: GroupCommit[int, int] = GroupCommit(sessions, write, linger=0.01)
    results = await asyncio.gather(*(group.submit(n) for n in range(50)))
    await group.aclose()

    assert results == [n * 10 for n in range(50)]
    assert len(batches) == 1 and sorted(batches[0]) == list(range(50))
    assert await count(sessions) == 50


async def test_max_linger_waits_for_items_still_arriving(sessions) -> None:  # type: ignore[no-untyped-def]
    batches: list[list[int]] = []

    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        batches.append(list(items))

    async def trickle(group: GroupCommit[int, None]) -> None:
        async def late(n: int) -> None:
            await asyncio.sleep(n * 0.003)  # one item every 3 ms
            await group.submit(n)

        await asyncio.gather(*(late(n) for n in range(6)))

    quick: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.004)
    await trickle(quick)
    await quick.aclose()
    split = len(batches)
    batches.clear()
    patient: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.004, max_linger=0.2)
    await trickle(patient)
    await patient.aclose()

    assert split > 1  # a fixed linger cuts the trickle into several transactions
    assert batches == [[0, 1, 2, 3, 4, 5]]


async def test_a_failed_batch_fails_each_caller_and_writes_nothing(sessions) -> None:  # type: ignore[no-untyped-def]
    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        await session.execute(text("INSERT INTO gc_items (n) VALUES (:n)"), [{"n": n} for n in items])
        raise RuntimeError("disk on fire")

    group: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.01)
    outcomes = await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)
    await group.aclose()

    assert [type(o) for o in outcomes] == [RuntimeError] * 3
    assert await count(sessions) == 0
