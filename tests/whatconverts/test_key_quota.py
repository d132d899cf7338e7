"""One WhatConverts key, one daily quota, however many connections and workspaces use it.

Workspaces T1 (admin U1, #leads C1) and T2 (admin U9, #beta C9) both connect the same profile
key (1,000 requests a day), as `main` and `beta`, and subscribe a channel each. WhatConverts
counts the key once; so must we, and the key's polls must share one budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller, PollReport
from bot.config import Settings
from storage import polling
from storage.db import transaction
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import button_url, connect_key, connect_link, submit_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.install import install
from tests.support.settings import make_settings

BETA = {"team_id": "T2", "user_id": "U9", "channel_id": "C9"}
Cycle = Callable[[], Awaitable[PollReport]]


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def shared_key(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_slack.add_team("T2", "Beta")
    fake_slack.add_user("T2", "U9", is_admin=True, name="cy")
    fake_slack.add_channel("T2", "C9", name="beta")
    assert (await install(app_url, fake_slack, team_id="T2", user_id="U9")).status_code == 200
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET, text="connect main")
    link = button_url(await slack.ask("connect beta", **BETA))
    assert (await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET))[1].status_code == 200
    assert "now gets new leads from `main`" in (await slack.ask("subscribe", channel_id="C1"))["text"]
    assert "now gets new leads from `beta`" in (await slack.ask("subscribe", **BETA))["text"]
    fake_slack.clear()


@pytest.fixture
def tomorrow_morning() -> Iterator[datetime]:
    """06:00 UTC tomorrow: a fresh quota day (for WhatConverts and for us) with 18 hours left in it."""
    at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    with time_machine.travel(at, tick=True):
        yield at


@pytest.fixture
async def cycle(app: Starlette) -> AsyncIterator[Callable[[], Awaitable[PollReport]]]:
    """One poller tick, then one sender tick (unpaced) to post what it found."""
    poller = Poller(app.state.services, owner="test-poller")
    sender = Sender(app.state.services, owner="test-sender", spacing=0.0)

    async def run() -> PollReport:
        report = await poller.tick()
        await sender.tick()
        return report

    yield run
    await poller.aclose()
    await sender.aclose()


async def states(url: str) -> dict[str, dict[str, Any]]:
    dump = await rawdb.dump(url)
    labels = {row["id"]: row["label"] for row in dump["connections"]}
    return {labels[row["connection_id"]]: row for row in dump["poll_state"]}


def utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def make_due(app: Starlette, url: str, label: str) -> None:
    dump = await rawdb.dump(url)
    (connection_id,) = [row["id"] for row in dump["connections"] if row["label"] == label]
    async with transaction(app.state.services.sessions) as session:
        await polling.reschedule(session, connection_id=connection_id, next_run_at=datetime.now(UTC))


def next_midnight(moment: datetime) -> datetime:
    return (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- one budget


async def test_two_workspaces_on_one_key_share_one_quota(
    shared_key: None, tomorrow_morning: datetime, cycle: Cycle, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts, database_url: str,
) -> None:  # fmt: skip
    lead = fake_wc.add_lead(contact_name="Shared caller")

    report = await cycle()

    assert (report.polled, report.failed) == (2, 0)
    assert [m for m in fake_slack.messages("C1") if "blocks" in m] and [
        m for m in fake_slack.messages("C9") if "blocks" in m
    ], lead
    spent = fake_wc.requests_today(PROFILE_TOKEN)
    assert spent == 2  # one poll each, on the one key
    # Both workspaces see the key's count, which is WhatConverts' count.
    for who in ({}, BETA):
        status = (await slack.ask("status", **who))["text"]
        assert f"Quota today: {spent} / 1,000" in status, status
        assert "shared by the key's 2 connections" in status
    usage = {
        str(row["day"]): (row["key_id"], row["requests"]) for row in (await rawdb.dump(database_url))["quota_usage"]
    }
    (key_id, counted) = usage[tomorrow_morning.date().isoformat()]  # one row: the key's
    assert counted == spent and key_id.startswith("key:") and PROFILE_TOKEN not in key_id
    # The budget is shared: 800 requests over 18 hours for two connections is a poll every
    # 18 h * 2 / 799 = 162 s each (one connection alone would poll every 81 s).
    for label, state in (await states(database_url)).items():
        wait = (utc(state["next_run_at"]) - tomorrow_morning).total_seconds()
        assert 155 <= wait <= 175, (label, wait)


async def test_the_daily_limit_heard_by_one_connection_stops_every_connection_of_the_key(
    shared_key: None, tomorrow_morning: datetime, app: Starlette, cycle: Cycle, slack: SlackClient,
    fake_wc: FakeWhatConverts, database_url: str,
) -> None:  # fmt: skip
    assert (await cycle()).polled == 2
    fake_wc.set_daily_limit(PROFILE_TOKEN, fake_wc.requests_today(PROFILE_TOKEN))  # spent elsewhere (Zapier…)
    await make_due(app, database_url, "main")

    report = await cycle()

    assert (report.polled, report.failed) == (1, 1) and report.errors == ["WhatConvertsQuotaExceeded"]
    midnight = next_midnight(tomorrow_morning)
    assert {label: utc(state["next_run_at"]) for label, state in (await states(database_url)).items()} == {
        "main": midnight,
        "beta": midnight,  # never asked, and not asking: the key is spent for everyone until the reset
    }
    asked = len(fake_wc.calls_to("leads"))
    assert (await cycle()).polled == 0 and len(fake_wc.calls_to("leads")) == asked
    assert "daily API limit for this key is used up" in repr((await slack.ask("status"))["blocks"])


# --------------------------------------------------------------------------- one key, one connection per workspace


async def test_connecting_a_key_twice_in_one_workspace_offers_to_reconnect_it(
    shared_key: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    before = (await rawdb.dump(database_url))["connections"]
    link = await connect_link(slack, text="connect again")
    asked = len(fake_wc.calls)

    _, twice = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    assert twice.status_code == 400
    assert "already connected in this workspace as &quot;main&quot;" in twice.text
    assert "/whatconverts connect main" in twice.text and "Reconnect" in twice.text
    assert PROFILE_SECRET not in twice.text
    assert (await rawdb.dump(database_url))["connections"] == before  # no second connection, nothing changed
    assert len(fake_wc.calls) == asked  # refused before spending the key's requests on a check
    assert fake_slack.calls_to("chat.postMessage") == []
    # What it offers works: the existing connection takes the key again, in place.
    again = await connect_link(slack, text="connect main")
    _, reconnected = await submit_key(app_url, again, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    assert reconnected.status_code == 200
    after = (await rawdb.dump(database_url))["connections"]
    assert sorted(row["label"] for row in after) == ["beta", "main"]


# --------------------------------------------------------------------------- the share an admin allows


async def test_an_admin_sets_the_keys_share_for_every_connection_of_it(
    shared_key: None, tomorrow_morning: datetime, cycle: Cycle, slack: SlackClient, database_url: str
) -> None:
    member = await slack.ask("quota main 50", user_id="U2")
    assert "Only workspace admins" in member["text"]

    reply = await slack.ask("quota main 50")

    assert "`main` may now spend 50% of its key's daily WhatConverts quota: 500 of 1,000" in reply["text"]
    for who in ({}, BETA):  # the key's budget is one: the other workspace's connection follows
        assert "(the app uses up to 50%)" in (await slack.ask("status", **who))["text"]
    assert "`beta` spends up to 50%" in (await slack.ask("quota", **BETA))["text"]
    assert (await cycle()).polled == 2
    # 500 requests over 18 hours for two connections: every 18 h * 2 / 499 = 260 s.
    for label, state in (await states(database_url)).items():
        wait = (utc(state["next_run_at"]) - tomorrow_morning).total_seconds()
        assert 250 <= wait <= 275, (label, wait)


@pytest.mark.parametrize("text", ["quota main 0", "quota main 101", "quota main half", "quota main 50 60"])
async def test_a_share_out_of_range_gets_a_usage_line(
    shared_key: None, slack: SlackClient, text: str, database_url: str
) -> None:
    reply = await slack.ask(text)
    assert "Usage: `/whatconverts quota [label] [percent]`" in reply["text"]
    assert {row["quota_share"] for row in (await rawdb.dump(database_url))["connections"]} == {None}
