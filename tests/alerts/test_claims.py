"""Claiming a lead from its card: I'll take it, Release, Hand over to…, on every copy of the card.

A lead two subscriptions send to two channels has two cards; a claim on one shows on both, drawn
by the sender (paced, retried), never by an ad-hoc edit. Everything runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from slack_sdk.models.blocks import Block
from sqlalchemy import update
from starlette.applications import Starlette

from bot import ids
from bot.alerts.delivery import MAX_ATTEMPTS, Sender
from bot.alerts.escalations import Escalator
from bot.alerts.poller import Poller
from bot.config import Settings
from storage.db import transaction
from storage.models import Delivery
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.outbox import cards_in, poll_now, posts_to
from tests.support.payloads import message_press
from tests.support.settings import make_settings

CHANNELS = ("C1", "C2")


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def lead(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> int:
    """One phone call posted as a card in #leads (C1) and in #sales (C2): two subscriptions, two cards."""
    fake_slack.add_channel("T1", "C2", name="sales")
    fake_slack.add_user("T1", "U4", name="cat")
    for channel in CHANNELS:
        assert "now gets new leads" in (await slack.ask("subscribe", channel_id=channel))["text"]
    created = fake_wc.add_lead(lead_type="phone_call", contact_name="Pat Caller")
    await Poller(app.state.services).tick()
    await Sender(app.state.services, spacing=0).tick()
    for channel in CHANNELS:
        assert len(cards_in(fake_slack, channel)) == 1
    fake_slack.forget_calls()
    return int(created["lead_id"])


def card(fake: FakeSlack, channel: str) -> dict:
    """The lead's card in `channel` as people see it now (edits applied)."""
    (message,) = cards_in(fake, channel)
    return message


def press(fake: FakeSlack, channel: str, action_id: str, user_id: str, *, selected_user: str | None = None) -> dict:
    """`user_id` presses `action_id` on the card in `channel` as it is shown now (a choice for a picker)."""
    shown = card(fake, channel)
    payload = message_press(
        shown, action_id, user_id=user_id, channel_id=channel, message_ts=shown["ts"], response_url=fake.response_url()
    )
    if selected_user is not None:
        payload["actions"][0]["selected_user"] = selected_user
    return payload


async def settle(app: Starlette) -> None:
    """The work after the acks is done, and the sender has drawn whatever it asked for."""
    await app.state.services.after_ack.drain()
    await Sender(app.state.services, spacing=0).tick()


def action_ids(message: dict) -> list[str]:
    (actions,) = [b for b in message["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
    return [e["action_id"] for e in actions["elements"]]


def text_of(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def valid(message: dict) -> None:
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()


def told(fake: FakeSlack) -> list[str]:
    """What people were told privately (ephemeral replies through the response URL)."""
    return [c.params.get("text", "") for c in fake.calls_to("response_url")]


async def claims(url: str) -> list[dict]:
    return (await rawdb.dump(url))["lead_claims"]


async def arrived_earlier(app: Starlette, minutes: int, seconds: int = 0) -> datetime:
    """Say the lead's cards were posted this long ago (a lead isn't claimed the instant it arrives)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes, seconds=seconds)
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(Delivery).values(sent_at=at))
    return at


async def test_a_claim_shows_on_every_card_of_the_lead(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    arrived = await arrived_earlier(app, 3, 20)
    assert action_ids(card(fake_slack, "C1"))[0] == ids.ACTION_LEAD_CLAIM

    response = await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    assert response.status_code == 200 and not response.content.strip()  # acked at once, empty
    await settle(app)

    for channel in CHANNELS:
        shown = card(fake_slack, channel)
        assert "Claimed by <@U2> · 3 min after it arrived" in text_of(shown), channel
        assert action_ids(shown)[:2] == [ids.ACTION_LEAD_RELEASE, ids.ACTION_LEAD_HAND_OVER]
        assert ids.ACTION_LEAD_CLAIM not in action_ids(shown)
        valid(shown)
    # Edited in place by the sender, one edit per card; nobody was told anything; no new card.
    assert sorted(c.params["channel"] for c in fake_slack.calls_to("chat.update")) == list(CHANNELS)
    assert fake_slack.calls_to("chat.postMessage") == [] and told(fake_slack) == []
    (row,) = await claims(database_url)
    assert (row["claimed_by"], row["first_claimed_by"]) == ("U2", "U2")
    assert abs(_utc(row["arrived_at"]) - arrived) < timedelta(seconds=1)


def _utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def test_a_second_press_is_told_privately_who_has_it_and_nothing_changes(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    stale = press(fake_slack, "C2", ids.ACTION_LEAD_CLAIM, "U4")  # C2's card before anyone claimed it
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)
    before = await claims(database_url)
    fake_slack.forget_calls()

    await slack.interaction(stale)
    await settle(app)

    (reply,) = fake_slack.calls_to("response_url")
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    assert "<@U2> has this lead since <!date^" in reply.params["text"] and "(just now)" in reply.params["text"]
    assert await claims(database_url) == before
    assert fake_slack.calls_to("chat.update") == [] and fake_slack.calls_to("chat.postMessage") == []
    assert "Claimed by <@U2>" in text_of(card(fake_slack, "C2"))


async def test_release_brings_the_button_back_everywhere(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)

    await slack.interaction(press(fake_slack, "C2", ids.ACTION_LEAD_RELEASE, "U2"))
    await settle(app)

    for channel in CHANNELS:
        shown = card(fake_slack, channel)
        assert "Claimed by" not in text_of(shown)
        assert action_ids(shown) == [
            ids.ACTION_LEAD_CLAIM, ids.ACTION_LEAD_QUOTABLE, ids.ACTION_LEAD_NOT_QUOTABLE, ids.ACTION_LEAD_VALUE,
        ]  # fmt: skip
    (row,) = await claims(database_url)
    assert row["claimed_by"] is None and row["claimed_at"] is None
    assert row["first_claimed_by"] == "U2" and row["first_claimed_at"]  # the first claim is kept for the stats
    assert told(fake_slack) == []

    # Anyone may take it now; the time to claim is still the first one's.
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U4"))
    await settle(app)
    again = "Claimed by <@U4> · first claimed by <@U2> under a minute after it arrived"
    assert again in text_of(card(fake_slack, "C2"))


async def test_hand_over_by_the_claimer_then_by_an_admin(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await arrived_earlier(app, 12)
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)

    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_HAND_OVER, "U2", selected_user="U4"))
    await settle(app)

    for channel in CHANNELS:
        assert "Claimed by <@U4> · first claimed by <@U2> 12 min after it arrived" in text_of(card(fake_slack, channel))
    (dm,) = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "U4"]
    assert "<@U2> handed you lead #" in dm.params["text"] and "<#C1>" in dm.params["text"]

    # U1 is a workspace admin: not the holder, still allowed.
    await slack.interaction(press(fake_slack, "C2", ids.ACTION_LEAD_HAND_OVER, "U1", selected_user="U2"))
    await settle(app)

    for channel in CHANNELS:
        assert "Claimed by <@U2> · 12 min after it arrived" in text_of(card(fake_slack, channel))
    (row,) = await claims(database_url)
    assert (row["claimed_by"], row["first_claimed_by"]) == ("U2", "U2")
    assert told(fake_slack) == []


async def test_only_the_holder_or_an_admin_may_release_or_hand_over(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)
    before = await claims(database_url)
    fake_slack.forget_calls()

    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_RELEASE, "U4"))
    await slack.interaction(press(fake_slack, "C2", ids.ACTION_LEAD_HAND_OVER, "U4", selected_user="U4"))
    await settle(app)

    answers = told(fake_slack)
    assert len(answers) == 2
    assert all("<@U2> has this lead: only they, or an admin, can release it or hand it over." in a for a in answers)
    assert await claims(database_url) == before
    assert fake_slack.calls_to("chat.update") == []


async def test_guests_cannot_claim_nor_be_handed_a_lead(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U3"))  # U3 is a guest
    await settle(app)
    assert "guests can't use WhatConverts for Slack" in told(fake_slack)[0]
    assert await claims(database_url) == []

    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_HAND_OVER, "U2", selected_user="U3"))
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_HAND_OVER, "U2", selected_user="U0BOTT1"))
    await settle(app)

    answers = told(fake_slack)[1:]
    assert any("<@U3> is a guest" in a for a in answers) and any("isn't a person" in a for a in answers)
    (row,) = await claims(database_url)
    assert row["claimed_by"] == "U2"


async def test_quotable_keeps_the_claim_on_the_card(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)
    fake_slack.forget_calls()

    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_QUOTABLE, "U4"))
    (edit,) = await fake_slack.wait_for_calls("chat.update")

    shown = json.dumps(edit.params["blocks"], ensure_ascii=False)
    assert "marked quotable by <@U4>" in shown and "Claimed by <@U2>" in shown
    assert ids.ACTION_LEAD_RELEASE in shown


async def test_a_rate_limited_redraw_is_retried_as_an_edit_never_a_new_card(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await app.state.services.after_ack.drain()
    fake_slack.rate_limit_next("chat.update", retry_after=1, times=2)

    report = await Sender(app.state.services, spacing=0).tick()

    assert report.retried == 2
    rows = (await rawdb.dump(database_url))["deliveries"]
    assert [(r["status"], bool(r["needs_update"])) for r in rows] == [("sent", True), ("sent", True)]
    async with transaction(app.state.services.sessions) as session:  # Retry-After has passed
        await session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    await asyncio.sleep(1.1)  # nor may anyone post to those channels before then
    await Sender(app.state.services, spacing=0).tick()
    for channel in CHANNELS:
        assert posts_to(fake_slack, channel) == []
        assert "Claimed by <@U2>" in text_of(card(fake_slack, channel))


async def test_simultaneous_presses_have_one_winner_and_everyone_else_is_told(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    people = [f"U{n}" for n in range(10, 22)]
    for user in people:
        fake_slack.add_user("T1", user, name=user.lower())
    presses = [press(fake_slack, CHANNELS[i % 2], ids.ACTION_LEAD_CLAIM, user) for i, user in enumerate(people)]

    responses = await asyncio.gather(*(slack.interaction(p) for p in presses))
    await settle(app)

    assert {r.status_code for r in responses} == {200}
    (row,) = await claims(database_url)
    winner = row["claimed_by"]
    assert winner in people and row["first_claimed_by"] == winner
    answers = told(fake_slack)
    assert len(answers) == len(people) - 1 and all(f"<@{winner}> has this lead since" in a for a in answers)
    for channel in CHANNELS:
        assert f"Claimed by <@{winner}>" in text_of(card(fake_slack, channel))


async def test_a_card_redrawn_many_times_still_retries_a_failed_edit(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    for _ in range(MAX_ATTEMPTS):  # each claim and each release redraws both cards
        await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
        await settle(app)
        await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_RELEASE, "U2"))
        await settle(app)
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U4"))
    await app.state.services.after_ack.drain()
    fake_slack.fail_next("chat.update", "internal_error", times=2)

    report = await Sender(app.state.services, spacing=0).tick()

    assert (report.retried, report.failed) == (2, 0)  # a new edit's first failure, not its ninth
    rows = (await rawdb.dump(database_url))["deliveries"]
    assert [(r["status"], bool(r["needs_update"]), r["attempts"]) for r in rows] == [("sent", True, 1)] * 2
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    await Sender(app.state.services, spacing=0).tick()
    for channel in CHANNELS:
        assert "Claimed by <@U4>" in text_of(card(fake_slack, channel))


async def test_a_personal_alert_in_a_dm_is_claimed_there_and_in_the_channel(
    lead: int, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """A lead also sent to someone's DM (`subscribe @me`) has a card there too: a claim shows on all three."""
    reply = await slack.ask("subscribe @me calls", user_id="U4", channel_id="C1")
    assert "Your direct messages from the app" in reply["text"]
    fake_wc.add_lead(lead_type="phone_call", contact_name="Dee Emm")
    await poll_now(app)
    await Sender(app.state.services, spacing=0).tick()
    dm = fake_slack.dm_channel("T1", "U4")
    (in_dm,) = [m for m in cards_in(fake_slack, dm) if "Dee Emm" in text_of(m)]
    pressed = message_press(
        in_dm, ids.ACTION_LEAD_CLAIM, user_id="U4", channel_id=dm, message_ts=in_dm["ts"],
        response_url=fake_slack.response_url(),
    )  # fmt: skip
    fake_slack.forget_calls()

    await slack.interaction(pressed)
    await settle(app)

    for channel in (dm, *CHANNELS):
        newest = cards_in(fake_slack, channel)[-1]
        assert "Dee Emm" in text_of(newest) and "Claimed by <@U4>" in text_of(newest)
    assert told(fake_slack) == []


async def test_a_lead_taken_with_the_button_is_never_escalated(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    """`+sla` reminders stop when someone presses I'll take it: the sweep reads the claim the button wrote."""
    assert "now gets new leads" in (await slack.ask("subscribe +sla:5m +escalate:<@U1|ada>"))["text"]
    fake_wc.add_lead(lead_type="phone_call", contact_name="Sal Alert")
    await poll_now(app)
    await Sender(app.state.services, spacing=0).tick()
    await slack.interaction(press(fake_slack, "C1", ids.ACTION_LEAD_CLAIM, "U2"))
    await settle(app)

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11), tick=True):
        await Escalator(app.state.services, owner="test-escalator", spacing=0.0).tick()

    assert [m for m in fake_slack.messages("C1") if m.get("thread_ts")] == []
    assert [r["state"] for r in (await rawdb.dump(database_url))["escalations"]] == ["claimed"]
