"""The instant path: webhooks become cards in seconds, updates edit them in place, hostile posts change nothing."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from storage import polling
from storage.db import transaction
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key, local
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.polls import poll_now

SAMPLE = json.loads((Path(__file__).parents[1] / "fixtures" / "whatconverts" / "webhook_chat_new.json").read_text())


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def hook(installed: None, app_url: str, slack: SlackClient) -> str:
    """A profile-key connection (no leads yet, so its profile is unknown) and its webhook URL."""
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    reply = await slack.ask("webhook")
    url = reply["text"].split("```")[1]
    assert url.startswith("https://wcs.test/whatconverts/webhook/")
    return local(url, app_url)


async def post(url: str, payload: object, **kw: object) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        if isinstance(payload, bytes):
            return await http.post(url, content=payload, headers={"content-type": "application/json"}, **kw)
        return await http.post(url, json=payload, **kw)


async def deliver(app: Starlette) -> None:
    await Sender(app.state.services, spacing=0).tick()


def cards(fake: FakeSlack, channel: str = "C1") -> list[dict]:
    """Top-level messages (thread replies are not cards)."""
    return [m for m in fake.messages(channel) if not m.get("thread_ts")]


async def test_official_sample_becomes_a_card(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.ask("subscribe")

    response = await post(hook, {**SAMPLE, "date_created": now(), "last_updated": now()})
    await deliver(app)

    assert response.status_code == 200 and response.json() == {"ok": True, "error": None}
    (card,) = cards(fake_slack)
    text = json.dumps(card["blocks"])
    assert "Jeremy Helms" in text and "Lead #153928" in text and "Hello, I like your service!" in text


async def test_hostile_webhooks_have_no_side_effect(
    hook: str, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    await slack.ask("subscribe")
    before = await rawdb.dump(sqlite_url)

    unknown = await post(f"{app_url}/whatconverts/webhook/{'x' * 43}", {**SAMPLE, "date_created": now()})
    huge = await post(hook, b'{"lead_id": 1, "x": "' + b"a" * (10 * 1024 * 1024) + b'"}')
    malformed = await post(hook, b'{"lead_id": 1,')
    not_object = await post(hook, [1, 2, 3])
    no_id = await post(hook, {k: v for k, v in SAMPLE.items() if k != "lead_id"})
    bad_trigger = await post(hook, {**SAMPLE, "trigger": "delete"})
    await deliver(app)

    assert [unknown.status_code, huge.status_code, malformed.status_code] == [404, 413, 400]
    assert [not_object.status_code, no_id.status_code, bad_trigger.status_code] == [400, 422, 400]
    after = await rawdb.dump(sqlite_url)
    assert after["deliveries"] == before["deliveries"] == []
    assert cards(fake_slack) == []


async def test_a_lead_from_another_account_is_refused(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET)
    await slack.ask("subscribe")
    url = local((await slack.ask("webhook"))["text"].split("```")[1], app_url)

    foreign = await post(url, {**SAMPLE, "date_created": now(), "account_id": 999999, "profile_id": 999999})
    ours = await post(url, {**SAMPLE, "lead_id": 777, "date_created": now(), "account_id": 20001, "profile_id": 30001})
    await deliver(app)

    assert foreign.status_code == 403 and ours.status_code == 200
    assert [d["lead_id"] for d in (await rawdb.dump(sqlite_url))["deliveries"]] == [777]


async def test_replays_and_polled_copies_make_one_card(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe")
    lead = fake_wc.add_lead(lead_type="web_form", contact_name="Only Once")
    payload = fake_wc.webhook_payload(lead)

    for _ in range(3):
        assert (await post(hook, payload)).status_code == 200
    await deliver(app)
    await Poller(app.state.services).tick()
    await deliver(app)

    assert len(cards(fake_slack)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 + 1  # the connect DM, then the one card


async def test_updates_edit_the_card_in_place_with_a_thread_reply(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe calls +thread")
    lead = fake_wc.add_lead(lead_type="phone_call", contact_name="Caller", lead_state="In Progress")
    assert (await post(hook, fake_wc.webhook_payload(lead))).status_code == 200
    await deliver(app)
    (card,) = cards(fake_slack)
    assert "In progress" in json.dumps(card["blocks"])

    done = fake_wc.update_lead(lead["lead_id"], lead_state="Completed", call_duration_seconds=192)
    update = {"trigger": "update", "lead_id": lead["lead_id"], "lead_state": "Completed",
              "call_duration_seconds": 192, "quote_value": 1200, "last_updated": done["last_updated"]}  # fmt: skip
    assert (await post(hook, update)).status_code == 200
    await deliver(app)

    (card,) = cards(fake_slack)  # still one top-level message, edited
    assert "In progress" not in json.dumps(card["blocks"]) and "3m 12s" in json.dumps(card["blocks"])
    (edit,) = fake_slack.calls_to("chat.update")
    assert edit.params["ts"] == card["ts"]
    replies = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(replies) == 1 and replies[0]["thread_ts"] == card["ts"]
    assert "Call completed — 3m 12s" in replies[0]["text"] and "Quote value set to $1,200.00" in replies[0]["text"]

    assert (await post(hook, update)).status_code == 200  # a replayed update changes nothing
    await deliver(app)
    assert len(fake_slack.calls_to("chat.update")) == 1


async def test_a_lead_that_turns_spam_is_marked_on_its_card(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe")  # spam hidden by default: but this card exists already
    lead = fake_wc.add_lead(contact_name="Looks Real")
    await post(hook, fake_wc.webhook_payload(lead))
    await deliver(app)
    later = fake_wc.update_lead(lead["lead_id"], spam=True)

    await post(
        hook, {"trigger": "update", "lead_id": lead["lead_id"], "spam": True, "last_updated": later["last_updated"]}
    )
    await deliver(app)

    (card,) = cards(fake_slack)
    assert ":no_entry: Marked as spam" in json.dumps(card["blocks"])
    assert "Looks Real" not in json.dumps(card)  # folded: nobody's details on a spam card


async def test_webhooks_put_polling_on_the_backstop(
    hook: str, app: Starlette, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe")
    await post(hook, fake_wc.webhook_payload(fake_wc.add_lead()))
    services = app.state.services
    async with transaction(services.sessions) as session:
        await polling.reschedule(session, connection_id=1, next_run_at=datetime.now(UTC))

    await Poller(services).tick()

    async with services.sessions() as session:
        state = (await polling.states(session, connection_ids=[1]))[1]
    assert (state.next_run_at - datetime.now(UTC)).total_seconds() > 14 * 60
    assert "instant (webhook) + backstop poll" in (await slack.ask("status"))["text"]


async def test_webhook_url_is_for_admins_and_rotates(
    hook: str, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    refused = await slack.ask("webhook", user_id="U2")
    rotated = await slack.ask("webhook rotate")
    new = local(rotated["text"].split("```")[1], app_url)

    assert "Only workspace admins" in refused["text"]
    assert "the old one no longer works" in rotated["text"] and new != hook
    payload = fake_wc.webhook_payload(fake_wc.add_lead())
    assert (await post(hook, payload)).status_code == 404
    assert (await post(new, payload)).status_code == 200


async def test_a_lead_without_date_created_is_dated_by_its_arrival(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.ask("subscribe")
    undated = {k: v for k, v in SAMPLE.items() if k not in ("date_created", "last_updated")}
    before = int(datetime.now(UTC).timestamp())

    response = await post(hook, undated)
    await deliver(app)

    assert response.status_code == 200
    (card,) = cards(fake_slack)
    (shown,) = re.findall(r"<!date\^(\d+)\^", json.dumps(card["blocks"]))
    assert before <= int(shown) <= datetime.now(UTC).timestamp()


async def test_deep_nesting_is_refused_at_once(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    await slack.ask("subscribe")
    bomb = b'{"lead_id": 5, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # 200 KB, under the size limit
    deep = json.dumps(
        {**SAMPLE, "date_created": now(), "x": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}
    )

    started = time.monotonic()
    answers = [await post(hook, bomb), await post(hook, deep.encode())]
    elapsed = time.monotonic() - started
    await deliver(app)

    assert [a.status_code for a in answers] == [400, 400] and elapsed < 2
    assert answers[0].json() == {"ok": False, "error": "body is not JSON (or nests too deeply)"}
    assert (await rawdb.dump(sqlite_url))["deliveries"] == [] and cards(fake_slack) == []


async def test_a_webhook_on_one_profile_leaves_the_others_at_their_normal_cadence(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    """WhatConverts sets webhooks up per profile (W3): an agency key with one on one profile keeps polling."""
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET)
    await slack.ask("subscribe")
    url = local((await slack.ask("webhook"))["text"].split("```")[1], app_url)
    services = app.state.services
    poller = Poller(services, owner="cadence-poller")

    assert (await post(url, fake_wc.webhook_payload(fake_wc.add_lead(profile_id=30001)))).status_code == 200
    one = await poll_now(services, poller)
    status = (await slack.ask("status"))["text"]
    webhook = (await slack.ask("webhook"))["text"]
    for profile_id in (30002, 30003, 30004):
        assert (await post(url, fake_wc.webhook_payload(fake_wc.add_lead(profile_id=profile_id)))).status_code == 200
    every = await poll_now(services, poller)
    await poller.aclose()

    assert one < 2 * 60  # a master key's normal cadence: every minute
    assert "Mode: polling; instant (webhook) for 1 of 4 profiles" in status
    assert "add this URL to each of them" in webhook
    assert "New-lead webhooks in the last 60 min: Northwind Main Site." in webhook
    assert "Not yet: Bluebird Downtown, Bluebird Uptown, Northwind Emergency Line" in webhook
    assert every > 14 * 60  # every profile sends webhooks: polling is only the backstop
    assert "instant (webhook) + backstop poll" in (await slack.ask("status"))["text"]
