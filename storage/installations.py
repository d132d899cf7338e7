"""Slack installations: one current row per workspace, tokens encrypted by the column type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackInstallation, workspace_key
from storage.sql import upsert
from storage.types import utcnow


async def save_installation(session: AsyncSession, *, client_id: str, values: dict[str, Any]) -> None:
    """Create or replace the workspace's installation; `installed_at` of the first install is kept."""
    key = workspace_key(
        enterprise_id=values.get("enterprise_id"),
        team_id=values.get("team_id"),
        is_enterprise_install=bool(values.get("is_enterprise_install")),
    )
    row = {**values, "client_id": client_id, "workspace_key": key, "updated_at": utcnow()}
    row.setdefault("installed_at", utcnow())
    table = SlackInstallation.__table__  # type: ignore[attr-defined]
    await upsert(session, table, row, conflict=("client_id", "workspace_key"), keep=("installed_at",))
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


async def update_bot_token(
    session: AsyncSession,
    *,
    installation: SlackInstallation,
    bot_token: str,
    bot_refresh_token: str | None,
    expires_at: datetime | None,
) -> None:
    installation.bot_token = bot_token
    installation.bot_refresh_token = bot_refresh_token
    installation.bot_token_expires_at = expires_at
    installation.updated_at = utcnow()
    session.add(installation)
    await session.flush()


async def delete_installation(session: AsyncSession, *, client_id: str, key: str) -> int:
    """Forget the workspace's tokens; returns how many rows went."""
    result = await session.execute(
        delete(SlackInstallation).where(
            SlackInstallation.client_id == client_id, SlackInstallation.workspace_key == key
        )
    )
    await session.flush()
    return int(result.rowcount or 0)


async def delete_team_installations(session: AsyncSession, *, team_id: str | None, enterprise_id: str | None) -> int:
    """Forget every installation of a team (or of an org-wide install when team_id is None)."""
    stmt = delete(SlackInstallation)
    if team_id is not None:
        stmt = stmt.where(SlackInstallation.team_id == team_id)
    else:
        stmt = stmt.where(
            SlackInstallation.enterprise_id == enterprise_id, SlackInstallation.is_enterprise_install.is_(True)
        )
    result = await session.execute(stmt)
    await session.flush()
    return int(result.rowcount or 0)
