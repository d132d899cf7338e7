"""Group commit: many small writes that arrive within a few milliseconds share one transaction.

A transaction costs about a millisecond of CPU whatever it holds (and SQLite serialises them),
so writing a burst one row at a time queues the writers behind each other. Each caller still
waits until its own write is committed.

The worker is supervised: whatever a write raises (the database gone, a driver raising
`CancelledError` or `GreenletExit` out of a dropped connection, a hung call cut by the timeout),
every caller of that batch gets an exception and the worker goes on with the next batch. Should
the worker end anyway, everyone still waiting is told, and the next `submit` starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import describe, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
# An item with the future its caller waits on.
Queue = asyncio.Queue[tuple[T, asyncio.Future[Any]]]
Batch = list[tuple[T, asyncio.Future[Any]]]

# A write that hasn't committed by then fails its callers instead of holding them (and every
# batch queued behind it) for as long as a dead connection takes to notice.
WRITE_TIMEOUT = 30.0


class GroupCommitError(Exception):
    """The item was not written: the worker failed outside an ordinary exception, or was closed."""


# What a write, grouped or not, raises when the database (or the way to it) is away.
UNAVAILABLE = (SQLAlchemyError, OSError, TimeoutError, GroupCommitError)


class GroupCommit(Generic[T, R]):
    """`submit(item)` returns what `write` returned for that item (`write` gives one result per item, or None)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R] | None]],
        *,
        linger: float = 0.005,
        max_linger: float | None = None,
        max_items: int = 1000,
        timeout: float = WRITE_TIMEOUT,
        name: str | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._write = write
        self._linger = linger
        # With max_linger, keep gathering while items still arrive (up to max_linger): a burst is
        # then written once it has arrived, and its commit doesn't compete with its own arrivals.
        self._max_linger = max_linger if max_linger is not None else linger
        self._max = max_items
        self._timeout = timeout
        self.name = name or getattr(write, "__name__", "group commit")
        self._on_restart = on_restart
        self._queue: Queue[T] | None = None
        self._worker: asyncio.Task | None = None
        self._closing = False
        self._failures = 0  # consecutive failed batches: logged when the first fails and when one succeeds again
        self.restarts = 0

    async def submit(self, item: T) -> R | None:
        """Write `item` with whatever else is waiting; returns once committed (raises if that failed)."""
        queue = self._running_queue()
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue.put_nowait((item, done))
        return await done

    def _running_queue(self) -> Queue[T]:
        if self._worker is not None and not self._worker.done() and self._queue is not None:
            return self._queue
        if self._worker is not None and not self._closing:
            # Not reached unless something got past `_run`'s handler; `_ended` told the callers and the log.
            self.restarts += 1
            if self._on_restart is not None:
                self._on_restart()
        self._closing = False
        # Each worker has its own queue and batch, so a stopped one's callers can all be told.
        self._queue = queue = asyncio.Queue()
        batch: list[tuple[T, asyncio.Future[Any]]] = []
        self._worker = asyncio.get_running_loop().create_task(self._run(queue, batch), name=f"group-commit:{self.name}")
        self._worker.add_done_callback(lambda task: self._ended(task, queue, batch))
        return queue

    async def aclose(self) -> None:
        """Stop the worker; anything still waiting is failed, never left hanging."""
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()
            # Whatever the worker ended with was logged or handed to its callers already.
            with contextlib.suppress(BaseException):
                await self._worker

    def _ended(self, task: asyncio.Task, queue: Queue[T], batch: Batch[T]) -> None:
        """The worker is gone (closed, or something got past its handler): fail everyone still waiting."""
        reason = "closed" if self._closing else "its worker stopped"
        error = GroupCommitError(f"group commit {self.name}: {reason}; the item was not written")
        if not task.cancelled() and task.exception() is not None:
            error.__cause__ = task.exception()
        if not self._closing:
            log.error("group commit %s: its worker stopped; the next write starts another", self.name, exc_info=error)
        for _, done in [*batch, *_drain(queue)]:
            if not done.done():
                done.set_exception(error)

    async def _run(self, queue: Queue[T], batch: Batch[T]) -> None:
        while True:
            batch.append(await queue.get())
            try:
                results = await self._gather_and_write(queue, batch)
            except BaseException as exc:
                cancelled = isinstance(exc, asyncio.CancelledError) and _being_cancelled()
                if cancelled or not isinstance(exc, Exception | asyncio.CancelledError):
                    raise  # aclose(), or KeyboardInterrupt/SystemExit: `_ended` fails the waiting callers
                self._failed(exc, batch)
                continue
            if self._failures:
                log.warning("group commit %s: writing again after %d failed batch(es)", self.name, self._failures)
                self._failures = 0
            for index, (_, done) in enumerate(batch):
                if not done.done():
                    done.set_result(results[index] if results is not None else None)
            batch.clear()

    async def _gather_and_write(self, queue: Queue[T], batch: Batch[T]) -> Sequence[R] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_linger
        waiting = -1
        while queue.qsize() != waiting and loop.time() < deadline:
            waiting = queue.qsize()
            await asyncio.sleep(min(self._linger, max(0.0, deadline - loop.time())))
        while not queue.empty() and len(batch) < self._max:
            batch.append(queue.get_nowait())
        async with asyncio.timeout(self._timeout), transaction(self._sessions) as session:
            return await self._write(session, [item for item, _ in batch])

    def _failed(self, exc: BaseException, batch: Batch[T]) -> None:
        self._failures += 1
        if self._failures == 1:
            log.warning(
                "group commit %s: a batch of %d failed (%s); its callers are told, later batches go on",
                self.name,
                len(batch),
                describe(exc),
            )
        # An ordinary exception is the callers' to handle by type; anything else (a driver's
        # CancelledError, say) must not look to them as if they had been cancelled.
        error: BaseException = exc
        if not isinstance(exc, Exception):
            error = GroupCommitError(f"group commit {self.name}: the write failed ({describe(exc)})")
            error.__cause__ = exc
        for _, done in batch:
            if not done.done():
                done.set_exception(error)
        batch.clear()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _drain(queue: Queue[T]) -> Batch[T]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
