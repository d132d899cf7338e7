"""Slack installations: one current row per workspace, tokens encrypted by the column type.

A row is deleted only when the app is uninstalled. A revoked token or a dead refresh token
leaves the row (and its first installer) in place, marked `needs_reinstall`, so a reinstall
picks up where the workspace left off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackInstallation, workspace_key
from storage.sql import upsert
from storage.types import utcnow

ACTIVE = "active"
NEEDS_REINSTALL = "needs_reinstall"


async def save_installation(session: AsyncSession, *, client_id: str, values: dict[str, Any]) -> None:
    """Create or replace the workspace's installation with fresh tokens.

    The first install's `installed_at` and installer are kept: running the install flow again
    (anyone allowed to add apps can) grants no rights in this app.
    """
    key = workspace_key(
        enterprise_id=values.get("enterprise_id"),
        team_id=values.get("team_id"),
        is_enterprise_install=bool(values.get("is_enterprise_install")),
    )
    now = utcnow()
    row = {
        **values,
        "client_id": client_id,
        "workspace_key": key,
        "updated_at": now,
        "bot_token_issued_at": now,
        "status": ACTIVE,
        "status_reason": None,
        "refresh_failures": 0,
        "refresh_retry_at": None,
    }
    row.setdefault("installed_at", now)
    table = SlackInstallation.__table__  # type: ignore[attr-defined]
    await upsert(
        session,
        table,
        row,
        conflict=("client_id", "workspace_key"),
        keep=("installed_at",),
        fill=("installer_user_id",),
    )
    await session.flush()


async def find_installation(
    session: AsyncSession, *, client_id: str, key: str, for_update: bool = False
) -> SlackInstallation | None:
    """The installation for `key`; `for_update` locks the row (PostgreSQL) for a token refresh."""
    stmt = select(SlackInstallation).where(
        SlackInstallation.client_id == client_id, SlackInstallation.workspace_key == key
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def find_team_installations(
    session: AsyncSession, *, team_id: str | None, enterprise_id: str | None, for_update: bool = False
) -> list[SlackInstallation]:
    """Every installation of a team (or of an org-wide install when team_id is None)."""
    stmt = select(SlackInstallation).where(_team_clause(team_id, enterprise_id))
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


async def update_bot_token(
    session: AsyncSession,
    *,
    installation: SlackInstallation,
    bot_token: str,
    bot_refresh_token: str | None,
    expires_at: datetime | None,
) -> None:
    now = utcnow()
    installation.bot_token = bot_token
    installation.bot_refresh_token = bot_refresh_token
    installation.bot_token_expires_at = expires_at
    installation.bot_token_issued_at = now
    installation.refresh_failures = 0
    installation.refresh_retry_at = None
    installation.updated_at = now
    session.add(installation)
    await session.flush()


async def refresh_failed(session: AsyncSession, *, installation: SlackInstallation, retry_at: datetime) -> None:
    """One more failed refresh in a row; nobody tries again before `retry_at`."""
    installation.refresh_failures = (installation.refresh_failures or 0) + 1
    installation.refresh_retry_at = retry_at
    session.add(installation)
    await session.flush()


async def mark_needs_reinstall(
    session: AsyncSession, *, installation: SlackInstallation, reason: str, drop_tokens: bool = False
) -> bool:
    """The workspace can't get a working token without a reinstall; True when that is news.

    `drop_tokens` forgets tokens Slack revoked; otherwise the bot token is kept and used until
    it expires (only its refresh token died).
    """
    changed = installation.status != NEEDS_REINSTALL or (drop_tokens and installation.bot_token is not None)
    installation.status = NEEDS_REINSTALL
    installation.status_reason = reason[:255]
    installation.bot_refresh_token = None
    installation.refresh_retry_at = None
    if drop_tokens:
        installation.bot_token = None
        installation.bot_token_expires_at = None
    installation.updated_at = utcnow()
    session.add(installation)
    await session.flush()
    return changed


async def delete_team_installations(
    session: AsyncSession, *, team_id: str | None, enterprise_id: str | None, issued_before: datetime | None = None
) -> int:
    """Forget the installations of a team (or of an org-wide install when team_id is None).

    With `issued_before`, an installation whose token is newer is kept: the event that asked for
    the deletion predates a reinstall.
    """
    stmt = delete(SlackInstallation).where(_team_clause(team_id, enterprise_id))
    if issued_before is not None:
        stmt = stmt.where(
            or_(
                SlackInstallation.bot_token_issued_at.is_(None),  # type: ignore[union-attr]
                SlackInstallation.bot_token_issued_at <= issued_before,  # type: ignore[operator]
            )
        )
    result = await session.execute(stmt)
    await session.flush()
    return int(result.rowcount or 0)


def _team_clause(team_id: str | None, enterprise_id: str | None) -> Any:
    if team_id is not None:
        return SlackInstallation.team_id == team_id
    return (SlackInstallation.enterprise_id == enterprise_id) & SlackInstallation.is_enterprise_install.is_(True)  # type: ignore[attr-defined]
