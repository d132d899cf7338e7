"""Bot tokens for incoming requests and background work, refreshed before expiry exactly once.

With token rotation on, Slack bot tokens live 12 hours and each refresh token can be spent
once. Bolt only rotates while authorizing incoming requests and without any lock, so two
processes can spend one refresh token (python-slack-sdk#1242). Here every refresh happens
under the installation's row lock (PostgreSQL `FOR UPDATE`) plus an in-process lock per
workspace (SQLite, and fewer waiters on PostgreSQL), and expiry is re-checked under the lock.

Refreshing is routine (twice a day per workspace) and `oauth.v2.access` fails now and then like
any Web API method, so a failed refresh never costs the workspace: the current token is used
while it is valid and the refresh is retried with backoff. Only a dead refresh token means the
workspace needs a reinstall, and even then its token serves until it expires.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import Metrics
from bot.slack.errors import error_code
from storage import installations
from storage.db import transaction
from storage.models import SlackInstallation, workspace_key
from storage.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

REFRESH_AHEAD = timedelta(minutes=120)
CACHE_SECONDS = 60.0
# Slack's answers that mean the refresh token itself is dead; anything else is worth retrying.
DEAD_REFRESH = {"invalid_refresh_token", "invalid_grant", "token_revoked", "token_expired", "app_uninstalled"}
RETRY_FIRST = 30.0
RETRY_MAX = 900.0

# Told once when a workspace turns out to need a reinstall: (team_id, reason).
ReinstallHook = Callable[[str, str], Awaitable[None]]


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


def _credentials(row: SlackInstallation) -> BotCredentials | None:
    """The row's token, if it can still be used: a workspace waiting for a reinstall keeps using
    its token until it expires, and has none once Slack revoked it."""
    if row.bot_token is None:
        return None
    expires_at = row.bot_token_expires_at
    if row.status != installations.ACTIVE and expires_at is not None and expires_at <= utcnow():
        return None
    return BotCredentials(
        enterprise_id=row.enterprise_id,
        team_id=row.team_id,
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        installer_user_id=row.installer_user_id,
        expires_at=expires_at,
    )


def _due(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at - REFRESH_AHEAD <= now


def _refreshable(row: SlackInstallation, now: datetime) -> bool:
    """Is a refresh needed and allowed now (not while an earlier failure's backoff runs)?"""
    if row.status != installations.ACTIVE or not row.bot_refresh_token or not _due(row.bot_token_expires_at, now):
        return False
    return row.refresh_retry_at is None or row.refresh_retry_at <= now


def retry_delay(failures: int) -> float:
    """30 s, 1 min, 2 min … up to 15 min between refresh attempts, with jitter."""
    return min(RETRY_MAX, RETRY_FIRST * 2.0**failures) * random.uniform(0.8, 1.2)


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
        # Set by the composition root: tells the workspace's admins (bot.slack.workspaces).
        self.on_reinstall_needed: ReinstallHook | None = None

    async def get(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> BotCredentials | None:
        """A bot token for the workspace, or None when it has none it can use (not installed, or
        waiting for a reinstall). While refreshes fail, this is the current token, however old."""
        key = workspace_key(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic() and not _due(cached[1].expires_at, utcnow()):
            return cached[1]
        async with self._sessions() as session:
            row = await installations.find_installation(session, client_id=self._client_id, key=key)
        if row is not None and _refreshable(row, utcnow()):
            return self._remember(key, await self._refresh(key))
        return self._remember(key, _credentials(row) if row else None)

    async def refresh(self, *, team_id: str | None, stale_token: str) -> BotCredentials | None:
        """Slack said `token_expired` for `stale_token`: a newer token, refreshed now if nobody has
        (the same lock as any refresh), or None when there is none to be had yet."""
        key = workspace_key(enterprise_id=None, team_id=team_id, is_enterprise_install=False)
        self._cache.pop(key, None)
        creds = self._remember(key, await self._refresh(key, stale_token=stale_token))
        return creds if creds is not None and creds.bot_token != stale_token else None

    def _remember(self, key: str, creds: BotCredentials | None) -> BotCredentials | None:
        if creds is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, creds)
        return creds

    def forget(self, *, team_id: str | None = None) -> None:
        """Drop cached tokens (this workspace's, or all) after an uninstall or revocation in this process."""
        if team_id is None:
            self._cache.clear()
        else:
            self._cache.pop(f"T:{team_id}", None)

    async def _refresh(self, key: str, *, stale_token: str | None = None) -> BotCredentials | None:
        dead: str | None = None
        async with self._locks[key], transaction(self._sessions) as session:
            row = await installations.find_installation(session, client_id=self._client_id, key=key, for_update=True)
            if row is None:
                return None
            now = utcnow()
            forced = stale_token is not None and row.bot_token == stale_token
            # Someone else may have refreshed while we waited for the lock.
            if not _refreshable(row, now) and not (
                forced and row.status == installations.ACTIVE and row.bot_refresh_token
            ):
                return _credentials(row)
            if forced and row.refresh_retry_at is not None and row.refresh_retry_at > now:
                return _credentials(row)  # backing off after a failure: don't hammer oauth.v2.access
            assert row.bot_refresh_token is not None
            try:
                response = await self._client.oauth_v2_access(
                    client_id=self._client_id,
                    client_secret=self._client_secret,
                    grant_type="refresh_token",
                    refresh_token=row.bot_refresh_token,
                )
                token = str(response["access_token"])
            except (SlackApiError, aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
                reason = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
                if reason in DEAD_REFRESH:
                    self._metrics.slack_token_refreshes.labels("dead").inc()
                    log.warning("bot token refresh for %s refused for good: %s", key, reason)
                    if await installations.mark_needs_reinstall(
                        session, installation=row, reason=f"Slack refused the refresh token ({reason})"
                    ):
                        dead = reason
                else:
                    self._metrics.slack_token_refreshes.labels("failed").inc()
                    delay = retry_delay(row.refresh_failures or 0)
                    log.warning("bot token refresh failed for %s: %s; retrying in %.0f s", key, reason, delay)
                    await installations.refresh_failed(
                        session, installation=row, retry_at=now + timedelta(seconds=delay)
                    )
                creds = _credentials(row)
                team_id = row.team_id
            else:
                await installations.update_bot_token(
                    session,
                    installation=row,
                    bot_token=token,
                    bot_refresh_token=response.get("refresh_token") or row.bot_refresh_token,
                    expires_at=utcnow() + timedelta(seconds=int(response.get("expires_in") or 43200)),
                )
                self._metrics.slack_token_refreshes.labels("ok").inc()
                return _credentials(row)
        if dead is not None and team_id and self.on_reinstall_needed is not None:
            await self.on_reinstall_needed(team_id, f"Slack refused the app's refresh token ({dead})")
        return creds


async def as_bot(tokens: BotTokens, client: AsyncWebClient, team_id: str | None, call: Callable[[], Awaitable[T]]) -> T:
    """Make a Web API call as the bot; on `token_expired`, refresh the token (once, whoever asks
    first, under the refresh lock) and make it again. `client` is updated, so whoever shares it
    (a batch of cards for one workspace) moves on to the new token too."""
    stale = client.token or ""
    try:
        return await call()
    except SlackApiError as exc:
        if error_code(exc) != "token_expired":
            raise
        if client.token == stale:
            fresh = await tokens.refresh(team_id=team_id, stale_token=stale)
            if fresh is None:
                raise
            client.token = fresh.bot_token
    return await call()


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
