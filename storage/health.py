"""Readiness: is the database reachable and migrated?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def ping(session: AsyncSession) -> None:
    """Raise if the database can't answer a query against our schema."""
    await session.execute(text("SELECT 1 FROM slack_installations WHERE 1 = 0"))
