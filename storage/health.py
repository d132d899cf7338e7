"""Readiness: is the database reachable, and migrated as far as this code needs?

`/readyz` asks on every probe; `serve` and `worker` ask once before starting (`require_ready`)
and refuse, with one line saying why, rather than start and fail every tick.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import migrate
from storage.db import describe, make_engine, make_sessionmaker
from storage.rotation import shown

log = logging.getLogger(__name__)

# A probe that gets no answer in this long says "unreachable" rather than hang the prober.
PROBE_TIMEOUT = 5.0
# How long start-up waits for the database to answer: a host that drops packets would
# otherwise hold it for the driver's own connect timeout (a minute) before saying anything.
CHECK_TIMEOUT = 10.0


class DatabaseNotReady(Exception):
    """Start-up refused: the database isn't there, or isn't migrated. The text is one line."""


async def revision(session: AsyncSession) -> str | None:
    """The migration the database is at; None when none was applied."""
    conn = await session.connection()
    if not await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
        return None
    return (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()


async def schema(session: AsyncSession) -> Literal["ok", "not_migrated"]:
    """Raises if the database can't answer; otherwise whether its schema is one this code can use."""
    current = await revision(session)
    # In a thread: the first call reads the migration scripts.
    return "not_migrated" if await asyncio.to_thread(migrate.is_behind, current) else "ok"


class Probe:
    """Readiness probes of the database, logged when the answer changes (probes come every few seconds)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._last = "ok"

    async def __call__(self) -> Literal["ok", "not_migrated", "unreachable"]:
        problem = ""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self._sessions() as session:
                state: Literal["ok", "not_migrated", "unreachable"] = await schema(session)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            state, problem = "unreachable", describe(exc)
        if state != self._last:
            if state == "ok":
                log.warning("readiness: the database is back")
            else:
                log.warning("readiness: database %s%s", state.replace("_", " "), f" ({problem})" if problem else "")
            self._last = state
        return state


async def require_ready(url: str, *, migrated: bool = True) -> str | None:
    """Raise `DatabaseNotReady` unless the database at `url` answers and (with `migrated`) is migrated.

    Returns the migration the database is at (None: none applied).
    """
    engine = make_engine(url, cipher=None)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), make_sessionmaker(engine)() as session:
            current = await revision(session)
    except TimeoutError:
        raise DatabaseNotReady(
            f"database not reachable at {shown(url)}: no answer within {CHECK_TIMEOUT:g} s"
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseNotReady(f"database not reachable at {shown(url)}: {describe(exc)}") from None
    finally:
        await engine.dispose()
    if migrated and await asyncio.to_thread(migrate.is_behind, current):
        at = f"at {current}" if current else "no migration applied"
        raise DatabaseNotReady(
            f"database is not migrated ({at}, need {migrate.head()}): run `whatconverts-slack migrate`"
        )
    return current
