"""Dialect helpers shared by the storage modules (upserts and insert-if-absent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """`INSERT` with `ON CONFLICT` support for the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect: {name}")


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def upsert(
    session: AsyncSession,
    table: Any,
    values: dict[str, Any],
    *,
    conflict: Sequence[str],
    keep: Sequence[str] = (),
    fill: Sequence[str] = (),
) -> None:
    """Insert `values`, or update the existing row on `conflict`: columns in `keep` are left as they
    were, columns in `fill` are set only where the row has none yet."""
    stmt = dialect_insert(session, table).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in conflict and k not in keep and k not in fill}
    update.update({k: func.coalesce(table.c[k], stmt.excluded[k]) for k in fill if k in values})
    await session.execute(stmt.on_conflict_do_update(index_elements=list(conflict), set_=update))
