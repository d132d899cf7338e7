"""Group commit: writes arriving together share one transaction, each caller gets its own result,
and no failure (of a write, of the worker itself) leaves a caller waiting forever."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from greenlet import GreenletExit
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.batching import GroupCommit, GroupCommitError
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


@pytest.mark.parametrize("raised", [asyncio.CancelledError, GreenletExit], ids=["CancelledError", "GreenletExit"])
async def test_a_write_failing_past_except_exception_fails_its_callers_and_later_batches_go_on(
    sessions, raised: type[BaseException]
) -> None:  # type: ignore[no-untyped-def]
    # Database drivers raise these out of a dropped connection without anyone cancelling anything.
    calls: list[list[int]] = []

    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        calls.append(list(items))
        if len(calls) == 1:
            raise raised()
        await session.execute(text("INSERT INTO gc_items (n) VALUES (:n)"), [{"n": n} for n in items])

    group: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.01)
    async with asyncio.timeout(10):
        first = await asyncio.gather(group.submit(1), group.submit(2), return_exceptions=True)
        await group.submit(3)
    await group.aclose()

    assert [type(outcome) for outcome in first] == [GroupCommitError, GroupCommitError]
    assert calls == [[1, 2], [3]]
    assert await count(sessions) == 1


async def test_a_write_that_never_returns_is_cut_and_later_batches_go_on(sessions) -> None:  # type: ignore[no-untyped-def]
    hung = asyncio.Event()

    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        if items == [1]:
            hung.set()
            await asyncio.Event().wait()  # a database host that stopped answering
        await session.execute(text("INSERT INTO gc_items (n) VALUES (:n)"), [{"n": n} for n in items])

    group: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.001, timeout=0.3)
    async with asyncio.timeout(10):
        stuck = asyncio.create_task(group.submit(1))
        await hung.wait()
        with pytest.raises(TimeoutError):
            await stuck
        await group.submit(2)
    await group.aclose()

    assert await count(sessions) == 1


async def test_closing_fails_the_callers_still_waiting(sessions) -> None:  # type: ignore[no-untyped-def]
    writing = asyncio.Event()

    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        writing.set()
        await asyncio.sleep(5)

    group: GroupCommit[int, None] = GroupCommit(sessions, write, linger=0.001)
    async with asyncio.timeout(10):
        in_flight = asyncio.create_task(group.submit(1))
        await writing.wait()
        queued = asyncio.create_task(group.submit(2))
        await asyncio.sleep(0)
        await group.aclose()
        outcomes = await asyncio.gather(in_flight, queued, return_exceptions=True)

    assert [type(outcome) for outcome in outcomes] == [GroupCommitError, GroupCommitError]


async def test_a_worker_stopped_from_outside_is_started_again_and_counted(sessions) -> None:  # type: ignore[no-untyped-def]
    writing = asyncio.Event()
    restarts: list[str] = []

    async def write(session: AsyncSession, items: Sequence[int]) -> None:
        if items == [1]:
            writing.set()
            await asyncio.sleep(5)
        await session.execute(text("INSERT INTO gc_items (n) VALUES (:n)"), [{"n": n} for n in items])

    group: GroupCommit[int, None] = GroupCommit(
        sessions, write, linger=0.001, name="items", on_restart=lambda: restarts.append("items")
    )
    async with asyncio.timeout(10):
        in_flight = asyncio.create_task(group.submit(1))
        await writing.wait()
        # Something outside cancels the worker (a library cancelling "all tasks", say).
        next(task for task in asyncio.all_tasks() if task.get_name() == "group-commit:items").cancel()
        with pytest.raises(GroupCommitError):
            await in_flight
        await group.submit(2)
    await group.aclose()

    assert restarts == ["items"] and group.restarts == 1
    assert await count(sessions) == 1
