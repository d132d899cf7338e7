"""Connecting WhatConverts with an API token and secret, through our web page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_link, local, state_of, submit_key
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN


async def test_profile_key_connects_and_shows_in_status(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str,
) -> None:  # fmt: skip
    fake_wc.add_lead()  # a profile key's profile name is only visible through its leads
    ack = await slack.command("connect")
    assert ack.status_code == 200 and ack.text == ""  # acked at once; the link follows on response_url
    body = (await fake_slack.wait_for_calls("response_url"))[-1].params
    assert body["response_type"] == "ephemeral"
    link = body["blocks"][1]["elements"][0]["url"]
    assert link.startswith("https://wcs.test/whatconverts/connect?state=")
    assert len(state_of(link)) >= 22  # >= 128 random bits

    page, result = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    assert page.status_code == 200 and 'name="state"' not in page.text and "name=state" in page.text
    assert result.status_code == 200 and "Connected" in result.text
    assert "/whatconverts subscribe" in result.text
    assert PROFILE_SECRET not in page.text + result.text
    checks = [(c.path, c.query.get("leads_per_page")) for c in fake_wc.calls if c.path.startswith("/api/v1/")]
    assert ("/api/v1/leads", "1") in checks and ("/api/v1/accounts", None) in [(p, None) for p, _ in checks]
    dm = fake_slack.calls_to("chat.postMessage")
    assert len(dm) == 1 and dm[0].params["channel"] == "U1" and "main-site" in dm[0].params["text"]

    rows = (await rawdb.dump(sqlite_url))["connections"]
    assert len(rows) == 1
    assert rows[0]["key_type"] == "profile" and rows[0]["daily_quota"] == 1000 and rows[0]["kind"] == "api_key"
    assert PROFILE_SECRET not in await rawdb.dump_text(sqlite_url)
    assert PROFILE_TOKEN not in await rawdb.dump_text(sqlite_url)

    status = (await slack.ask("status"))["text"]
    assert "main-site" in status and "API key, profile" in status and "healthy" in status
    assert "Quota today: 2 / 1,000" in status
    assert PROFILE_SECRET not in status


async def test_master_key_is_detected_with_its_accounts(
    installed: None, app_url: str, slack: SlackClient, sqlite_url: str
) -> None:
    link = await connect_link(slack, text="connect agency")

    _, result = await submit_key(app_url, link, token=MASTER_TOKEN, secret=MASTER_SECRET)

    assert result.status_code == 200
    row = (await rawdb.dump(sqlite_url))["connections"][0]
    assert row["label"] == "agency" and row["key_type"] == "master" and row["daily_quota"] == 10000
    status = (await slack.ask("status"))["text"]
    assert "*agency* — API key, master" in status


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "Unauthorized"),  # what live probes of the real API got
        (403, "This endpoint requires a Master Account API key."),
        (400, "Invalid request."),
        (404, "Not found."),
    ],
)
async def test_a_profile_key_refused_accounts_in_any_4xx_connects_as_a_profile_key(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str,
    status: int, message: str,
) -> None:  # fmt: skip
    fake_wc.add_lead()
    fake_wc.error_message_next("accounts", message, status=status)
    link = await connect_link(slack)

    _, result = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    assert result.status_code == 200 and "Connected" in result.text, result.text
    (row,) = (await rawdb.dump(sqlite_url))["connections"]
    assert (row["key_type"], row["daily_quota"], row["label"]) == ("profile", 1000, "main-site")


async def test_a_throttled_accounts_check_asks_to_try_again_rather_than_guess(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    fake_wc.rate_limit_next("accounts")  # a master key, throttled: "profile" would cost it 9,000 requests a day
    link = await connect_link(slack)

    _, busy = await submit_key(app_url, link, token=MASTER_TOKEN, secret=MASTER_SECRET)

    assert busy.status_code == 400 and "busy" in busy.text
    assert (await rawdb.dump(sqlite_url))["connections"] == []
    _, later = await submit_key(app_url, link, token=MASTER_TOKEN, secret=MASTER_SECRET)
    assert later.status_code == 200
    assert (await rawdb.dump(sqlite_url))["connections"][0]["key_type"] == "master"


async def test_wrong_key_shows_the_form_again_and_stores_nothing(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    link = await connect_link(slack)

    _, wrong = await submit_key(app_url, link, token=PROFILE_TOKEN, secret="not-the-secret-at-all")

    assert wrong.status_code == 400
    assert "accept that API token and secret" in wrong.text
    assert "not-the-secret-at-all" not in wrong.text and "name=api_token" in wrong.text
    assert (await rawdb.dump(sqlite_url))["connections"] == []
    assert fake_slack.calls_to("chat.postMessage") == []
    # The link is still good for a corrected attempt.
    _, right = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    assert right.status_code == 200


async def test_expired_reused_and_forged_links_are_refused(
    installed: None, app_url: str, slack: SlackClient, sqlite_url: str
) -> None:
    used = await connect_link(slack)
    assert (await submit_key(app_url, used, token=PROFILE_TOKEN, secret=PROFILE_SECRET))[1].status_code == 200
    old = await connect_link(slack)

    _, reused = await submit_key(app_url, used, token=MASTER_TOKEN, secret=MASTER_SECRET)
    forged_link = used.replace(state_of(used), "A" * 43)
    async with httpx.AsyncClient() as browser:
        forged = await browser.get(local(forged_link, app_url))
        garbage = await browser.get(f"{app_url}/whatconverts/connect", params={"state": "<script>"})
        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
            expired = await browser.get(local(old, app_url))

    assert reused.status_code == 410 and "expired or was already used" in reused.text
    assert forged.status_code == 410 and garbage.status_code == 410 and expired.status_code == 410
    assert "<script>" not in garbage.text
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1


async def test_concurrent_submits_of_one_link_make_one_connection(
    installed: None, app_url: str, slack: SlackClient, sqlite_url: str
) -> None:
    link = await connect_link(slack)

    results = await asyncio.gather(
        *(submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET) for _ in range(10))
    )

    codes = sorted(result.status_code for _, result in results)
    assert codes.count(200) == 1 and set(codes) == {200, 410}
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1


async def test_guests_and_members_may_not_connect(installed: None, slack: SlackClient, sqlite_url: str) -> None:
    guest = await slack.ask("connect", user_id="U3")
    member = await slack.ask("connect", user_id="U2")
    guest_status = await slack.ask("status", user_id="U3")

    assert "guests can't use" in guest["text"] and "guests can't use" in guest_status["text"]
    assert "Only workspace admins" in member["text"]
    assert (await rawdb.dump(sqlite_url))["connect_states"] == []


async def test_several_connections_and_labels(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead()
    for text, token, secret in (("connect", PROFILE_TOKEN, PROFILE_SECRET), ("connect", MASTER_TOKEN, MASTER_SECRET)):
        link = await connect_link(slack, text=text)
        assert (await submit_key(app_url, link, token=token, secret=secret))[1].status_code == 200

    status = await slack.ask("status")
    assert status["blocks"][0]["text"]["text"] == "*WhatConverts connections (2)*"
    assert "*main-site* — API key, profile" in status["text"]
    assert "— API key, master" in status["text"]
    bad = (await slack.ask("connect Bad/Label"))["text"]
    assert bad.startswith("A label is 1 to 32 characters")
    two_words = (await slack.ask("connect two words"))["text"]
    assert "Usage: `/whatconverts connect [label]`" in two_words
