"""The process's long-lived collaborators, built once by the composition root (`bot.app`).

Collaborators only: clients, stores, batches, caches, each owned by the capability that uses it.
What they do lives with them, not here (tests/test_layout.py checks this module writes no SQL).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.alerts.webhook_inbox import WebhookInbox
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

SLACK_CONNECTIONS = 256


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    slack: AsyncWebClient
    tokens: BotTokens
    wc: WhatConvertsClient
    # Requests counted against each key's daily quota, written in shared transactions.
    quota: GroupCommit[tuple[str, date, int], None]
    # Which WhatConverts key a token is (its quota is the key's, whoever uses it).
    keys: KeyIdentities
    webhooks: WebhookInbox
    oauth: WhatConvertsOAuth | None = None
    redactor: Redactor | None = None
    # Single-flight locks within this process (credential refreshes); the database locks across processes.
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    users: UserDirectory = field(default_factory=UserDirectory)
    after_ack: AfterAck = field(default_factory=AfterAck)
    # Set by the scheduler when it runs in this process: deliver now instead of at the next tick.
    nudge: Callable[[], None] = field(default=lambda: None)

    def nudge_sender(self) -> None:
        self.nudge()

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
