"""Personal alerts (`subscribe @me`): cards in the person's DM from the app, edited there, paced, and
stopped when Slack says the person was deactivated."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from starlette.applications import Starlette

from bot import ids
from bot.alerts.delivery import Sender
from bot.alerts.digests import Summaries
from bot.app import build_services
from bot.config import Settings
from bot.services import Services
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.outbox import cards_in, new_leads, poll_now, posts_to, rows, unpaced
from tests.support.payloads import message_press
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Services]:
    """Another instance on the same database (a worker process), with its own users.info cache: the
    app's remembers for a minute that U2 was active when they subscribed."""
    other = build_services(settings)
    await other.start()
    yield other
    await other.aclose()


async def subscribe_me(slack: SlackClient, text: str = "", user_id: str = "U2") -> dict:
    reply = await slack.ask(f"subscribe @me {text}".strip(), user_id=user_id, channel_id="C1")
    assert "Your direct messages from the app" in reply["text"], reply["text"]
    return reply


def showing(messages: list[dict], name: str) -> list[dict]:
    return [m for m in messages if name in json.dumps(m)]


async def test_a_personal_alert_lands_in_the_users_dm_with_buttons_and_is_edited_there(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await subscribe_me(slack, "calls +thread")
    fake_slack.clear()
    call = fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller", lead_state="In Progress")
    fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")  # not a call: not for U2

    await poll_now(app)
    await unpaced(app).run()

    (post,) = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "U2"  # posted to the user: Slack puts it in the app's DM
    dm = fake_slack.dm_channel("T1", "U2")
    (card,) = cards_in(fake_slack, dm)
    assert showing([card], "Carla Caller") and fake_slack.messages("C1") == []
    actions = [b for b in card["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        ids.ACTION_LEAD_CLAIM,
        ids.ACTION_LEAD_QUOTABLE,
        ids.ACTION_LEAD_NOT_QUOTABLE,
        ids.ACTION_LEAD_VALUE,
    ]
    (delivery,) = await rows(database_url, "deliveries")
    assert (delivery["channel_id"], delivery["card_channel_id"], delivery["status"]) == ("U2", dm, "sent")

    # The call completes: the card is edited in the DM (Slack wants its D… id), and +thread replies there.
    fake_wc.update_lead(call["lead_id"], lead_state="Completed", call_duration_seconds=95)
    await poll_now(app)
    await unpaced(app).run()

    (edit,) = fake_slack.calls_to("chat.update")
    assert (edit.params["channel"], edit.params["ts"]) == (dm, card["ts"])
    (reply,) = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert (reply["channel"], reply["thread_ts"]) == (dm, card["ts"])
    top = [m for m in fake_slack.messages(dm) if not m.get("thread_ts")]
    assert len(top) == 1 and "1m 35s" in json.dumps(top[0]["blocks"])

    # Its buttons work from the DM: the press names the D… channel, the card is edited there.
    press = message_press(post.params, ids.ACTION_LEAD_QUOTABLE, user_id="U2", channel_id=dm, message_ts=card["ts"])
    await slack.interaction(press)
    (_, pressed) = await fake_slack.wait_for_calls("chat.update", 2)
    assert pressed.params["channel"] == dm and "marked quotable by <@U2>" in json.dumps(pressed.params["blocks"])
    assert fake_wc.get_lead(call["lead_id"])["quotable"] == "Yes"
    assert "marked quotable by <@U2>" in json.dumps(fake_slack.messages(dm)[0]["blocks"])


async def test_leads_to_one_dm_are_paced_like_a_channel(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await subscribe_me(slack)
    fake_slack.clear()
    leads = await new_leads(app, fake_wc, 2)
    fake_slack.enforce_channel_rate(1.0)  # Slack's one message a second, per conversation

    await Sender(app.state.services, owner="sender-a").run()

    posts = posts_to(fake_slack, "U2")
    assert len(posts) == 2 and fake_slack.rate_limited_count == 0
    assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(posts)), [p.at for p in posts]
    assert len(cards_in(fake_slack, fake_slack.dm_channel("T1", "U2"))) == len(leads)
    (pace,) = await rows(database_url, "channel_pace")
    assert (pace["team_id"], pace["channel_id"]) == ("T1", "U2")


async def test_a_deactivated_users_alerts_stop_and_admins_see_why(
    connected: None, app: Starlette, worker: Services, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts, database_url: str,
) -> None:  # fmt: skip
    await subscribe_me(slack)
    await subscribe_me(slack, "calls +compact")
    await slack.ask("subscribe", channel_id="C1")  # a channel's subscription goes on
    fake_slack.clear()
    fake_slack.deactivate_user("T1", "U2")
    fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller")
    fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")
    assert (await poll_now(app)).enqueued == 4  # each lead in C1 and in U2's DM

    report = await Sender(worker, spacing=0).run()  # Slack would take these posts: only users.info tells

    assert posts_to(fake_slack, "U2") == [] and fake_slack.messages("U2") == []
    assert len(cards_in(fake_slack, "C1")) == 2 and report.sent == 2
    assert [c.params["user"] for c in fake_slack.calls_to("users.info")] == ["U2"]  # asked once, then cached
    subs = await rows(database_url, "subscriptions")
    assert [(s["owner_user_id"], s["status"], s["broken_reason"]) for s in subs] == [
        ("U2", "broken", "user_disabled"),
        ("U2", "broken", "user_disabled"),
        (None, "active", None),
    ]
    waiting = [d for d in await rows(database_url, "deliveries") if d["channel_id"] == "U2"]
    assert waiting and {d["status"] for d in waiting} <= {"failed", "merged"}
    assert all(d["message_ts"] is None for d in waiting)

    listed = (await slack.ask("list all"))["text"]
    assert listed.count("<@U2>'s direct messages") == 2 and "user_disabled" in listed
    assert "the user was deactivated" in listed
    status = json.dumps((await slack.ask("status"))["blocks"])
    assert "personal alerts of" in status and "U2" in status and "The user was deactivated" in status

    fake_wc.add_lead(lead_type="phone_call", contact_name="Carl Later")
    assert (await poll_now(app)).enqueued == 1  # the next leads aren't even queued for them
    await Sender(worker, spacing=0).run()
    assert posts_to(fake_slack, "U2") == []
    assert len([d for d in await rows(database_url, "deliveries") if d["channel_id"] == "U2"]) == len(waiting)


async def test_a_dm_slack_refuses_stops_the_persons_alerts_without_raising(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    """Should Slack refuse the DM itself (a disabled user, the Messages tab turned off), the same happens."""
    await subscribe_me(slack)
    fake_slack.clear()
    await new_leads(app, fake_wc, 1)
    fake_slack.fail_next("chat.postMessage", "user_disabled")

    report = await unpaced(app).run()

    assert (report.failed, report.sent) == (1, 0)
    assert len(posts_to(fake_slack, "U2")) == 1 and fake_slack.messages("U2") == []
    ((sub_status, reason),) = [(s["status"], s["broken_reason"]) for s in await rows(database_url, "subscriptions")]
    assert (sub_status, reason) == ("broken", "user_disabled")
    assert [d["status"] for d in await rows(database_url, "deliveries")] == ["failed"]
    # Nobody is told by DM (that is what failed); admins see it.
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] != "U2"] == []
    assert "personal alerts of" in json.dumps((await slack.ask("status"))["blocks"])
    fake_wc.add_lead(contact_name="Carl Later")
    assert (await poll_now(app)).enqueued == 0  # nothing more is queued for them
    await unpaced(app).run()
    assert len(posts_to(fake_slack, "U2")) == 1


async def test_personal_digests_go_to_the_dm_and_a_deactivated_users_stops(
    connected: None, app: Starlette, worker: Services, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts, database_url: str,
) -> None:  # fmt: skip
    await subscribe_me(slack, "+digest:09:00", user_id="U1")
    await subscribe_me(slack, "+digest:09:00")
    tomorrow = datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)  # where the fake's users live
    with time_machine.travel(tomorrow.replace(hour=8, minute=0), tick=True):
        fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller")
        await poll_now(app)
    fake_slack.clear()
    fake_slack.deactivate_user("T1", "U2")

    with time_machine.travel(tomorrow.replace(hour=9, minute=1), tick=True):
        assert await Summaries(worker).tick() == 1

    (digest,) = fake_slack.messages("U1")
    assert digest["text"].startswith(":spiral_calendar_pad: *Daily digest for your personal alerts: 1 new lead*")
    assert fake_slack.messages("U2") == [] and posts_to(fake_slack, "U2") == []
    assert [
        (s["owner_user_id"], s["status"], s["broken_reason"]) for s in await rows(database_url, "subscriptions")
    ] == [
        ("U1", "active", None),
        ("U2", "broken", "user_disabled"),
    ]
