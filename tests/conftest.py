"""Shared fixtures: fake Slack, fresh databases on both engines, settings, and the app on a real port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from bot.app import create_app
from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import (
    CLIENT_ID,
    CLIENT_SECRET,
    MASTER_SECRET,
    MASTER_TOKEN,
    PROFILE_SECRET,
    PROFILE_TOKEN,
    SIGNING_SECRET,
    WC_OAUTH_CLIENT_ID,
    WC_OAUTH_CLIENT_SECRET,
)
from tests.support.databases import fresh_database
from tests.support.install import install
from tests.support.server import serve
from tests.support.settings import make_settings

# A developer's .env (read from the current directory) must not leak into the suite: every test,
# and every process a test starts, sees only the settings it gives. tests/cli/test_first_run.py turns it on.
os.environ["ENV_FILE"] = ""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        fake.add_team("T1", "Acme")
        fake.add_user("T1", "U1", is_admin=True, name="ada")
        fake.add_user("T1", "U2", name="bob")
        fake.add_user("T1", "U3", is_restricted=True, name="guest")
        fake.add_channel("T1", "C1", name="leads")
        yield fake
        # Slack answers invalid_blocks and the app may carry on: fail the test on any payload Slack refuses.
        fake.assert_no_refusals()


@pytest.fixture
def fake_wc() -> Iterator[FakeWhatConverts]:
    with FakeWhatConverts() as fake:
        fake.add_profile_key(PROFILE_TOKEN, PROFILE_SECRET)
        fake.add_master_key(MASTER_TOKEN, MASTER_SECRET)
        fake.register_oauth_client(
            WC_OAUTH_CLIENT_ID, WC_OAUTH_CLIENT_SECRET, "https://wcs.test/whatconverts/oauth/callback"
        )
        fake.authorize_as(PROFILE_TOKEN)
        yield fake


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database; every test using it runs on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (for tests about PostgreSQL alone: locks, several processes)."""
    with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def settings(sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(sqlite_url, fake_slack, fake_wc)


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, run_scheduler=False)


@pytest.fixture
async def app_url(app: Starlette) -> AsyncIterator[str]:
    async with serve(app) as url:
        yield url


@pytest.fixture
async def slack(app_url: str, fake_slack: FakeSlack) -> AsyncIterator[SlackClient]:
    async with SlackClient(
        app_url, SIGNING_SECRET, response_url=fake_slack.response_url(), replies=fake_slack
    ) as client:
        yield client


@pytest.fixture
async def installed(app_url: str, fake_slack: FakeSlack) -> None:
    """The app installed in workspace T1 by U1 (an admin), through the real OAuth flow."""
    response = await install(app_url, fake_slack)
    assert response.status_code == 200
