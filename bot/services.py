"""The process's long-lived collaborators, built once by the composition root (`bot.app`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.boundary import AfterAck
from bot.config import Settings
from bot.logs import Redactor
from bot.metrics import Metrics
from bot.permissions import Actor, UserDirectory
from bot.slack_tokens import BotTokens
from bot.wc_oauth import WhatConvertsOAuth
from bot.whatconverts import WhatConvertsClient


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

    async def start(self) -> None:
        """Things that need a running event loop: one pooled HTTP session for every Slack call."""
        if self.slack.session is None:
            self.slack.session = aiohttp.ClientSession()

    async def actor(self, client: AsyncWebClient, *, user_id: str, installer_user_id: str | None) -> Actor:
        return await self.users.actor(client, user_id=user_id, installer_user_id=installer_user_id)

    async def aclose(self) -> None:
        await self.after_ack.drain()
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
