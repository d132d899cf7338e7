"""A key's scope stays current: agencies add accounts after connecting, profile keys learn from their leads.

Platform truth W4: an agency key's accounts and profiles grow over time, so they are re-read
daily and when a lead names one we don't know (at most hourly), before a webhook is refused. A
profile key can't list accounts: it learns its account and profile from its first lead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts.poller import Poller
from bot.config import Settings
from storage import polling
from storage.db import transaction
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key, local
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.settings import make_settings

CEDAR = {
    "account_id": 20003,
    "account_name": "Cedar Roofing",
    "profiles": [{"profile_id": 30005, "profile_name": "Cedar Main"}],
}


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """On each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


async def connect(app_url: str, slack: SlackClient, token: str, secret: str) -> str:
    """Connect a key, subscribe #leads to everything, and return the webhook URL."""
    await connect_key(app_url, slack, token=token, secret=secret)
    assert "now gets new leads" in (await slack.ask("subscribe", channel_id="C1"))["text"]
    return local((await slack.ask("webhook"))["text"].split("```")[1], app_url)


async def post(url: str, payload: dict[str, Any]) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.post(url, json=payload)).status_code


async def scope(url: str) -> list[dict]:
    (row,) = (await rawdb.dump(url))["connections"]
    return json.loads(row["scope_json"])


def accounts_in(scope: list[dict]) -> list[int]:
    return sorted(a["account_id"] for a in scope)


@pytest.fixture
async def poller(app: Starlette) -> AsyncIterator[Poller]:
    poller = Poller(app.state.services, owner="scope-poller")
    yield poller
    await poller.aclose()


async def poll_now(app: Starlette, poller: Poller) -> None:
    async with transaction(app.state.services.sessions) as session:
        await polling.reschedule(session, connection_id=1, next_run_at=datetime.now(UTC))
    await poller.tick()


async def test_a_webhook_from_an_account_added_after_connect_is_accepted(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    hook = await connect(app_url, slack, MASTER_TOKEN, MASTER_SECRET)
    fake_wc.add_account(MASTER_TOKEN, CEDAR)
    added = fake_wc.add_lead(profile_id=30005, contact_name="New client")
    read_before = len(fake_wc.calls_to("accounts"))

    accepted = await post(hook, fake_wc.webhook_payload(added))
    foreign = await post(hook, {**fake_wc.webhook_payload(added), "lead_id": 4242, "account_id": 999999,
                                "profile_id": 999999})  # fmt: skip

    assert (accepted, foreign) == (200, 403)  # a lead the key really can't see is still refused
    assert len(fake_wc.calls_to("accounts")) == read_before + 1  # one re-read; the next may come in an hour
    assert accounts_in(await scope(database_url)) == [20001, 20002, 20003]
    assert [d["lead_id"] for d in (await rawdb.dump(database_url))["deliveries"]] == [added["lead_id"]]
    assert "Cedar Roofing (Cedar Main)" in (await slack.ask("status"))["text"]


async def test_a_polled_lead_of_a_new_profile_makes_the_key_re_read_its_accounts(
    installed: None,
    app: Starlette,
    poller: Poller,
    app_url: str,
    slack: SlackClient,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await connect(app_url, slack, MASTER_TOKEN, MASTER_SECRET)
    fake_wc.add_profile(MASTER_TOKEN, 20001, 30006, "Northwind West")
    fake_wc.add_lead(profile_id=30006, contact_name="West side")
    read_before = len(fake_wc.calls_to("accounts"))

    await poll_now(app, poller)
    await poll_now(app, poller)  # the profile is known now: no second re-read

    assert len(fake_wc.calls_to("accounts")) == read_before + 1
    (northwind,) = [a for a in await scope(database_url) if a["account_id"] == 20001]
    assert [p["profile"] for p in northwind["profiles"]] == ["Northwind Main Site", "Northwind Emergency Line",
                                                            "Northwind West"]  # fmt: skip


async def test_an_agency_key_re_reads_its_accounts_daily(
    installed: None,
    app: Starlette,
    poller: Poller,
    app_url: str,
    slack: SlackClient,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await connect(app_url, slack, MASTER_TOKEN, MASTER_SECRET)
    await poll_now(app, poller)
    fake_wc.add_account(MASTER_TOKEN, CEDAR)  # no lead of it yet: only the daily re-read can find it
    read_before = len(fake_wc.calls_to("accounts"))

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=23), tick=False) as clock:
        await poll_now(app, poller)
        assert len(fake_wc.calls_to("accounts")) == read_before
        clock.shift(timedelta(hours=1, minutes=1))
        await poll_now(app, poller)
        await poll_now(app, poller)

    assert len(fake_wc.calls_to("accounts")) == read_before + 1
    assert accounts_in(await scope(database_url)) == [20001, 20002, 20003]


async def test_a_profile_key_learns_its_account_from_a_poll_and_then_refuses_other_accounts(
    installed: None,
    app: Starlette,
    poller: Poller,
    app_url: str,
    slack: SlackClient,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    hook = await connect(app_url, slack, PROFILE_TOKEN, PROFILE_SECRET)  # no lead yet: its profile is unknown
    assert await scope(database_url) == []
    fake_wc.add_lead(contact_name="First caller")

    await poll_now(app, poller)
    learned = await scope(database_url)
    ours = fake_wc.add_lead(contact_name="Second caller")
    foreign = await post(hook, {**fake_wc.webhook_payload(ours), "lead_id": 4242, "account_id": 999, "profile_id": 999})
    accepted = await post(hook, fake_wc.webhook_payload(ours))

    main_site = {"profile_id": 10, "profile": "Main Site"}
    assert learned == [{"account_id": 1, "account": "Acme Co", "profiles": [main_site]}]
    assert (foreign, accepted) == (403, 200)


async def test_a_profile_key_learns_its_account_from_its_first_webhook(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    hook = await connect(app_url, slack, PROFILE_TOKEN, PROFILE_SECRET)
    first = fake_wc.add_lead(contact_name="First caller")

    accepted = await post(hook, fake_wc.webhook_payload(first))
    foreign = await post(hook, {**fake_wc.webhook_payload(first), "lead_id": 4242, "account_id": 999})

    assert (accepted, foreign) == (200, 403)
    assert accounts_in(await scope(database_url)) == [1]
