"""Bot tokens for incoming requests and background work, refreshed before expiry exactly once.

With token rotation on, Slack bot tokens live 12 hours and each refresh token can be spent
once. Bolt only rotates while authorizing incoming requests and without any lock, so two
processes can spend one refresh token (python-slack-sdk#1242). Here every refresh happens
under the installation's row lock (PostgreSQL `FOR UPDATE`) plus an in-process lock per
workspace (SQLite, and fewer waiters on PostgreSQL), and expiry is re-checked under the lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import Metrics
from bot.slack_errors import error_code
from storage import installations
from storage.db import transaction
from storage.models import SlackInstallation, workspace_key
from storage.types import utcnow

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=120)
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class BotCredentials:
    """What a caller needs to act as the bot in one workspace."""

    enterprise_id: str | None
    team_id: str | None
    bot_token: str
    bot_id: str | None
    bot_user_id: str | None
    bot_scopes: str
    installer_user_id: str | None
    expires_at: datetime | None = None


def _credentials(row: SlackInstallation) -> BotCredentials:
    return BotCredentials(
        enterprise_id=row.enterprise_id,
        team_id=row.team_id,
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        installer_user_id=row.installer_user_id,
        expires_at=row.bot_token_expires_at,
    )


def _due(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at - REFRESH_AHEAD <= now


class BotTokens:
    """Looks up, and when due refreshes, a workspace's bot token."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        client_id: str,
        client_secret: str,
        metrics: Metrics,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._metrics = metrics
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Every Slack request needs the token; re-reading it for each one costs a query. A few seconds'
        # staleness is harmless: an uninstall elsewhere only means Slack refuses a dead token.
        self._cache: dict[str, tuple[float, BotCredentials]] = {}

    async def get(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> BotCredentials | None:
        """A usable bot token for the workspace, or None when the app isn't installed there."""
        key = workspace_key(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic() and not _due(cached[1].expires_at, utcnow()):
            return cached[1]
        async with self._sessions() as session:
            row = await installations.find_installation(session, client_id=self._client_id, key=key)
        if row is None:
            self._cache.pop(key, None)
            return None
        if not _due(row.bot_token_expires_at, utcnow()) or not row.bot_refresh_token:
            return self._remember(key, _credentials(row))
        creds = await self._refresh(key)
        return self._remember(key, creds) if creds else None

    def _remember(self, key: str, creds: BotCredentials) -> BotCredentials:
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, creds)
        return creds

    def forget(self, *, team_id: str | None = None) -> None:
        """Drop cached tokens (this workspace's, or all) after an uninstall or revocation in this process."""
        if team_id is None:
            self._cache.clear()
        else:
            self._cache.pop(f"T:{team_id}", None)

    async def _refresh(self, key: str) -> BotCredentials | None:
        async with self._locks[key], transaction(self._sessions) as session:
            row = await installations.find_installation(session, client_id=self._client_id, key=key, for_update=True)
            if row is None:
                return None
            # Someone else may have refreshed while we waited for the lock.
            if not _due(row.bot_token_expires_at, utcnow()) or not row.bot_refresh_token:
                return _credentials(row)
            try:
                response = await self._client.oauth_v2_access(
                    client_id=self._client_id,
                    client_secret=self._client_secret,
                    grant_type="refresh_token",
                    refresh_token=row.bot_refresh_token,
                )
            except SlackApiError as exc:
                self._metrics.slack_token_refreshes.labels("failed").inc()
                log.warning("bot token refresh failed for %s: %s", key, error_code(exc))
                return None
            await installations.update_bot_token(
                session,
                installation=row,
                bot_token=response["access_token"],
                bot_refresh_token=response.get("refresh_token") or row.bot_refresh_token,
                expires_at=utcnow() + timedelta(seconds=int(response.get("expires_in") or 43200)),
            )
            self._metrics.slack_token_refreshes.labels("ok").inc()
            return _credentials(row)


class WorkspaceAuthorize(AsyncAuthorize):
    """Bolt `authorize` over `BotTokens`: no `auth.test` per request, locked token rotation."""

    def __init__(self, tokens: BotTokens) -> None:
        super().__init__()
        self._tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: object,
    ) -> AuthorizeResult | None:
        creds = await self._tokens.get(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=bool(context.is_enterprise_install),
        )
        if creds is None:
            return None
        # Listeners need the installer for permission checks; carry it on the request context.
        context["installer_user_id"] = creds.installer_user_id
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=creds.bot_token,
            bot_id=creds.bot_id,
            bot_user_id=creds.bot_user_id,
            bot_scopes=creds.bot_scopes,
            user_id=user_id,
        )
