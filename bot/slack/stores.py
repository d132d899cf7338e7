"""slack_sdk's installation and OAuth-state store interfaces over our `storage/` tables.

Unlike the SDK's SQLAlchemy stores: tokens are encrypted, a reinstall replaces the workspace's
row instead of piling up rows, and `state` is hashed and consumed atomically.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UserFacingError
from storage import installations, oauth_states
from storage.db import transaction
from storage.models import SlackInstallation, workspace_key
from storage.types import utcnow

log = logging.getLogger(__name__)


def _when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def _to_installation(row: SlackInstallation) -> Installation:
    return Installation(
        app_id=row.app_id,
        enterprise_id=row.enterprise_id,
        enterprise_name=row.enterprise_name,
        enterprise_url=row.enterprise_url,
        team_id=row.team_id,
        team_name=row.team_name,
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        bot_refresh_token=row.bot_refresh_token,
        bot_token_expires_at=_epoch(row.bot_token_expires_at),
        user_id=row.installer_user_id or "",
        user_token=row.user_token,
        user_scopes=row.user_scopes or "",
        user_refresh_token=row.user_refresh_token,
        user_token_expires_at=_epoch(row.user_token_expires_at),
        is_enterprise_install=row.is_enterprise_install,
        token_type=row.token_type,
        installed_at=row.installed_at.timestamp(),
    )


class SQLInstallationStore(AsyncInstallationStore):
    """One current, encrypted installation per workspace (or org)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        client_id: str,
        on_saved: Callable[[str | None], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._client_id = client_id
        # Told after each (re)install is stored: cards that waited for a token go out.
        self._on_saved = on_saved

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        values = {
            "app_id": installation.app_id,
            "enterprise_id": installation.enterprise_id,
            "enterprise_name": installation.enterprise_name,
            "enterprise_url": installation.enterprise_url,
            "team_id": installation.team_id,
            "team_name": installation.team_name,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "token_type": installation.token_type,
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": ",".join(installation.bot_scopes or []),
            "bot_token": installation.bot_token,
            "bot_refresh_token": installation.bot_refresh_token,
            "bot_token_expires_at": _when(installation.bot_token_expires_at),
            "installer_user_id": installation.user_id,
            "user_scopes": ",".join(installation.user_scopes or []) or None,
            "user_token": installation.user_token,
            "user_refresh_token": installation.user_refresh_token,
            "user_token_expires_at": _when(installation.user_token_expires_at),
        }
        if not installation.bot_token:
            raise ValueError("installation without a bot token")
        async with transaction(self._sessions) as session:
            await installations.save_installation(session, client_id=self._client_id, values=values)
        if self._on_saved is not None:
            await self._on_saved(installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        # Bots are saved as part of their installation; the OAuth flow always calls async_save.
        raise NotImplementedError("save the Installation instead")

    async def _find(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> SlackInstallation | None:
        key = workspace_key(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=bool(is_enterprise_install)
        )
        async with self._sessions() as session:
            return await installations.find_installation(session, client_id=self._client_id, key=key)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        row = await self._find(enterprise_id, team_id, is_enterprise_install)
        return _to_installation(row) if row else None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        row = await self._find(enterprise_id, team_id, is_enterprise_install)
        return _to_installation(row).to_bot() if row else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        # We hold no user tokens, so deleting "an installation" always means the bot's.
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        async with transaction(self._sessions) as session:
            await installations.delete_team_installations(session, team_id=team_id, enterprise_id=enterprise_id)


# Installs are rare (one per workspace, now and then); past this, /slack/install is someone
# filling the table, and is refused until the minute is over.
INSTALL_STATES_PER_MINUTE = 60


class InstallsThrottled(UserFacingError):
    """Too many install links were handed out in the last minute; nothing was stored."""

    status_code = 429

    def __init__(self) -> None:
        super().__init__("Too many installs were started in the last minute. Please wait a minute and try again.")


class SQLOAuthStateStore(AsyncOAuthStateStore):
    """Random, hashed, one-time Slack install `state` values that expire, at most so many a minute."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        expiration_seconds: int = 600,
        per_minute: int = INSTALL_STATES_PER_MINUTE,
    ) -> None:
        self._sessions = sessions
        self._ttl = timedelta(seconds=expiration_seconds)
        self._per_minute = per_minute

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        """A new state; InstallsThrottled (429 through the web error boundary) past the rate."""
        state = secrets.token_urlsafe(32)
        async with transaction(self._sessions) as session:
            issued = await oauth_states.issue_slack_state(
                session, state=state, now=utcnow(), ttl=self._ttl, per_minute=self._per_minute
            )
        if not issued:
            raise InstallsThrottled()
        return state

    async def async_consume(self, state: str) -> bool:
        async with transaction(self._sessions) as session:
            return await oauth_states.consume_slack_state(session, state=state, now=utcnow())
