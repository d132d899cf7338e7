"""Bot token rotation: refreshed ahead of expiry, exactly once however many tasks need it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from starlette.applications import Starlette

from bot.app import build_services
from bot.services import Services
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
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


@pytest.mark.parametrize("fault", ["internal_error", "fatal_error", "http_503"])
async def test_a_failed_refresh_keeps_the_current_token_and_is_retried_after_a_backoff(
    fault: str, services: Services, fake_slack: FakeSlack, database_url: str
) -> None:
    seeded = await seed_installation(services, fake_slack, expires_in=3600)  # due: refreshed 2 h ahead
    if fault.startswith("http_"):
        fake_slack.http_error_next("oauth.v2.access", int(fault[5:]))
    else:
        fake_slack.fail_next("oauth.v2.access", fault)

    first = await services.bot_client(team_id="T1")
    again = await services.bot_client(team_id="T1")

    assert first is not None and first.token == seeded["access_token"]
    assert again is not None and again.token == seeded["access_token"]
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1  # the backoff holds the second try
    [row] = (await rawdb.dump(database_url))["slack_installations"]
    assert row["status"] == "active" and row["refresh_failures"] == 1 and row["refresh_retry_at"] is not None
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        services.tokens.forget()
        later = await services.bot_client(team_id="T1")
    assert later is not None and later.token != seeded["access_token"] and fake_slack.refresh_count("T1") == 1
    [row] = (await rawdb.dump(database_url))["slack_installations"]
    assert row["refresh_failures"] == 0 and row["refresh_retry_at"] is None


async def test_a_dead_refresh_token_serves_the_token_until_it_expires_then_waits_for_a_reinstall(
    services: Services, fake_slack: FakeSlack, database_url: str
) -> None:
    seeded = await seed_installation(services, fake_slack, expires_in=600)
    fake_slack.fail_next("oauth.v2.access", error="invalid_refresh_token")

    client = await services.bot_client(team_id="T1")

    assert client is not None and client.token == seeded["access_token"]
    [row] = (await rawdb.dump(database_url))["slack_installations"]
    assert row["status"] == "needs_reinstall" and "invalid_refresh_token" in row["status_reason"]
    assert row["bot_refresh_token"] is None and row["installer_user_id"] == "U1"
    problems = (await rawdb.dump(database_url))["problems"]
    assert [p["subject"] for p in problems] == ["workspace"] and "/slack/install" in problems[0]["fix"]
    # The installer is told while the token still works.
    [dm] = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "U1"]
    assert "reinstalled" in dm.params["text"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        services.tokens.forget()
        assert await services.bot_client(team_id="T1") is None
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1  # a dead refresh token isn't tried again
    assert await services.bot_client(team_id="T-unknown") is None


async def test_token_expired_refreshes_once_for_every_caller_holding_the_old_token(
    services: Services, fake_slack: FakeSlack
) -> None:
    seeded = await seed_installation(services, fake_slack, expires_in=43200)
    fake_slack.expire_token(seeded["access_token"])

    fresh = await asyncio.gather(
        *(services.tokens.refresh(team_id="T1", stale_token=seeded["access_token"]) for _ in range(5))
    )

    assert fake_slack.refresh_count("T1") == 1
    assert len({c.bot_token for c in fresh if c is not None}) == 1 and None not in fresh
    assert fresh[0] is not None and fresh[0].bot_token != seeded["access_token"]


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
