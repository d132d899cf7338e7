"""Bot token rotation: refreshed ahead of expiry, exactly once however many tasks need it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette

from bot.app import build_services
from bot.services import Services
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support.install import seed_installation
from tests.support.settings import make_settings


@pytest.fixture
async def services(database_url: str, fake_slack: FakeSlack) -> AsyncIterator[Services]:
    services = build_services(make_settings(database_url, fake_slack))
    yield services
    await services.aclose()


async def test_expiring_token_is_refreshed_once_for_ten_concurrent_tasks(
    services: Services, fake_slack: FakeSlack
) -> None:
    seeded = await seed_installation(services, fake_slack, expires_in=60)

    clients = await asyncio.gather(*(services.bot_client(team_id="T1") for _ in range(10)))

    assert fake_slack.refresh_count("T1") == 1
    tokens = {c.token for c in clients if c is not None}
    assert len(tokens) == 1 and tokens != {seeded["access_token"]}
    posted = await clients[0].chat_postMessage(channel="C1", text="hello")  # the new token works
    assert posted["ok"]


async def test_fresh_token_is_not_refreshed(services: Services, fake_slack: FakeSlack) -> None:
    seeded = await seed_installation(services, fake_slack, expires_in=43200)

    client = await services.bot_client(team_id="T1")

    assert client is not None and client.token == seeded["access_token"]
    assert fake_slack.refresh_count() == 0


async def test_spent_refresh_token_means_not_installed(services: Services, fake_slack: FakeSlack) -> None:
    await seed_installation(services, fake_slack, expires_in=60)
    fake_slack.fail_next("oauth.v2.access", error="invalid_refresh_token")

    assert await services.bot_client(team_id="T1") is None
    assert await services.bot_client(team_id="T-unknown") is None


async def test_incoming_request_refreshes_an_expiring_token(
    app: Starlette, fake_slack: FakeSlack, slack: SlackClient
) -> None:
    await seed_installation(app.state.services, fake_slack, expires_in=60)

    replies = await asyncio.gather(*(slack.command("help") for _ in range(5)))

    assert all(r.status_code == 200 for r in replies)
    assert fake_slack.refresh_count("T1") == 1


async def test_two_processes_never_spend_one_refresh_token(
    services: Services, database_url: str, fake_slack: FakeSlack
) -> None:
    # A second Services has its own engine and in-process locks, like a second instance:
    # only the database row lock (or SQLite's write lock) keeps the refresh single.
    other = build_services(make_settings(database_url, fake_slack))
    try:
        await seed_installation(services, fake_slack, expires_in=60)
        clients = await asyncio.gather(
            *(s.bot_client(team_id="T1") for _ in range(5) for s in (services, other)),
        )
    finally:
        await other.aclose()

    assert fake_slack.refresh_count("T1") == 1
    assert len({c.token for c in clients if c is not None}) == 1
