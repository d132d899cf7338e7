"""Engine and session factory for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.crypto import Cipher
from storage.types import CIPHER_ATTRIBUTE

WRITE = "whatconverts_write"
# A rollback on a connection that doesn't answer (the database host gone silent) would otherwise
# hold the failing unit of work, and whatever waits on it, for as long as TCP takes to give up.
ROLLBACK_TIMEOUT = 5.0


def make_engine(url: str, *, cipher: Cipher | None, echo: bool = False) -> AsyncEngine:
    """Create the process's engine; `cipher` encrypts secret columns (None: secrets can't be stored)."""
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_async_engine(url, **kwargs)
    setattr(engine.sync_engine.dialect, CIPHER_ATTRIBUTE, cipher)
    if url.startswith("sqlite"):
        _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN and can't upgrade a read lock under
    # concurrency ("database is locked"); take the write lock up front and let busy_timeout wait.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL's recommended level: commits survive a process crash (kill -9); only an OS crash or power
        # loss can drop the last few. FULL would fsync on every commit, ~10 ms each here.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front; readers (WAL) read a snapshot without blocking anyone.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work that writes: commit on success, roll back on error.

    Plain `sessions()` are for reading; only transactions take SQLite's write lock.
    """
    async with sessions() as session:
        # Opening the connection with the write flag begins the transaction (BEGIN IMMEDIATE on SQLite).
        await session.connection(execution_options={WRITE: True})
        try:
            yield session
        except BaseException:
            await _roll_back(session)
            raise
        await session.commit()


async def _roll_back(session: AsyncSession) -> None:
    """Roll back after a failure; the failure is what the caller hears of, not a rollback's own error."""
    try:
        async with asyncio.timeout(ROLLBACK_TIMEOUT):
            # A dead connection fails its rollback too; SQLAlchemy has invalidated it by then.
            with contextlib.suppress(Exception):
                await session.rollback()
    except TimeoutError:
        # Dropped rather than returned to the pool: closing the session would wait on it again.
        with contextlib.suppress(Exception):
            await session.invalidate()


def describe(exc: BaseException) -> str:
    """A database error in one line: the driver's message when there is one.

    SQLAlchemy's own text quotes the statement and its parameters (lead data, ciphertexts).
    """
    if isinstance(exc, TimeoutError) and not str(exc):
        return "TimeoutError: no answer in time"
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
