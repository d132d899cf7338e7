"""Rows written straight through the models, for storage tests that need a workspace to hang data on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts import filters
from storage.db import transaction
from storage.models import Connection, Subscription


async def subscribed_channels(
    sessions: async_sessionmaker[AsyncSession], *, channels: Sequence[str], start_at: datetime
) -> list[Subscription]:
    """Workspace T1 with one API-key connection (owned by U1) and a subscription to all its leads per channel."""
    async with transaction(sessions) as session:
        connection = Connection(
            team_id="T1", label="main", kind="api_key", owner_user_id="U1", api_token="t", api_secret="s"
        )
        session.add(connection)
        await session.flush()
        subs = [
            Subscription(
                team_id="T1",
                connection_id=connection.id or 0,
                channel_id=channel,
                filters_json=filters.to_json(filters.Filters()),
                created_by="U1",
                start_at=start_at,
            )
            for channel in channels
        ]
        session.add_all(subs)
        await session.flush()
    return subs
