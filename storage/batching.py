"""Group commit: many small writes that arrive within a few milliseconds share one transaction.

A transaction costs about a millisecond of CPU whatever it holds (and SQLite serialises them),
so writing a burst one row at a time queues the writers behind each other. Each caller still
waits until its own write is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


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
    ) -> None:
        self._sessions = sessions
        self._write = write
        self._linger = linger
        # With max_linger, keep gathering while items still arrive (up to max_linger): a burst is
        # then written once it has arrived, and its commit doesn't compete with its own arrivals.
        self._max_linger = max_linger if max_linger is not None else linger
        self._max = max_items
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[Any]]] | None = None
        self._worker: asyncio.Task | None = None

    async def submit(self, item: T) -> R | None:
        """Write `item` with whatever else is waiting; returns once committed (raises if that failed)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, done))
        return await done

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._max_linger
            waiting = -1
            while self._queue.qsize() != waiting and loop.time() < deadline:
                waiting = self._queue.qsize()
                await asyncio.sleep(min(self._linger, max(0.0, deadline - loop.time())))
            while not self._queue.empty() and len(batch) < self._max:
                batch.append(self._queue.get_nowait())
            try:
                async with transaction(self._sessions) as session:
                    results = await self._write(session, [item for item, _ in batch])
            except Exception as exc:
                log.warning("group commit of %d items failed: %s", len(batch), type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for index, (_, done) in enumerate(batch):
                if not done.done():
                    done.set_result(results[index] if results is not None else None)
