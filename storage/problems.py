"""Problems an admin should see (in status and on the Home tab), newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Problem


async def record(session: AsyncSession, *, team_id: str, subject: str, message: str, fix: str) -> None:
    session.add(Problem(team_id=team_id, subject=subject[:128], message=message[:500], fix=fix[:500]))
    await session.flush()


async def recent(session: AsyncSession, *, team_id: str, limit: int = 10) -> list[Problem]:
    stmt = select(Problem).where(Problem.team_id == team_id).order_by(Problem.at.desc(), Problem.id.desc())
    return list((await session.execute(stmt.limit(limit))).scalars())
