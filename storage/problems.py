"""Problems an admin should see (in status and on the Home tab), newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Problem


async def record(session: AsyncSession, *, team_id: str, subject: str, message: str, fix: str) -> None:
    session.add(Problem(team_id=team_id, subject=subject[:128], message=message[:500], fix=fix[:500]))
    await session.flush()


async def recent(session: AsyncSession, *, team_id: str, limit: int = 10) -> list[Problem]:
    stmt = select(Problem).where(Problem.team_id == team_id).order_by(Problem.at.desc(), Problem.id.desc())
    return list((await session.execute(stmt.limit(limit))).scalars())


async def record_once(
    session: AsyncSession,
    *,
    team_id: str,
    subject: str,
    message: str,
    fix: str,
    since: datetime | None = None,
) -> bool:
    """`record`, unless the same problem (team, subject, message) was recorded (since `since`); True if new.

    For problems seen again and again (a lead re-read by every poll of its lookback window).
    """
    subject, message = subject[:128], message[:500]
    stmt = select(Problem.id).where(Problem.team_id == team_id, Problem.subject == subject, Problem.message == message)
    if since is not None:
        stmt = stmt.where(Problem.at >= since)
    if (await session.execute(stmt.limit(1))).first() is not None:
        return False
    await record(session, team_id=team_id, subject=subject, message=message, fix=fix)
    return True
