"""A connection's scope (the accounts and profiles its key sees) and when it was last re-read.

Re-reads are claimed with one conditional upsert, so however many processes and webhooks
notice at once, one of them makes the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Connection, ScopeCheck
from storage.sql import dialect_insert
from storage.types import utcnow


async def set_scope(session: AsyncSession, *, connection_id: int, scope_json: str, only_if: str | None = None) -> bool:
    """Store a new scope; with `only_if`, only over that exact old value. True if it was written."""
    stmt = update(Connection).where(Connection.id == connection_id)
    if only_if is not None:
        stmt = stmt.where(Connection.scope_json == only_if)
    result = await session.execute(stmt.values(scope_json=scope_json, updated_at=utcnow()))
    return bool(result.rowcount)


async def last_checks(
    session: AsyncSession, *, connection_ids: list[int]
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """(refreshed_at, lookup_at) of each connection that was ever re-read."""
    if not connection_ids:
        return {}
    stmt = select(ScopeCheck.connection_id, ScopeCheck.refreshed_at, ScopeCheck.lookup_at).where(
        ScopeCheck.connection_id.in_(connection_ids)
    )
    return {cid: (refreshed, lookup) for cid, refreshed, lookup in (await session.execute(stmt)).all()}


async def claim(
    session: AsyncSession,
    *,
    connection_id: int,
    reason: Literal["refreshed_at", "lookup_at"],
    unless_since: datetime,
    now: datetime,
) -> bool:
    """Claim a re-read: True (and the time recorded) unless one for `reason` started at or after `unless_since`.

    Every re-read also counts as the daily one (`refreshed_at`).
    """
    table = ScopeCheck.__table__  # type: ignore[attr-defined]
    column = table.c[reason]
    values = {"refreshed_at": now, reason: now}
    stmt = dialect_insert(session, table).values(connection_id=connection_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["connection_id"],
        set_=values,
        where=or_(column.is_(None), column < unless_since),
    ).returning(table.c.connection_id)
    return (await session.execute(stmt)).first() is not None
