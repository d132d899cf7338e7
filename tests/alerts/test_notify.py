"""`+notify:@ada`: routing by rule. A channel's cards mention the people its subscription names, so
Slack notifies them; overlapping subscriptions' cards mention everyone either names; only people."""

from __future__ import annotations

import json
import re

import pytest
from starlette.applications import Starlette

from bot import ids
from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.outbox import cards_in, poll_now, rows, unpaced
from tests.support.payloads import message_press
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def subscribe(slack: SlackClient, text: str) -> str:
    reply = await slack.ask(f"subscribe {text}", channel_id="C1")
    assert "now gets new leads" in reply["text"], reply["text"]
    return reply["text"]


def for_line(card: dict) -> str | None:
    """The card's "For …" line: a context block of mentions."""
    found = [
        e["text"] for b in card["blocks"] if b["type"] == "context" for e in b["elements"] if "For <@" in e["text"]
    ]
    assert len(found) <= 1
    return found[0] if found else None


def showing(cards: list[dict], name: str) -> dict:
    (card,) = [c for c in cards if name in json.dumps(c)]
    return card


async def test_notify_mentions_them_on_the_card_and_in_its_notification(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    reply = await subscribe(slack, "calls +notify:<@U2|bob>")
    assert "Its cards mention <@U2>." in reply
    assert "+notify:&lt;@U2&gt;" in (await slack.ask("list"))["text"]  # printed back as typed (escaped)
    fake_slack.clear()
    call = fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller", lead_state="In Progress")

    await poll_now(app)
    await unpaced(app).run()

    (post,) = fake_slack.calls_to("chat.postMessage")
    assert for_line(post.params) == ":bust_in_silhouette: For <@U2>"  # a real mention: Slack notifies U2
    assert post.params["text"].endswith(" · for <@U2>")  # mobile notifications read only `text`
    assert post.params["blocks"][0]["type"] == "header" and post.params["blocks"][1]["type"] == "context"

    # The mention stays when the card is edited, by an update or by a button.
    fake_wc.update_lead(call["lead_id"], lead_state="Completed", call_duration_seconds=95)
    await poll_now(app)
    await unpaced(app).run()
    (edit,) = fake_slack.calls_to("chat.update")
    assert for_line(edit.params) == ":bust_in_silhouette: For <@U2>"
    (card,) = cards_in(fake_slack, "C1")
    await slack.interaction(message_press(post.params, ids.ACTION_LEAD_QUOTABLE, user_id="U2", message_ts=card["ts"]))
    (_, pressed) = await fake_slack.wait_for_calls("chat.update", 2)
    assert for_line(pressed.params) == ":bust_in_silhouette: For <@U2>"
    (stored,) = await rows(database_url, "subscriptions")
    assert json.loads(stored["filters_json"])["notify"] == ["U2"]


async def test_overlapping_subscriptions_mention_everyone_either_names(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await subscribe(slack, "+notify:<@U1|ada>")
    await subscribe(slack, "calls +notify:<@U2|bob>,<@U1|ada>")
    await subscribe(slack, "calls +notify:<@U4|cy>")
    fake_slack.clear()
    fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller")
    fake_wc.add_lead(lead_type="web_form", contact_name="Fiona Form")

    await poll_now(app)
    await unpaced(app).run()

    cards = cards_in(fake_slack, "C1")
    assert len(cards) == 2  # one card a lead, whoever it is for
    assert for_line(showing(cards, "Carla Caller")) == ":bust_in_silhouette: For <@U1>, <@U2>, <@U4>"
    assert for_line(showing(cards, "Fiona Form")) == ":bust_in_silhouette: For <@U1>"


async def test_without_notify_a_card_mentions_nobody(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await subscribe(slack, "calls")
    fake_slack.clear()
    fake_wc.add_lead(lead_type="phone_call", contact_name="Carla Caller <!channel> @here")

    await poll_now(app)
    await unpaced(app).run()

    (post,) = fake_slack.calls_to("chat.postMessage")
    assert for_line(post.params) is None
    # What Slack reads for mentions: the text and every mrkdwn text (a header is plain text, never parsed).
    parsed = [post.params["text"], *re.findall(r'"type": "mrkdwn", "text": "([^"]*)"', json.dumps(post.params))]
    assert not [t for t in parsed if re.search(r"<@|<!(?!date\^)", t)]  # only our own dates
    assert any("&lt;!channel&gt;" in t for t in parsed)


@pytest.mark.parametrize(
    "text",
    [
        "+notify:<!channel>",  # what Slack sends for @channel
        "+notify:<!here>",
        "+notify:<!subteam^S123|team>",
        "+notify:@ada",  # a name Slack didn't resolve
        "+notify:<#C1|leads>",
        "+notify:<@U2|bob>,<!everyone>",
        "+notify:<@U2|bob>,",
        "+notify:",
        "+notify",
        "-notify:<@U2|bob>",
        "+urgent:notify:<@U2|bob>",
        "+notify:" + ",".join(f"<@U{n}>" for n in range(11)),  # more than ten people
    ],
)
async def test_notify_takes_people_only_and_a_refusal_saves_nothing(
    connected: None, slack: SlackClient, database_url: str, text: str
) -> None:
    reply = await slack.ask(f"subscribe calls {text}", channel_id="C1")

    assert "in a subscription" in reply["text"] and "Example: `/whatconverts subscribe" in reply["text"]
    assert "notify" in reply["text"]
    assert "<!" not in reply["text"] and "<@" not in reply["text"]  # the echo can't ping anyone
    assert await rows(database_url, "subscriptions") == []
