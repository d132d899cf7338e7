"""Key rotation as the README tells operators to do it, every step its own process.

Store secrets under K1, run `rotate-keys` with `K2,K1`, start the app with K2 alone: it still
answers and still delivers. `rotate-keys` refuses to report success it didn't have.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path
from subprocess import PIPE

import asyncpg
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.constants import ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.databases import fresh_database
from tests.support.processes import SCRIPT, clean_env, run, serving
from tests.support.workers import worker_env
from tests.support.workspace import UNMETERED, seed_workspace, wait_for_lead

K1 = ENCRYPTION_KEY
K2 = Fernet.generate_key().decode()


def _plaintexts(dump: dict[str, list[dict]], key: str) -> list[str]:
    """Every stored value that `key` decrypts, decrypted, in a stable order."""
    fernet = Fernet(key)
    found = []
    for rows in dump.values():
        for row in rows:
            for value in row.values():
                if isinstance(value, str) and value.startswith("gAAAAA"):
                    try:
                        found.append(fernet.decrypt(value.encode()).decode())
                    except InvalidToken:
                        pass
    return sorted(found)


def _rotate(url: str, keys: str) -> subprocess.CompletedProcess[str]:
    return run("rotate-keys", env=clean_env(DATABASE_URL=url, TOKEN_ENCRYPTION_KEYS=keys))


def _refused(result: subprocess.CompletedProcess[str], url: str, why: str) -> str:
    """The single line `rotate-keys` refused with; it names the database (password hidden) and why."""
    assert result.returncode == 1, result
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert make_url(url).render_as_string(hide_password=True) in lines[0]
    assert why in lines[0], lines[0]
    return lines[0]


async def _status(app_url: str, slack: FakeSlack) -> str:
    async with SlackClient(app_url, SIGNING_SECRET, response_url=slack.response_url(), replies=slack) as client:
        return repr(await client.ask("status"))


def test_rotate_keys_then_run_on_the_new_key_alone(
    database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, tmp_path: Path
) -> None:
    asyncio.run(seed_workspace(database_url, fake_slack, fake_wc))
    secrets = _plaintexts(asyncio.run(rawdb.dump(database_url)), K1)
    assert len(secrets) >= 4  # at least the bot token, its refresh token, the API token and its secret

    rotated = _rotate(database_url, f"{K2},{K1}")

    assert rotated.returncode == 0, rotated.stderr
    assert f"re-encrypted {len(secrets)} secret(s)" in rotated.stdout
    assert "Traceback" not in rotated.stderr
    assert not any(s in rotated.stdout + rotated.stderr for s in secrets)
    stored = asyncio.run(rawdb.dump(database_url))
    assert _plaintexts(stored, K1) == []
    assert _plaintexts(stored, K2) == secrets

    env = worker_env(database_url, fake_slack, fake_wc, TOKEN_ENCRYPTION_KEYS=K2,
                     WHATCONVERTS_DAILY_QUOTA=str(UNMETERED), LOG_LEVEL="INFO")  # fmt: skip
    with serving(env, tmp_path / "serve.log") as app:
        lead = fake_wc.add_lead()
        card = wait_for_lead(fake_slack, "C1", lead["lead_id"])
        status = asyncio.run(_status(app.url, fake_slack))
    assert card["channel"] == "C1"
    assert "healthy" in status and "not yet" not in status, status  # polled since, and fine
    assert "decrypt" not in app.output().lower() and "Traceback" not in app.output()

    again = _rotate(database_url, K2)
    assert again.returncode == 0, again.stderr
    assert re.search(r"re-encrypted 0 secret\(s\) .*; \d+ already current", again.stdout), again.stdout


def test_a_secret_no_key_decrypts_stops_the_rotation_and_changes_nothing(
    database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    asyncio.run(seed_workspace(database_url, fake_slack, fake_wc))
    lost_key = Fernet.generate_key().decode()
    orphan = Fernet(lost_key).encrypt(b"xoxp-written-under-a-dropped-key").decode()
    # The last column rotation visits, so every other secret would already be rewritten without the transaction.
    asyncio.run(_execute(database_url, "UPDATE slack_installations SET user_token = :v", v=orphan))
    before = asyncio.run(rawdb.dump(database_url))

    result = _rotate(database_url, f"{K2},{K1}")

    line = _refused(result, database_url, "TOKEN_ENCRYPTION_KEYS")
    assert "slack_installations.user_token" in line and "Nothing was changed" in line
    assert orphan not in line and "xoxp-" not in line
    assert asyncio.run(rawdb.dump(database_url)) == before


def test_an_empty_database_has_nothing_to_rotate(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="canary-db-password")  # local trust auth ignores it; output must too
    shown = url.render_as_string(hide_password=False)

    result = _rotate(shown, f"{K2},{K1}")

    line = _refused(result, shown, "no stored secrets found")
    assert "canary-db-password" not in result.stderr and "nothing to rotate" in line


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_unmigrated_database_is_refused(kind: str, tmp_path: Path) -> None:
    with fresh_database(kind, tmp_path, migrated=False) as url:
        if kind == "sqlite":
            asyncio.run(_execute(url, "CREATE TABLE unrelated (id INTEGER)"))  # someone else's database
        result = _rotate(url, K1)
    line = _refused(result, url, "no whatconverts-slack tables")
    assert "DATABASE_URL" in line and "whatconverts-slack migrate" in line


def test_a_mistyped_sqlite_path_is_refused_and_not_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'typo.db'}"

    _refused(_rotate(url, K1), url, "no database file")

    assert not (tmp_path / "typo.db").exists()


def test_a_token_refreshed_during_the_rotation_is_kept(
    postgres_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """The app keeps running during rotation; a refresh it commits meanwhile must not be overwritten.

    PostgreSQL only: SQLite has one writer at a time, so nothing can interleave there.
    """
    asyncio.run(seed_workspace(postgres_url, fake_slack, fake_wc))
    # The restarted app (K2 first) refreshes the bot token: both values are new, under K2.
    new_token, new_refresh = (Fernet(K2).encrypt(v).decode() for v in (b"xoxb-new", b"xoxe-1-new"))

    env = clean_env(DATABASE_URL=postgres_url, TOKEN_ENCRYPTION_KEYS=f"{K2},{K1}")
    started: list[subprocess.Popen[str]] = []

    async def refresh_while_rotating() -> None:
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
        app, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            async with app.transaction():
                await app.execute("SELECT id FROM slack_installations FOR UPDATE")
                await app.execute(
                    "UPDATE slack_installations SET bot_token = $1, bot_refresh_token = $2", new_token, new_refresh
                )
                rotation = subprocess.Popen([SCRIPT, "rotate-keys"], env=env, stdout=PIPE, stderr=PIPE, text=True)
                started.append(rotation)
                await _until_blocked(watcher, rotation)
        finally:
            await app.close()
            await watcher.close()

    try:
        asyncio.run(refresh_while_rotating())
        out, err = started[0].communicate(timeout=60)
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    assert started[0].returncode == 0, err
    assert "re-encrypted" in out
    row = asyncio.run(rawdb.dump(postgres_url))["slack_installations"][0]
    assert (row["bot_token"], row["bot_refresh_token"]) == (new_token, new_refresh)
    assert _plaintexts(asyncio.run(rawdb.dump(postgres_url)), K1) == []  # everything else was rotated


async def _until_blocked(watcher: asyncpg.Connection, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Wait until another session waits on a lock: rotate-keys has reached the row being refreshed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        if proc.poll() is not None:
            raise AssertionError("rotate-keys finished without waiting for the refresh's row lock")
        await asyncio.sleep(0.05)
    raise AssertionError("rotate-keys never reached the row being refreshed")


async def _execute(url: str, sql: str, **params: object) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()
