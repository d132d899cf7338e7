"""Where webhook posts arrive: which connection a URL's token names, and the batch they are written in.

The lookup is remembered for a few seconds, so a burst of posts to one URL is one query; a
rotated or re-scoped URL is forgotten at once in this process (and within the few seconds in
the others). The batch is the group commit built by `bot.alerts.webhooks.batcher`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.batching import GroupCommit
from storage.connections import find_by_webhook
from storage.models import Connection

# How long a webhook token's connection is remembered (a rotated URL may work this long elsewhere).
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000


class WebhookInbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.batch: GroupCommit[Any, Any] | None = None  # set once the app's services exist
        self._cache: dict[str, tuple[float, Connection | None]] = {}
        self._lookups: dict[str, asyncio.Lock] = {}

    async def connection(self, token_hash: str) -> Connection | None:
        """The connection behind a webhook URL, remembered for a few seconds (a burst is one lookup)."""
        cached = self._cache.get(token_hash)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        lock = self._lookups.setdefault(token_hash, asyncio.Lock())
        async with lock:  # a burst of posts makes one lookup, not one each
            cached = self._cache.get(token_hash)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            async with self.sessions() as session:
                connection = await find_by_webhook(session, token_hash=token_hash)
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.clear()
                self._lookups = {token_hash: lock}
            self._cache[token_hash] = (time.monotonic() + CACHE_SECONDS, connection)
            return connection

    def forget(self) -> None:
        """A URL was rotated or its connection's scope changed: look every token up afresh."""
        self._cache.clear()

    async def aclose(self) -> None:
        if self.batch is not None:
            await self.batch.aclose()
