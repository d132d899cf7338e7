"""Shared fixtures: fake Slack, fresh databases on both engines, settings, and the app on a real port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import create_app
from bot.config import Settings, load_settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support.databases import fresh_database
from tests.support.server import serve

# Canary values: long and unique so the log and database canaries can search for them.
SIGNING_SECRET = "canary-signing-secret-7f3a9c1e5b"
CLIENT_ID = "111.222"
CLIENT_SECRET = "canary-client-secret-4d8e2a6f0c"
ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        fake.add_team("T1", "Acme")
        fake.add_user("T1", "U1", is_admin=True, name="ada")
        fake.add_user("T1", "U2", name="bob")
        fake.add_user("T1", "U3", is_restricted=True, name="guest")
        fake.add_channel("T1", "C1", name="leads")
        yield fake


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database; every test using it runs on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


def make_settings(database_url: str, fake: FakeSlack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "app_base_url": "https://wcs.test",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "slack_api_url": fake.api_url,
        "slack_authorize_url": fake.authorize_url,
        "token_encryption_keys": ENCRYPTION_KEY,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(sqlite_url: str, fake_slack: FakeSlack) -> Settings:
    return make_settings(sqlite_url, fake_slack)


@pytest.fixture
async def app_url(settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(settings, run_scheduler=False)) as url:
        yield url


@pytest.fixture
async def slack(app_url: str, fake_slack: FakeSlack) -> AsyncIterator[SlackClient]:
    async with SlackClient(app_url, SIGNING_SECRET, response_url=fake_slack.response_url()) as client:
        yield client
