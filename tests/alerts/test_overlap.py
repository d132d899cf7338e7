"""One card per lead per channel: overlapping subscriptions merge into one delivery with merged options."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from sqlalchemy import update
from starlette.applications import Starlette

from bot import ids
from bot.alerts import filters, overlap
from bot.alerts.digests import Summaries
from bot.alerts.poller import Poller
from bot.config import Settings
from bot.slack.payloads import tokenize
from bot.whatconverts.leads import Lead
from storage.db import transaction
from storage.models import PollState, Subscription
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import local
from tests.support.home import home_of
from tests.support.modals import settled, submit, text_of
from tests.support.outbox import cards_in, rows, unpaced
from tests.support.payloads import fill, home_press
from tests.support.settings import make_settings

NEW_YORK = ZoneInfo("America/New_York")  # the fake's users live there, and subscriptions take their zone


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def subscribe(slack: SlackClient, text: str) -> str:
    reply = await slack.ask(f"subscribe {text}".strip(), channel_id="C1")
    assert "now gets new leads" in reply["text"], reply["text"]
    return reply["text"]


async def poll(app: Starlette) -> int:
    """One poller tick, due now whenever it last ran; returns how many leads it put on their way."""
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(PollState).values(next_run_at=datetime.now(UTC) - timedelta(seconds=1)))
    return (await Poller(app.state.services, owner="test-poller").tick()).enqueued


async def poll_and_send(app: Starlette) -> int:
    enqueued = await poll(app)
    await unpaced(app).run()
    return enqueued


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    local = datetime.now(NEW_YORK) + timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def top_level(fake: FakeSlack, channel: str = "C1") -> list[dict]:
    return [m for m in fake.messages(channel) if not m.get("thread_ts")]


def showing(messages: list[dict], name: str) -> list[dict]:
    return [m for m in messages if name in json.dumps(m)]


async def statuses(database_url: str) -> dict[tuple[int, int], str]:
    return {(d["subscription_id"], d["lead_id"]): d["status"] for d in await rows(database_url, "deliveries")}


async def test_overlapping_subscriptions_post_each_lead_once_and_edit_that_card(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await subscribe(slack, "")
    reply = await subscribe(slack, "calls +thread")
    assert "Leads matching both this and subscription 1 (`all`) will post once in <#C1>" in reply
    fake_slack.clear()

    call = fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller", lead_state="In Progress")
    form = fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")
    assert await poll_and_send(app) == 2  # two leads on their way, not three

    cards = cards_in(fake_slack, "C1")
    assert len(cards) == 2
    assert len(showing(cards, "Carla Caller")) == 1 and len(showing(cards, "Fiona Form")) == 1
    call_id, form_id = call["lead_id"], form["lead_id"]
    assert await statuses(database_url) == {(1, call_id): "sent", (2, call_id): "merged", (1, form_id): "sent"}

    # The call completes: its one card is edited, and the second subscription's +thread replies in thread.
    fake_wc.update_lead(call_id, lead_state="Completed", call_duration_seconds=95)
    await poll_and_send(app)

    assert len(top_level(fake_slack)) == 2
    (card,) = showing(top_level(fake_slack), "Carla Caller")
    (edit,) = fake_slack.calls_to("chat.update")
    assert edit.params["ts"] == card["ts"] and "1m 35s" in json.dumps(card["blocks"])
    replies = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(replies) == 1 and replies[0]["thread_ts"] == card["ts"]


async def test_the_card_is_compact_only_if_every_matching_subscription_is(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await subscribe(slack, "+compact")
    await subscribe(slack, "calls")
    fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller")
    fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")
    await poll_and_send(app)

    (call,) = showing(cards_in(fake_slack, "C1"), "Carla Caller")
    (form,) = showing(cards_in(fake_slack, "C1"), "Fiona Form")
    assert call["blocks"][0]["type"] == "header"  # `calls` asks for the full card
    assert form["blocks"][0]["type"] == "section"  # only the compact subscription matches a form


async def test_quiet_hours_hold_the_card_only_if_every_matching_subscription_is_quiet(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await subscribe(slack, "+quiet:20:00-08:00")
    await subscribe(slack, "calls +quiet:20:00-08:00 +urgent:source:google")
    await subscribe(slack, "texts")  # no quiet hours: texts post at night
    fake_slack.clear()
    with time_machine.travel(tomorrow_at(21, 0), tick=True):
        fake_wc.add_lead(lead_type="phone_call", lead_source="google", contact_name="Urgent Call")
        fake_wc.add_lead(lead_type="phone_call", lead_source="bing", contact_name="Quiet Call")
        fake_wc.add_lead(lead_type="web_form", contact_name="Quiet Form")
        fake_wc.add_lead(lead_type="text_message", contact_name="Night Text")
        await poll_and_send(app)
        night = top_level(fake_slack)
        assert await Summaries(app.state.services).tick() == 0  # still quiet

    # One subscription finds the google call urgent, another has no quiet hours for texts: both post now.
    assert sorted(len(showing(night, name)) for name in ("Urgent Call", "Night Text")) == [1, 1]
    assert len(night) == 2
    with time_machine.travel(tomorrow_at(8, 1) + timedelta(days=1), tick=True):
        assert await Summaries(app.state.services).tick() == 1  # one summary, not one per subscription
    (summary,) = top_level(fake_slack)[2:]
    assert "2 leads arrived during quiet hours" in summary["text"]
    assert showing([summary], "Quiet Call") and showing([summary], "Quiet Form")


async def test_a_lead_only_digests_want_is_in_the_first_digest_only(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await subscribe(slack, "+digest:10:00")
    await subscribe(slack, "forms +digest:09:00")
    await subscribe(slack, "calls")
    fake_slack.clear()
    with time_machine.travel(tomorrow_at(8, 0), tick=True):
        fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller")
        fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")
        fake_wc.add_lead(lead_type="chat", contact_name="Chad Chat")
        await poll_and_send(app)
    (card,) = top_level(fake_slack)
    assert "Carla Caller" in json.dumps(card)  # a subscription that posts cards beats every digest

    with time_machine.travel(tomorrow_at(9, 1), tick=True):
        assert await Summaries(app.state.services).tick() == 1
    with time_machine.travel(tomorrow_at(10, 1), tick=True):
        assert await Summaries(app.state.services).tick() == 1
    nine, ten = top_level(fake_slack)[1:]
    assert "1 new lead*" in nine["text"] and "Web form: 1" in nine["text"]  # the form, in the first digest
    assert "1 new lead*" in ten["text"] and "Chat: 1" in ten["text"]  # not the form again, nor the call


async def test_removing_the_subscription_that_owns_a_card_hands_it_over(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await subscribe(slack, "")
    await subscribe(slack, "calls")
    posted = fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller", lead_state="In Progress")
    await poll_and_send(app)
    waiting = fake_wc.add_lead(lead_type="phone_call", contact_name="Will Wait")
    fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")
    assert await poll(app) == 2  # on their way under subscription 1, not posted yet

    reply = await slack.ask("unsubscribe 1", channel_id="C1")
    assert "Removed subscription 1" in reply["text"]
    fake_wc.update_lead(posted["lead_id"], lead_state="Completed", call_duration_seconds=95)
    await poll_and_send(app)

    assert await statuses(database_url) == {(2, posted["lead_id"]): "sent", (2, waiting["lead_id"]): "sent"}
    cards = top_level(fake_slack)
    assert len(showing(cards, "Will Wait")) == 1 and not showing(cards, "Fiona Form")  # only `all` wanted forms
    (card,) = showing(cards, "Carla Caller")
    (edit,) = fake_slack.calls_to("chat.update")  # the card of the removed subscription is still edited
    assert edit.params["ts"] == card["ts"] and "1m 35s" in json.dumps(card["blocks"])


async def test_subscriptions_that_cannot_overlap_say_nothing(connected: None, slack: SlackClient) -> None:
    await subscribe(slack, "calls")
    assert "post once" not in await subscribe(slack, "forms")
    assert "post once" not in await subscribe(slack, "chats +source:google")
    reply = await subscribe(slack, "+source:bing -calls")  # a form from bing matches `forms` too
    assert "Leads matching both this and subscription 2 (`forms`) will post once in <#C1>" in reply
    assert "subscription 1" not in reply and "subscription 3" not in reply


async def test_webhook_and_polled_copies_of_a_lead_make_one_card_in_a_channel_of_overlapping_subscriptions(
    connected: None, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
) -> None:  # fmt: skip
    await subscribe(slack, "")
    await subscribe(slack, "calls")
    await subscribe(slack, "+source:google")
    hook = local((await slack.ask("webhook"))["text"].split("```")[1], app_url)
    lead = fake_wc.add_lead(lead_type="phone_call", lead_source="google", contact_name="Carla Caller")

    async with httpx.AsyncClient() as http:
        for _ in range(2):
            assert (await http.post(hook, json=fake_wc.webhook_payload(lead))).status_code == 200
    await unpaced(app).run()
    await poll_and_send(app)

    assert len(showing(cards_in(fake_slack, "C1"), "Carla Caller")) == 1


async def test_pausing_the_subscription_that_owns_a_waiting_lead_hands_it_over(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await subscribe(slack, "")
    await subscribe(slack, "calls")
    waiting = fake_wc.add_lead(lead_type="phone_call", contact_name="Will Wait")
    assert await poll(app) == 1
    assert await statuses(database_url) == {(1, waiting["lead_id"]): "pending", (2, waiting["lead_id"]): "merged"}

    view = await home_of(slack, fake_slack, "U1")
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_PAUSE, user_id="U1", value="1"))
    await fake_slack.wait_for_calls("views.publish", 2)
    await unpaced(app).run()

    assert await statuses(database_url) == {(2, waiting["lead_id"]): "sent"}
    assert len(showing(cards_in(fake_slack, "C1"), "Will Wait")) == 1


async def test_the_add_subscription_modal_tells_of_an_overlap_when_saved(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await subscribe(slack, "+source:google")
    view = await home_of(slack, fake_slack, "U1")
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_ADD, user_id="U1"))
    modal = await settled(fake_slack)
    filled = fill(modal, {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_TYPES: ["phone_call"]})

    saved = await submit(slack, fake_slack, modal, filled["state"]["values"], user_id="U1")

    assert saved.status_code == 200 and "errors" not in saved.text
    # Acked with "Saving…"; the outcome replaces it in the modal, the note with it.
    outcome = text_of(await settled(fake_slack, modal["id"]))
    assert "Leads matching both this and subscription 1 (`+source:google`) will post once in <#C1>" in outcome


# Plain function tests of the merge rules.


def rules(text: str) -> filters.Filters:
    return filters.parse_subscription(tokenize(text))[1]


@pytest.mark.parametrize(
    ("a", "b", "overlap_"),
    [
        ("all", "calls", True),
        ("calls", "forms", False),
        ("calls forms", "forms chats", True),
        ("-calls", "calls", False),
        ("+source:google", "+source:Google,bing", True),  # matching ignores case
        ("+source:google", "+source:bing", False),
        ("+source:google", "-source:google", False),
        ("+source:google", "-source:bing", True),
        ("+source:google,bing", "-source:google", True),  # bing is left
        ("+status:unique", "+status:repeat", False),
        ('profile:"Main Site"', 'profile:"Other Site"', False),
        ('profile:"Main Site"', "profile:12345", True),  # may be the same profile, by name and by id
        ("+spam", "all", True),  # a lead that isn't spam matches both
        ("calls +source:google", "+medium:cpc", True),
        ("calls +urgent:forms", "forms", False),  # +urgent selects nothing
    ],
)
def test_may_overlap(a: str, b: str, overlap_: bool) -> None:
    assert overlap.may_overlap(rules(a), rules(b)) is overlap_
    assert overlap.may_overlap(rules(b), rules(a)) is overlap_


def sub(sub_id: int, *, last_digest_on: date | None = None) -> Subscription:
    return Subscription(
        id=sub_id, team_id="T1", connection_id=1, channel_id="C1", filters_json="{}", created_by="U1",
        tz="America/New_York", start_at=datetime(2020, 1, 1, tzinfo=UTC), last_digest_on=last_digest_on,
    )  # fmt: skip


CALL = Lead.from_api({"lead_id": 1, "lead_type": "Phone Call", "lead_source": "google"})
AT_21 = datetime(2025, 6, 2, 21, 0, tzinfo=NEW_YORK)  # a Monday evening in the subscriptions' zone


@pytest.mark.parametrize(
    ("texts", "winner"),
    [
        (["all", "calls"], 1),  # both post now: the oldest
        (["+quiet:20:00-08:00", "calls"], 2),  # one is quiet: the one that posts now
        (["+quiet:20:00-08:00", "calls +quiet:20:00-07:00"], 2),  # both quiet: whose quiet ends first
        (["+quiet:20:00-08:00", "+quiet:20:00-08:00 +urgent:calls"], 2),  # urgent for one
        (["+digest:09:00", "+quiet:20:00-08:00"], 2),  # quiet hours end before the digest
        (["+digest:09:00", "+digest:07:00"], 2),  # the first digest
    ],
)
def test_the_most_immediate_subscription_posts_the_card(texts: list[str], winner: int) -> None:
    # Today's digests are done: the next ones are tomorrow's.
    candidates = [(sub(i, last_digest_on=AT_21.date()), rules(text)) for i, text in enumerate(texts, start=1)]
    assert overlap.first(candidates, CALL, AT_21).id == winner


def test_a_card_beats_a_digest_that_is_due_now() -> None:
    due = (sub(1), rules("+digest:09:00"))  # not posted today, and 09:00 has passed
    assert overlap.wait(*due, CALL, AT_21) == timedelta(0)
    assert overlap.first([due, (sub(2), rules("calls"))], CALL, AT_21).id == 2


def test_a_digest_already_posted_today_waits_for_tomorrow() -> None:
    digest = rules("+digest:09:00")
    assert overlap.wait(sub(1), digest, CALL, AT_21) == timedelta(0)  # today's is due
    done = sub(1, last_digest_on=AT_21.date())
    assert overlap.wait(done, digest, CALL, AT_21) == timedelta(hours=12)
    assert overlap.wait(sub(1), rules("+quiet:20:00-08:00"), CALL, AT_21) == timedelta(hours=11)
    assert overlap.wait(sub(1), rules("+quiet:20:00-08:00 +urgent:source:google"), CALL, AT_21) == timedelta(0)


def test_merged_card_options() -> None:
    options = overlap.card_options([rules("+compact"), rules("calls +thread")])
    assert options == overlap.CardOptions(compact=False, thread=True)
    assert overlap.card_options([rules("+compact"), rules("calls +compact")]).compact
    assert overlap.held_quietly(sub(1), rules("+quiet:20:00-08:00"), [(sub(2), rules("+digest:09:00"))], CALL, AT_21)
    assert not overlap.held_quietly(sub(1), rules("+quiet:20:00-08:00"), [(sub(2), rules("calls"))], CALL, AT_21)
