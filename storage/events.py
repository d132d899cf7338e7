"""Events API de-duplication: Slack redelivers on timeouts with the same `event_id`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackEvent
from storage.sql import dialect_insert
from storage.types import utcnow


async def record_event(session: AsyncSession, *, event_id: str, team_id: str | None) -> bool:
    """Remember `event_id`; True the first time it is seen, False for a redelivery."""
    table = SlackEvent.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect_insert(session, table)
        .values(event_id=event_id, team_id=team_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return (await session.execute(stmt)).first() is not None


async def purge_events(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(SlackEvent).where(SlackEvent.received_at < before))
    return int(result.rowcount or 0)
