"""Secrets the app makes for itself once and keeps (encrypted) for the life of the installation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AppSecret
from storage.sql import dialect_insert


async def get_or_create(session: AsyncSession, *, name: str, candidate: str) -> str:
    """The secret called `name`; `candidate` becomes it if there is none yet.

    Several processes may start at once: the first insert wins and everyone reads that one.
    """
    table = AppSecret.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session, table).values(name=name, value=candidate)
    await session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
    return (await session.execute(select(AppSecret.value).where(AppSecret.name == name))).scalar_one()
