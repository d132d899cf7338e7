"""A fresh, migrated database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test);
each test gets its own database created from it and dropped afterwards. With REQUIRE_POSTGRES=1
a missing or unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage import migrate


def postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        return None
    return url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(kind: str, tmp_path: Path, *, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of an empty (by default migrated) database of `kind` ('sqlite' or 'postgres')."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        if migrated:
            migrate.upgrade(url)
        yield url
        return
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_POSTGRES_URL not set (CI sets it with REQUIRE_POSTGRES=1)")
    name = f"wcs_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL unreachable at TEST_POSTGRES_URL: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
