"""`alembic upgrade head` on an empty database matches the models (no drift, on both engines), and data
migrations carry the rows they change."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from bot.app import build_services
from storage import migrate
from storage.crypto import Cipher
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.constants import ENCRYPTION_KEY
from tests.support.databases import fresh_database
from tests.support.settings import make_settings


async def test_migrations_match_models(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


def test_sqlite_connection_and_subscription_ids_are_never_reused(tmp_path: Path) -> None:
    """0007 rebuilds both tables with AUTOINCREMENT, keeping every row and what points at it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0006")
    db = sqlite3.connect(tmp_path / "old.db")
    now = "2026-01-01 00:00:00"
    for cid, label in ((1, "acme"), (2, "main")):
        db.execute(
            "INSERT INTO connections (id, team_id, label, kind, key_type, daily_quota, owner_user_id, scope_json,"
            " status, created_at, updated_at) VALUES (?, 'T1', ?, 'api_key', 'profile', 1000, 'U1', '[]', 'ok', ?, ?)",
            (cid, label, now, now),
        )
    for sid in (1, 2, 3):
        db.execute(
            "INSERT INTO subscriptions (id, team_id, connection_id, channel_id, filters_json, created_by, status,"
            " start_at, created_at, updated_at) VALUES (?, 'T1', 2, 'C1', '{}', 'U1', 'active', ?, ?, ?)",
            (sid, now, now, now),
        )
    db.execute(
        "INSERT INTO deliveries (id, subscription_id, team_id, channel_id, lead_id, lead_json, status, attempts,"
        " next_attempt_at, uncertain, notes_json, created_at) VALUES (7, 3, 'T1', 'C1', 42, '{}', 'sent', 1, ?, 0,"
        " '[]', ?)",
        (now, now),
    )
    db.commit()
    # Later migrations add columns; the rows must keep every value they had.
    columns = {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in ("connections", "subscriptions")}

    def rows(db: sqlite3.Connection) -> dict[str, list]:
        return {
            t: db.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY 1").fetchall() for t, cols in columns.items()
        }

    before = rows(db)
    db.close()

    migrate.upgrade(url)

    db = sqlite3.connect(tmp_path / "old.db")
    db.execute("PRAGMA foreign_keys=ON")  # as the app's engine runs
    try:
        assert rows(db) == before
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        # The newest of each is deleted, then a new one made: it gets a new id, not the deleted one's.
        db.execute("DELETE FROM subscriptions WHERE id = 3")
        db.execute("DELETE FROM connections WHERE id = 2")
        assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)  # the cascade still works
        db.execute(
            "INSERT INTO connections (team_id, label, kind, key_type, daily_quota, key_id, owner_user_id, scope_json,"
            " status, created_at, updated_at)"
            " VALUES ('T1', 'new', 'api_key', 'profile', 1000, 'own:x', 'U1', '[]', 'ok', ?, ?)",
            (now, now),
        )
        db.execute(
            "INSERT INTO subscriptions (team_id, connection_id, channel_id, filters_json, created_by, status,"
            " start_at, created_at, updated_at) VALUES ('T1', 1, 'C1', '{}', 'U1', 'active', ?, ?, ?)",
            (now, now, now),
        )
        ids = {t: db.execute(f"SELECT max(id) FROM {t}").fetchone()[0] for t in ("connections", "subscriptions")}
        assert ids == {"connections": 3, "subscriptions": 4}
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, migrated=False) as url:
        yield url


async def test_quota_counts_follow_connections_to_their_keys(unmigrated_url: str, fake_slack: FakeSlack) -> None:
    """0008 keys each old connection's count to a budget of its own; the app then finds their keys:
    two workspaces' connections of one API key end up with one identity and one count."""
    url = unmigrated_url
    await asyncio.to_thread(migrate.upgrade, url, "0007")
    cipher = Cipher([ENCRYPTION_KEY])
    today, yesterday = date.today(), date.today() - timedelta(days=1)
    stamp: object = datetime(2026, 1, 1, tzinfo=UTC) if url.startswith("postgresql") else "2026-01-01 00:00:00"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for cid, team, token in ((1, "T1", "tok-shared"), (2, "T2", "tok-shared"), (3, "T1", "tok-other")):
                await conn.execute(
                    text(
                        "INSERT INTO connections (id, team_id, label, kind, key_type, daily_quota, owner_user_id,"
                        " api_token, api_secret, scope_json, status, created_at, updated_at) VALUES (:id, :team,"
                        " :label, 'api_key', 'profile', 1000, 'U1', :token, :secret, '[]', 'ok', :at, :at)"
                    ),
                    {"id": cid, "team": team, "label": f"c{cid}", "token": cipher.encrypt(token),
                     "secret": cipher.encrypt("s"), "at": stamp},
                )  # fmt: skip
            for cid, day, requests in ((1, today, 30), (2, today, 12), (3, today, 5), (1, yesterday, 7)):
                await conn.execute(
                    text("INSERT INTO quota_usage (connection_id, day, requests) VALUES (:c, :d, :n)"),
                    {"c": cid, "d": day, "n": requests},
                )
    finally:
        await engine.dispose()

    await asyncio.to_thread(migrate.upgrade, url)

    def usage(dump: dict) -> dict[tuple[str, str], int]:
        return {(row["key_id"], str(row["day"])): row["requests"] for row in dump["quota_usage"]}

    migrated = await rawdb.dump(url)
    assert sorted((row["id"], row["key_id"]) for row in migrated["connections"]) == [
        (1, "own:1"),
        (2, "own:2"),
        (3, "own:3"),
    ]
    assert usage(migrated) == {
        ("own:1", str(today)): 30,
        ("own:2", str(today)): 12,
        ("own:3", str(today)): 5,
        ("own:1", str(yesterday)): 7,
    }

    services = build_services(make_settings(url, fake_slack))
    try:
        assert await services.keys.adopt() == 3
        assert await services.keys.adopt() == 0  # nothing left to find
        shared = await services.keys.of("tok-shared")
    finally:
        await services.aclose()

    adopted = await rawdb.dump(url)
    keys = {row["id"]: row["key_id"] for row in adopted["connections"]}
    assert keys[1] == keys[2] == shared and shared.startswith("key:") and keys[3] not in (shared, "own:3")
    assert "tok-shared" not in repr(adopted) and "tok-other" not in repr(adopted)
    assert usage(adopted) == {(shared, str(today)): 42, (shared, str(yesterday)): 7, (keys[3], str(today)): 5}
    (secret,) = adopted["app_secrets"]
    assert secret["name"] == "key_identity" and cipher.decrypt(secret["value"])  # kept encrypted


async def test_downgrading_0008_charges_each_connection_its_keys_count(unmigrated_url: str) -> None:
    url = unmigrated_url
    await asyncio.to_thread(migrate.upgrade, url)
    stamp: object = datetime(2026, 1, 1, tzinfo=UTC) if url.startswith("postgresql") else "2026-01-01 00:00:00"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for cid, team in ((1, "T1"), (2, "T2")):
                await conn.execute(
                    text(
                        "INSERT INTO connections (id, team_id, label, kind, key_type, daily_quota, key_id,"
                        " owner_user_id, scope_json, status, created_at, updated_at) VALUES (:id, :team, 'main',"
                        " 'api_key', 'profile', 1000, 'key:k', 'U1', '[]', 'ok', :at, :at)"
                    ),
                    {"id": cid, "team": team, "at": stamp},
                )
            await conn.execute(
                text("INSERT INTO quota_usage (key_id, day, requests) VALUES ('key:k', :d, 9)"), {"d": date.today()}
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "0007")

    rows = (await rawdb.dump(url))["quota_usage"]
    assert sorted((row["connection_id"], row["requests"]) for row in rows) == [(1, 9), (2, 9)]


async def test_connections_keep_dollars_and_us_numbers_after_0010(unmigrated_url: str) -> None:
    """0010 gives every existing connection what its cards showed until then (USD, US), and goes back cleanly."""
    url = unmigrated_url
    await asyncio.to_thread(migrate.upgrade, url, "0009")
    stamp: object = datetime(2026, 1, 1, tzinfo=UTC) if url.startswith("postgresql") else "2026-01-01 00:00:00"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO connections (id, team_id, label, kind, key_type, daily_quota, key_id,"
                    " owner_user_id, scope_json, status, created_at, updated_at) VALUES (7, 'T1', 'main',"
                    " 'api_key', 'profile', 1000, 'key:k', 'U1', '[]', 'ok', :at, :at)"
                ),
                {"at": stamp},
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(migrate.upgrade, url)

    (row,) = (await rawdb.dump(url))["connections"]
    assert (row["id"], row["label"], row["currency"], row["country"]) == (7, "main", "USD", "US")

    await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "0009")
    (row,) = (await rawdb.dump(url))["connections"]
    assert row["label"] == "main" and "currency" not in row and "country" not in row
