"""`alembic upgrade head` on an empty database matches the models: no drift, on both engines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate


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
    before = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("connections", "subscriptions")}
    db.close()

    migrate.upgrade(url)

    db = sqlite3.connect(tmp_path / "old.db")
    db.execute("PRAGMA foreign_keys=ON")  # as the app's engine runs
    try:
        assert {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in before} == before
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        # The newest of each is deleted, then a new one made: it gets a new id, not the deleted one's.
        db.execute("DELETE FROM subscriptions WHERE id = 3")
        db.execute("DELETE FROM connections WHERE id = 2")
        assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)  # the cascade still works
        db.execute(
            "INSERT INTO connections (team_id, label, kind, key_type, daily_quota, owner_user_id, scope_json,"
            " status, created_at, updated_at) VALUES ('T1', 'new', 'api_key', 'profile', 1000, 'U1', '[]', 'ok', ?, ?)",
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
