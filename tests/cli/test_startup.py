"""A database that isn't there, or isn't migrated: `serve`, `worker` and `migrate` say so in one line
and stop, and a running app's /readyz says which it is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.app import create_app
from storage import migrate
from tests.fakes.slack import FakeSlack
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.databases import fresh_database, postgres_admin_url
from tests.support.processes import clean_env, run
from tests.support.server import serve
from tests.support.settings import make_settings

SLACK_ENV = {
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "TOKEN_ENCRYPTION_KEYS": ENCRYPTION_KEY,
}
# Nothing listens on port 9 (discard) on loopback; the password must never be printed.
CLOSED = "postgresql+asyncpg://wcs:hunter2-secret@127.0.0.1:9/leads"
SHOWN = "postgresql+asyncpg://wcs:***@127.0.0.1:9/leads"


@pytest.fixture
def unmigrated(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgres", tmp_path, migrated=False) as url:
        yield url


def one_line(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "hunter2" not in stderr + result.stdout  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unreachable_database_stops_start_up_with_one_line(command: str) -> None:
    result = run(command, env=clean_env(**SLACK_ENV, DATABASE_URL=CLOSED), timeout=30)

    assert result.returncode == 1
    assert one_line(result).startswith(f"database not reachable at {SHOWN}: ")


def test_a_missing_database_stops_start_up_with_one_line() -> None:
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_POSTGRES_URL not set (CI sets it with REQUIRE_POSTGRES=1)")
    url = make_url(admin).set(database="wcs_no_such_database").render_as_string(hide_password=False)

    result = run("serve", env=clean_env(**SLACK_ENV, DATABASE_URL=url), timeout=30)

    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("database not reachable at ") and 'database "wcs_no_such_database" does not exist' in line


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unmigrated_database_stops_start_up_with_one_line(command: str, unmigrated: str) -> None:
    result = run(command, env=clean_env(**SLACK_ENV, DATABASE_URL=unmigrated), timeout=30)

    assert result.returncode == 1
    need = migrate.head()
    assert one_line(result) == (
        f"database is not migrated (no migration applied, need {need}): run `whatconverts-slack migrate`"
    )


def test_a_database_behind_this_code_stops_start_up_with_one_line(unmigrated: str) -> None:
    migrate.upgrade(unmigrated, "0004")

    result = run("serve", env=clean_env(**SLACK_ENV, DATABASE_URL=unmigrated), timeout=30)

    assert result.returncode == 1
    assert one_line(result) == (
        f"database is not migrated (at 0004, need {migrate.head()}): run `whatconverts-slack migrate`"
    )


def test_migrate_against_an_unreachable_database_says_so_in_one_line() -> None:
    result = run("migrate", env=clean_env(DATABASE_URL=CLOSED), timeout=30)

    assert result.returncode == 1
    assert result.stdout == ""
    assert one_line(result).startswith(f"migrate: database not reachable at {SHOWN}: ")


def test_migrate_against_a_missing_database_says_so_in_one_line() -> None:
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_POSTGRES_URL not set (CI sets it with REQUIRE_POSTGRES=1)")
    url = make_url(admin).set(database="wcs_no_such_database").render_as_string(hide_password=False)

    result = run("migrate", env=clean_env(DATABASE_URL=url), timeout=30)

    assert result.returncode == 1
    assert 'database "wcs_no_such_database" does not exist' in one_line(result)


async def test_readyz_tells_a_database_not_migrated_from_one_not_reachable(
    unmigrated: str, fake_slack: FakeSlack
) -> None:
    await asyncio.to_thread(migrate.upgrade, unmigrated, "0004")
    app = create_app(make_settings(unmigrated, fake_slack), run_scheduler=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        behind = await http.get("/readyz")

    assert behind.status_code == 503
    assert behind.json() == {"status": "unavailable", "database": "not_migrated"}
