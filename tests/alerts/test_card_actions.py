"""Lead card buttons: write back to WhatConverts, edit the card in place, tell only the presser on failure."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette

from bot import ids
from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from bot.config import Settings
from bot.whatconverts import paths as wc_paths
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key, connect_link
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.modals import settled, submit, text_of
from tests.support.oauth import authorize, callback
from tests.support.outbox import poll_now
from tests.support.payloads import message_press
from tests.support.settings import make_settings, oauth_overrides


@pytest.fixture
async def card(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> dict:
    """A lead card as posted in C1: {"lead_id", "ts", "message"}."""
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    await slack.ask("subscribe")
    lead = fake_wc.add_lead(lead_type="phone_call", contact_name="Pat Caller")
    await Poller(app.state.services).tick()
    await Sender(app.state.services, spacing=0).tick()
    (post,) = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "C1"]
    (message,) = fake_slack.messages("C1")
    return {
        "lead_id": lead["lead_id"],
        "ts": message["ts"],
        "message": post.params,
        "posts": len(fake_slack.calls_to("chat.postMessage")),
    }


def press(card: dict, action_id: str, user_id: str = "U2", response_url: str = "") -> dict:
    return message_press(card["message"], action_id, user_id=user_id, message_ts=card["ts"], response_url=response_url)


@pytest.fixture(autouse=True)
def never_asks_for_spam(fake_wc: FakeWhatConverts) -> Iterator[None]:
    """W1: the API can't mark spam, so no test here may see the app try."""
    yield
    for call in fake_wc.calls_to("leads", method="POST"):
        assert not any(name.startswith("spam") for name in call.form), call.form


async def test_card_has_only_the_buttons_the_api_can_honour(card: dict) -> None:
    actions = [b for b in card["message"]["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        ids.ACTION_LEAD_CLAIM,  # takes the lead (tests/alerts/test_claims.py); writes nothing to WhatConverts
        ids.ACTION_LEAD_QUOTABLE,
        ids.ACTION_LEAD_NOT_QUOTABLE,
        ids.ACTION_LEAD_VALUE,
    ]
    assert ids.ACTION_LEAD_SPAM not in str(card["message"]) and "Spam" not in str(actions)


async def test_quotable_writes_back_and_edits_the_card_once(
    card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    await slack.interaction(press(card, ids.ACTION_LEAD_QUOTABLE, response_url=fake_slack.response_url()))
    (update,) = await fake_slack.wait_for_calls("chat.update")

    assert fake_wc.get_lead(card["lead_id"])["quotable"] == "Yes"
    assert update.params["channel"] == "C1" and update.params["ts"] == card["ts"]
    assert "marked quotable by <@U2>" in str(update.params["blocks"])
    (message,) = fake_slack.messages("C1")
    assert "marked quotable by <@U2>" in str(message["blocks"])  # edited in place, no new message
    assert len(fake_slack.calls_to("chat.postMessage")) == card["posts"]

    await slack.interaction(press(card, ids.ACTION_LEAD_QUOTABLE, response_url=fake_slack.response_url()))
    await fake_slack.wait_for_calls("chat.update", 2)
    (message,) = fake_slack.messages("C1")
    assert str(message["blocks"]).count("marked quotable by <@U2>") == 1  # a double click changes nothing
    assert fake_wc.get_lead(card["lead_id"])["quotable"] == "Yes"
    notes = (await rawdb.dump(sqlite_url))["deliveries"][0]["notes_json"]
    assert notes.count("marked quotable") == 1


async def test_not_quotable(card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> None:
    await slack.interaction(press(card, ids.ACTION_LEAD_NOT_QUOTABLE))
    (update,) = await fake_slack.wait_for_calls("chat.update")

    assert fake_wc.get_lead(card["lead_id"])["quotable"] == "No"
    assert "marked not quotable by <@U2>" in str(update.params["blocks"])


async def test_an_older_cards_spam_button_only_says_where_to_mark_spam(
    card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """Cards posted before the Spam button went still carry it; pressing it changes nothing anywhere."""
    older = {"blocks": [{"type": "actions", "block_id": ids.BLOCK_LEAD_ACTIONS, "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Spam"}, "action_id": ids.ACTION_LEAD_SPAM,
         "value": str(card["lead_id"]), "style": "danger"},
    ]}]}  # fmt: skip
    mark = fake_slack.mark()
    spam = message_press(
        older, ids.ACTION_LEAD_SPAM, user_id="U2", message_ts=card["ts"], response_url=fake_slack.response_url()
    )
    await slack.interaction(spam)

    told = (await fake_slack.next_call(mark)).params
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert "can't mark a lead as spam" in told["text"] and wc_paths.MARK_SPAM in told["text"]
    assert fake_wc.calls_to("leads", method="POST") == []
    assert fake_slack.calls_to("chat.update") == []
    assert fake_wc.get_lead(card["lead_id"])["spam"] is False


def amounts(quote: str | None, sales: str | None) -> dict:
    """The value form's state.values as Slack sends them (null for an empty input)."""
    return {
        ids.BLOCK_VALUE_QUOTE: {ids.ACTION_VALUE_QUOTE: {"type": "plain_text_input", "value": quote or None}},
        ids.BLOCK_VALUE_SALES: {ids.ACTION_VALUE_SALES: {"type": "plain_text_input", "value": sales or None}},
    }


async def value_form(card: dict, slack: SlackClient, fake_slack: FakeSlack, user_id: str = "U2") -> dict:
    """Press "Add value" and wait for the form to replace the modal's "Loading…"."""
    before = len(fake_slack.open_modals())
    await slack.interaction(press(card, ids.ACTION_LEAD_VALUE, user_id=user_id))
    return await settled(fake_slack, after=before)


async def test_add_value_through_the_modal(
    card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    form = await value_form(card, slack, fake_slack)
    assert form["callback_id"] == ids.VIEW_LEAD_VALUE

    bad = await submit(slack, fake_slack, form, amounts("twelve hundred", ""), user_id="U2")
    assert bad.json()["response_action"] == "errors" and ids.BLOCK_VALUE_QUOTE in bad.json()["errors"]
    assert fake_wc.get_lead(card["lead_id"])["quote_value"] is None
    assert fake_slack.calls_to("chat.update") == []
    assert fake_slack.modal(form["id"]) == form  # still open, the field marked

    good = await submit(slack, fake_slack, form, amounts("$1,200", "99.50"), user_id="U2")
    assert good.json()["response_action"] == "update" and good.json()["view"]["callback_id"] == ids.VIEW_SAVING
    outcome = await settled(fake_slack, form["id"])
    assert "Saved in WhatConverts: quote: $1,200.00 and sales: $99.50" in text_of(outcome)
    lead = fake_wc.get_lead(card["lead_id"])
    assert float(lead["quote_value"]) == 1200 and float(lead["sales_value"]) == 99.5
    (update,) = fake_slack.calls_to("chat.update")
    assert "quote $1,200.00 and sales $99.50 set by <@U2>" in str(update.params["blocks"])


async def test_values_are_noted_in_the_connections_currency(
    card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("connection currency EUR")

    assert await press_button("value", card, slack, fake_slack) == ""

    (update,) = fake_slack.calls_to("chat.update")
    text = json.dumps(update.params["blocks"], ensure_ascii=False)
    assert "✓ quote €1,200.00 and sales €99.50 set by <@U2>" in text
    assert "Quote €1,200.00 · Sales €99.50" in text and "$" not in text
    validate(update.params)


def validate(message: dict) -> None:
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()  # what Slack would refuse, slack_sdk refuses


def spam_free(message: dict, lead: dict) -> None:
    """A folded spam card: one line, none of the lead's contact details, no buttons."""
    assert [b["type"] for b in message["blocks"]] == ["context"]
    text = json.dumps(message, ensure_ascii=False)
    assert ":no_entry: Marked as spam in WhatConverts" in text and f"Lead #{lead['lead_id']}" in text
    for detail in ("contact_name", "contact_phone_number", "contact_email_address"):
        assert lead[detail] and lead[detail] not in text, detail
    assert "(704) 555" not in text and ids.BLOCK_LEAD_ACTIONS not in text
    validate(message)


async def test_a_card_marked_spam_folds_and_its_buttons_go(
    card: dict, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """The Spam button can't mark spam (W1); once WhatConverts says spam, the card folds in place."""
    older = {"blocks": [{"type": "actions", "block_id": ids.BLOCK_LEAD_ACTIONS, "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Spam"}, "action_id": ids.ACTION_LEAD_SPAM,
         "value": str(card["lead_id"])},
    ]}]}  # fmt: skip
    mark = fake_slack.mark()
    await slack.interaction(
        message_press(older, ids.ACTION_LEAD_SPAM, user_id="U2", message_ts=card["ts"],
                      response_url=fake_slack.response_url())
    )  # fmt: skip
    assert "Mark it in WhatConverts" in (await fake_slack.next_call(mark)).params["text"]
    assert fake_slack.calls_to("chat.update") == []

    later = time.time() + 60
    lead = fake_wc.update_lead(card["lead_id"], spam=True, last_updated=later)  # marked in WhatConverts' UI
    await poll_now(app)
    await Sender(app.state.services, spacing=0).tick()

    (update,) = fake_slack.calls_to("chat.update")
    assert update.params["ts"] == card["ts"]
    spam_free(update.params, lead)
    (message,) = fake_slack.messages("C1")
    assert message["blocks"] == update.params["blocks"]  # edited in place, no new message

    fake_wc.update_lead(card["lead_id"], spam=False, last_updated=later + 60)  # un-marked there
    await poll_now(app)
    await Sender(app.state.services, spacing=0).tick()
    (message,) = fake_slack.messages("C1")
    assert "Pat Caller" in json.dumps(message["blocks"]) and ids.BLOCK_LEAD_ACTIONS in json.dumps(message["blocks"])


async def test_a_lead_that_arrives_as_spam_is_posted_folded(
    card: dict, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_slack.add_channel("T1", "C2", name="spam-watch")
    assert "now gets new leads" in (await slack.ask("subscribe +spam", channel_id="C2"))["text"]
    lead = fake_wc.add_lead(lead_type="web_form", spam=True, contact_name="Spammy Sender")
    await poll_now(app)
    await Sender(app.state.services, spacing=0).tick()

    posts = [c.params for c in fake_slack.calls_to("chat.postMessage") if f"Lead #{lead['lead_id']}" in str(c.params)]
    assert [p["channel"] for p in posts] == ["C2"]  # C1 hides spam; C2 shows it, folded
    spam_free(posts[0], lead)


async def test_guests_and_failures_reach_only_the_presser(
    card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    mark = fake_slack.mark()
    await slack.interaction(press(card, ids.ACTION_LEAD_QUOTABLE, user_id="U3", response_url=fake_slack.response_url()))
    refused = (await fake_slack.next_call(mark)).params
    assert "guests can't use" in refused["text"] and refused["response_type"] == "ephemeral"

    fake_wc.fail_next(f"/api/v1/leads/{card['lead_id']}", status=500)
    mark = fake_slack.mark()
    await slack.interaction(press(card, ids.ACTION_LEAD_QUOTABLE, response_url=fake_slack.response_url()))
    failed = (await fake_slack.next_call(mark)).params
    assert "didn't accept the change" in failed["text"] and failed["replace_original"] is False

    assert fake_slack.calls_to("chat.update") == []
    assert fake_wc.get_lead(card["lead_id"])["quotable"] == "Not Set"


# Each button: the form it must send, the card's note when the lead WhatConverts returns has the
# change, and what the presser is told when that lead doesn't.
BUTTONS = {
    "quotable": ({"quotable": "yes"}, "✓ marked quotable by <@U2>", "Quotable: not set, not Quotable: quotable"),
    "not_quotable": (
        {"quotable": "no"},
        "✓ marked not quotable by <@U2>",
        "Quotable: not set, not Quotable: not quotable",
    ),
    "value": (
        {"quote_value": "1200", "sales_value": "99.50"},
        "✓ quote $1,200.00 and sales $99.50 set by <@U2>",
        "quote: no value and sales: no value, not quote: $1,200.00 and sales: $99.50",
    ),
}


async def press_button(kind: str, card: dict, slack: SlackClient, fake_slack: FakeSlack) -> str:
    """Press one card button as U2 (through the modal for values); what U2 alone was told, or ''."""
    mark = fake_slack.mark()
    if kind != "value":
        action = ids.ACTION_LEAD_QUOTABLE if kind == "quotable" else ids.ACTION_LEAD_NOT_QUOTABLE
        await slack.interaction(press(card, action, response_url=fake_slack.response_url()))
        done = asyncio.ensure_future(fake_slack.next_call(mark))
        edited = asyncio.ensure_future(fake_slack.wait_for_calls("chat.update"))
        finished, pending = await asyncio.wait({done, edited}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if done in finished:
            told = done.result().params
            assert told["response_type"] == "ephemeral" and told["replace_original"] is False
            return told["text"]
        return ""
    form = await value_form(card, slack, fake_slack)
    await submit(slack, fake_slack, form, amounts("1,200", "99.50"), user_id="U2")
    outcome = text_of(await settled(fake_slack, form["id"]))  # acked at once; the outcome replaces "Saving…"
    return "" if "Saved in WhatConverts" in outcome else outcome


async def notes_of(sqlite_url: str) -> list[str]:
    return json.loads((await rawdb.dump(sqlite_url))["deliveries"][0]["notes_json"] or "[]")


@pytest.mark.parametrize("kind", BUTTONS)
async def test_the_card_notes_only_what_whatconverts_answered(
    kind: str, card: dict, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    """Refused, then a 200 without the change, then accepted: only the last may show on the card."""
    form, note, shown = BUTTONS[kind]
    path = f"/api/v1/leads/{card['lead_id']}"
    before = fake_wc.get_lead(card["lead_id"])

    fake_wc.error_message_next(path, "Invalid lead ID.", status=400)
    refused = await press_button(kind, card, slack, fake_slack)

    assert "didn't accept the change (Invalid lead ID.)" in refused
    assert fake_slack.calls_to("chat.update") == [] and await notes_of(sqlite_url) == []
    assert fake_wc.get_lead(card["lead_id"]) == before

    # A 200 is not proof: the lead WhatConverts sends back decides what the card may claim.
    envelope = {"page_number": 1, "leads_per_page": 1, "total_pages": 1, "total_leads": 1, "leads": [before]}
    fake_wc.fail_next(path, status=200, body=envelope)
    ignored = await press_button(kind, card, slack, fake_slack)

    assert f"WhatConverts answered with {shown}; the card is unchanged." in ignored
    assert fake_slack.calls_to("chat.update") == [] and await notes_of(sqlite_url) == []
    (message,) = fake_slack.messages("C1")
    assert "✓" not in str(message["blocks"])

    accepted = await press_button(kind, card, slack, fake_slack)

    assert accepted == ""  # nothing to tell the presser: the card says it
    assert [c.form for c in fake_wc.calls_to("leads", method="POST")] == [form] * 3
    (update,) = await fake_slack.wait_for_calls("chat.update")
    assert await notes_of(sqlite_url) == [note]
    assert {"type": "context", "elements": [{"type": "mrkdwn", "text": note, "verbatim": True}]} in update.params[
        "blocks"
    ]
    for block in update.params["blocks"]:
        Block.parse(block).validate_json()  # what Slack would refuse, slack_sdk refuses


async def test_a_card_whose_subscription_is_gone(card: dict, slack: SlackClient, fake_slack: FakeSlack) -> None:
    await slack.ask("unsubscribe all")

    mark = fake_slack.mark()
    await slack.interaction(press(card, ids.ACTION_LEAD_QUOTABLE, response_url=fake_slack.response_url()))

    answer = (await fake_slack.next_call(mark)).params
    assert "was removed" in answer["text"]
    assert fake_slack.calls_to("chat.update") == []


class TestReadOnlyOAuthGrant:
    """An OAuth grant without `write_leads` can't change leads, so its cards carry no buttons."""

    @pytest.fixture
    def settings(self, sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
        return make_settings(sqlite_url, fake_slack, fake_wc, **oauth_overrides(fake_wc))

    async def test_no_write_buttons(
        self, installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack,
        fake_wc: FakeWhatConverts,
    ) -> None:  # fmt: skip
        fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
        _, back, cookie = await authorize(app_url, await connect_link(slack))
        assert (await callback(app_url, back, cookie)).status_code == 200
        await slack.ask("subscribe")
        fake_wc.add_lead(lead_type="phone_call")

        await Poller(app.state.services).tick()
        await Sender(app.state.services, spacing=0).tick()

        (message,) = fake_slack.messages("C1")
        assert "Lead #" in str(message["blocks"])
        # Only the claim button, which writes nothing to WhatConverts.
        (actions,) = [b for b in message["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
        assert [e["action_id"] for e in actions["elements"]] == [ids.ACTION_LEAD_CLAIM]
