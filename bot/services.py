"""The process's long-lived collaborators, built once by the composition root (`bot.app`)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.logs import Redactor
from bot.metrics import Metrics
from bot.slack.boundary import AfterAck
from bot.slack.permissions import Actor, UserDirectory
from bot.slack.tokens import BotTokens
from bot.whatconverts.client import WhatConvertsClient
from bot.whatconverts.keys import KeyIdentities
from bot.whatconverts.oauth import WhatConvertsOAuth
from storage.batching import GroupCommit
from storage.connections import count_requests_many, find_by_webhook
from storage.models import Connection

if TYPE_CHECKING:
    from bot.alerts.webhooks import Incoming, Outcome

# How long a webhook token's connection is remembered (a rotated URL may work this long elsewhere).
WEBHOOK_CACHE_SECONDS = 5.0
SLACK_CONNECTIONS = 256


async def write_quota(session: AsyncSession, counts: Sequence[tuple[str, date, int]]) -> None:
    """Requests counted per (key identity, UTC day), summed before they are written."""
    totals: dict[tuple[str, date], int] = {}
    for key_id, day, requests in counts:
        totals[(key_id, day)] = totals.get((key_id, day), 0) + requests
    await count_requests_many(session, [(k, d, n) for (k, d), n in totals.items()])


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    slack: AsyncWebClient
    tokens: BotTokens
    wc: WhatConvertsClient
    oauth: WhatConvertsOAuth | None = None
    redactor: Redactor | None = None
    # Single-flight locks within this process (credential refreshes); the database locks across processes.
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    users: UserDirectory = field(default_factory=UserDirectory)
    after_ack: AfterAck = field(default_factory=AfterAck)
    webhooks: GroupCommit[Incoming, Outcome] | None = None
    # Requests counted against each key's daily quota, written in shared transactions.
    quota: GroupCommit[tuple[str, date, int], None] = field(init=False)
    # Which WhatConverts key a token is (its quota is the key's, whoever uses it).
    keys: KeyIdentities = field(init=False)

    def __post_init__(self) -> None:
        restarted = self.metrics.background_restarts.labels("quota").inc
        self.quota = GroupCommit(self.sessions, write_quota, name="quota", on_restart=restarted)
        self.keys = KeyIdentities(self.sessions)

    # Set by the scheduler when it runs in this process: deliver now instead of at the next tick.
    nudge: Callable[[], None] = field(default=lambda: None)
    _webhook_cache: dict[str, tuple[float, Connection | None]] = field(default_factory=dict)

    def nudge_sender(self) -> None:
        self.nudge()

    async def webhook_connection(self, token_hash: str) -> Connection | None:
        """The connection behind a webhook URL, remembered for a few seconds (a burst is one lookup)."""
        cached = self._webhook_cache.get(token_hash)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self.locks[f"webhook:{token_hash}"]:  # a burst of posts makes one lookup, not one each
            cached = self._webhook_cache.get(token_hash)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            async with self.sessions() as session:
                connection = await find_by_webhook(session, token_hash=token_hash)
            if len(self._webhook_cache) > 10_000:
                self._webhook_cache.clear()
            self._webhook_cache[token_hash] = (time.monotonic() + WEBHOOK_CACHE_SECONDS, connection)
            return connection

    def forget_webhooks(self) -> None:
        self._webhook_cache.clear()

    async def start(self) -> None:
        """Things that need a running event loop: one pooled HTTP session for every Slack call."""
        if self.slack.session is None:
            # More connections than the sender keeps in flight (200): a post that passed its channel's
            # pacing check must not then queue for a connection (aiohttp's default is 100).
            self.slack.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SLACK_CONNECTIONS))

    async def actor(self, client: AsyncWebClient, *, user_id: str, installer_user_id: str | None) -> Actor:
        return await self.users.actor(client, user_id=user_id, installer_user_id=installer_user_id)

    async def aclose(self) -> None:
        await self.after_ack.drain()
        await self.quota.aclose()
        if self.webhooks is not None:
            await self.webhooks.aclose()
        if self.slack.session is not None:
            await self.slack.session.close()
            self.slack.session = None
        await self.wc.aclose()
        await self.engine.dispose()

    async def bot_client(
        self, *, team_id: str | None, enterprise_id: str | None = None, is_enterprise_install: bool = False
    ) -> AsyncWebClient | None:
        """A Web API client acting as the bot in one workspace, for background work (token rotated)."""
        creds = await self.tokens.get(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if creds is None:
            return None
        return AsyncWebClient(
            token=creds.bot_token,
            base_url=self.slack.base_url,
            team_id=team_id,
            retry_handlers=self.slack.retry_handlers,
            session=self.slack.session,
        )
