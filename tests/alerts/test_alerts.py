"""End to end: a lead created in WhatConverts becomes a card in exactly the matching channels."""

from __future__ import annotations

from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts


async def cycle(app: Starlette) -> tuple:
    services = app.state.services
    polled = await Poller(services, owner="test-poller").tick()
    sent = await Sender(services, owner="test-sender").tick()
    return polled, sent


def posted(fake: FakeSlack, channel: str) -> list[dict]:
    return [m for m in fake.messages(channel) if "blocks" in m]


async def test_leads_reach_exactly_the_matching_channels(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_slack.add_channel("T1", "C2", name="marketing")
    calls = await slack.ask("subscribe calls", channel_id="C1")
    forms = await slack.ask("subscribe <#C2|marketing> forms +source:google", channel_id="C1")
    assert "now gets new leads" in calls["text"] and "`phone_call`" not in calls["text"]
    assert "<#C2>" in forms["text"]
    fake_slack.clear()

    call = fake_wc.add_lead(lead_type="phone_call", contact_name="Caller One", lead_source="bing")
    google_form = fake_wc.add_lead(lead_type="web_form", lead_source="google", contact_name="Form Google")
    fake_wc.add_lead(lead_type="web_form", lead_source="bing", contact_name="Form Bing")
    fake_wc.add_lead(lead_type="phone_call", spam=True, contact_name="Spammer")
    fake_wc.add_lead(lead_type="phone_call", duplicate=True, contact_name="Again")

    polled, sent = await cycle(app)

    assert polled.polled == 1 and polled.enqueued == 2 and sent.sent == 2
    c1, c2 = posted(fake_slack, "C1"), posted(fake_slack, "C2")
    assert len(c1) == 1 and "Caller One" in c1[0]["text"]
    assert len(c2) == 1 and "Form Google" in c2[0]["text"]
    post = fake_slack.calls_to("chat.postMessage")[0].params
    assert post["unfurl_links"] is False and post["unfurl_media"] is False and post["text"]
    assert str(call["lead_id"]) in repr(c1[0]["blocks"]) and str(google_form["lead_id"]) in repr(c2[0]["blocks"])

    again = await cycle(app)
    assert again[1].sent == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_spam_and_duplicates_shown_when_asked(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe +spam +duplicates")
    fake_slack.clear()
    fake_wc.add_lead(spam=True, contact_name="Spammer")
    fake_wc.add_lead(duplicate=True, contact_name="Again")

    _, sent = await cycle(app)

    assert sent.sent == 2
    texts = " ".join(m["text"] for m in posted(fake_slack, "C1"))
    # A spam lead is posted folded: that it arrived, without the contact it claims to be from.
    assert "Spam web form" in texts and "Spammer" not in texts and "Again" in texts


async def test_list_prints_the_grammar_back(connected: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("T1", "C2", name="marketing")
    typed = 'calls forms +source:google -medium:organic +status:unique +quotable:yes profile:"Main Site" +compact'
    await slack.ask(f"subscribe {typed}")
    await slack.ask("subscribe <#C2|marketing> chats", channel_id="C1")

    here = (await slack.ask("list"))["text"]
    everywhere = (await slack.ask("list all"))["text"]

    assert "Subscriptions in this channel (1)" in here and "<#C2>" not in here
    (line,) = [line for line in here.splitlines() if line.startswith("`1`")]
    assert line.split("`")[3] == typed  # what you see is what you can type
    assert "Subscriptions in this workspace (2)" in everywhere and "<#C2>" in everywhere


async def test_unsubscribe(connected: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    await slack.ask("subscribe calls")
    await slack.ask("subscribe forms")

    ambiguous = (await slack.ask("unsubscribe"))["text"]
    one = (await slack.ask("unsubscribe 1"))["text"]
    rest = (await slack.ask("unsubscribe all"))["text"]
    none = (await slack.ask("unsubscribe all"))["text"]

    assert "several subscriptions" in ambiguous
    assert one == "Removed subscription 1."
    assert rest == "Removed subscription 2."
    assert "no subscriptions" in none


async def test_subscribe_refuses_channels_the_bot_cannot_post_in(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("T1", "G1", name="secret", is_private=True, is_member=False)
    fake_slack.add_channel("T1", "C9", name="old", is_archived=True)

    private = (await slack.ask("subscribe <#G1|secret>"))["text"]
    archived = (await slack.ask("subscribe <#C9|old>"))["text"]
    unknown = (await slack.ask("subscribe <#C404|nope>"))["text"]
    bad = (await slack.ask("subscribe +colour:red"))["text"]

    assert "invite me" in private.lower()
    assert "archived" in archived
    assert "can't see that channel" in unknown
    assert "+colour:red" in bad
    assert "No subscriptions" in (await slack.ask("list all"))["text"]


async def test_custom_events_and_transactions_are_shown_as_what_they_are(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """W8: "Custom Event" leads are events (not "other"); a transaction saying "In Progess" is not in progress."""
    await slack.ask("subscribe events transactions", channel_id="C1")
    event = fake_wc.add_lead(lead_type="Custom Event", contact_name="Event Person")
    transaction = fake_wc.add_lead(lead_type="Transaction", lead_state="In Progess", contact_name="Buyer")
    fake_wc.add_lead(lead_type="Other", contact_name="Someone Else")

    _, sent = await cycle(app)

    assert sent.sent == 2
    texts = sorted(m["text"].split(" (")[0] for m in posted(fake_slack, "C1"))
    assert texts == ["New event from Event Person", "New transaction from Buyer"]
    event_card, transaction_card = (
        str(next(m["blocks"] for m in posted(fake_slack, "C1") if m["text"].startswith(start)))
        for start in ("New event", "New transaction")
    )
    assert "🎯 Event from Event Person" in event_card and f"Lead #{event['lead_id']}" in event_card
    assert f"Lead #{transaction['lead_id']}" in transaction_card and "In progress" not in transaction_card
