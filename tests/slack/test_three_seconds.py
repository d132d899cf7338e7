"""Slack's 3-second rules (platform truth S6), against a fake Slack that enforces them.

A trigger_id is good for one `views.open` within 3 s of the press, and a view submission must be
acked within 3 s. So every modal opens the moment its listener returns (never behind the work
queued after acks), submissions ack at once with a "Saving…" view, and the slow part (WhatConverts,
chat.update) reports its outcome by `views.update` of that view, or on a surface that still works.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette

from bot import ids
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack, mint_trigger_id
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.home import home_of
from tests.support.modals import settled, submit, text_of
from tests.support.outbox import cards_in, new_leads, subscribed, unpaced
from tests.support.payloads import home_press, message_press

__all__ = ["subscribed"]  # a fixture

pytestmark = pytest.mark.usefixtures("subscribed")

QUEUE_SLOTS = 8  # AfterAck's default concurrency
SLOW = 4.0  # longer than a trigger_id lives


async def post_cards(app: Starlette, fake_wc: FakeWhatConverts, fake_slack: FakeSlack, count: int) -> list[dict]:
    """`count` lead cards in #leads (C1), oldest first."""
    await new_leads(app, fake_wc, count)
    await unpaced(app).run()
    cards = cards_in(fake_slack, "C1")
    assert len(cards) == count
    return cards


def press(card: dict, action_id: str, *, user_id: str = "U2", response_url: str = "") -> dict:
    return message_press(card, action_id, user_id=user_id, message_ts=card["ts"], response_url=response_url)


def lead_id_of(card: dict) -> int:
    (block,) = [b for b in card["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
    return int(next(e["value"] for e in block["elements"] if e["action_id"] == ids.ACTION_LEAD_VALUE))


async def busy_queue(slack: SlackClient, fake_wc: FakeWhatConverts, cards: list[dict]) -> None:
    """Fill every slot of the after-ack queue with a "Quotable" press WhatConverts answers slowly."""
    for card in cards[:QUEUE_SLOTS]:
        fake_wc.delay_next(f"/api/v1/leads/{lead_id_of(card)}", SLOW)
    answers = await asyncio.gather(*(slack.interaction(press(c, ids.ACTION_LEAD_QUOTABLE)) for c in cards))
    assert all(a.status_code == 200 for a in answers)


async def filled_modals(fake_slack: FakeSlack, count: int, timeout: float = 20.0) -> list[dict]:
    """The open modals once `count` of them show something other than a loading or saving view."""
    waiting = (ids.VIEW_LOADING, ids.VIEW_SAVING)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        shown = [m for m in fake_slack.open_modals() if m.get("callback_id") not in waiting]
        if len(shown) >= count or asyncio.get_running_loop().time() > deadline:
            return shown
        await asyncio.sleep(0.05)


async def test_thirty_add_value_presses_all_open_their_modal_while_the_queue_is_busy(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    cards = await post_cards(app, fake_wc, fake_slack, QUEUE_SLOTS)
    await busy_queue(slack, fake_wc, cards)

    presses = [press(cards[n % len(cards)], ids.ACTION_LEAD_VALUE, user_id=("U1", "U2")[n % 2]) for n in range(30)]
    answers = await asyncio.gather(*(slack.interaction(p) for p in presses))

    assert all(a.status_code == 200 for a in answers)
    opened = await fake_slack.wait_for_calls("views.open", 30)
    assert len(opened) == 30 and len({c.params["trigger_id"] for c in opened}) == 30
    # Every press opened its modal: none was refused for an expired (or reused) trigger.
    assert len(fake_slack.open_modals()) == 30
    forms = await filled_modals(fake_slack, 30)
    assert [m["callback_id"] for m in forms] == [ids.VIEW_LEAD_VALUE] * 30
    asked = sorted(json.loads(m["private_metadata"])["lead_id"] for m in forms)
    assert asked == sorted(lead_id_of(cards[n % len(cards)]) for n in range(30))
    assert fake_slack.calls_to("response_url") == []  # nobody was told anything went wrong


def amounts(quote: str, sales: str) -> dict[str, Any]:
    return {
        ids.BLOCK_VALUE_QUOTE: {ids.ACTION_VALUE_QUOTE: {"type": "plain_text_input", "value": quote or None}},
        ids.BLOCK_VALUE_SALES: {ids.ACTION_VALUE_SALES: {"type": "plain_text_input", "value": sales or None}},
    }


async def value_form(card: dict, slack: SlackClient, fake_slack: FakeSlack) -> dict:
    before = len(fake_slack.open_modals())
    await slack.interaction(press(card, ids.ACTION_LEAD_VALUE))
    form = await settled(fake_slack, after=before)
    assert form["callback_id"] == ids.VIEW_LEAD_VALUE
    return form


def told_anyone(fake_slack: FakeSlack) -> list:
    """Every message that could carry an error: response URLs, ephemerals, DMs."""
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("channel", "").startswith("U")]
    return [*fake_slack.calls_to("response_url"), *fake_slack.calls_to("chat.postEphemeral"), *dms]


async def test_a_value_saved_while_whatconverts_takes_five_seconds_is_written_once_and_no_error_shows(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    (card,) = await post_cards(app, fake_wc, fake_slack, 1)
    lead_id = lead_id_of(card)
    form = await value_form(card, slack, fake_slack)
    fake_wc.delay_next(f"/api/v1/leads/{lead_id}", 5.0)

    acked = await submit(slack, fake_slack, form, amounts("1,200", "99.50"), user_id="U2")

    assert acked.json()["response_action"] == "update" and acked.json()["view"]["callback_id"] == ids.VIEW_SAVING
    # The ack did not wait for WhatConverts: nothing is written yet, the card not yet edited.
    assert fake_wc.get_lead(lead_id)["quote_value"] is None and fake_slack.calls_to("chat.update") == []
    outcome = await settled(fake_slack, form["id"], timeout=20)
    assert "Saved in WhatConverts: quote: $1,200.00 and sales: $99.50" in text_of(outcome)
    posts = fake_wc.calls_to(f"/api/v1/leads/{lead_id}", method="POST")
    assert [c.form for c in posts] == [{"quote_value": "1200", "sales_value": "99.50"}]  # exactly once
    lead = fake_wc.get_lead(lead_id)
    assert float(lead["quote_value"]) == 1200 and float(lead["sales_value"]) == 99.5
    (update,) = fake_slack.calls_to("chat.update")
    assert "quote $1,200.00 and sales $99.50 set by <@U2>" in str(update.params["blocks"])
    assert told_anyone(fake_slack) == []


async def a_form_whatconverts_refuses(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, *, after: float
) -> tuple[int, dict]:
    """A card's value form, open; WhatConverts refuses the next change to its lead `after` seconds."""
    (card,) = await post_cards(app, fake_wc, fake_slack, 1)
    lead_id = lead_id_of(card)
    form = await value_form(card, slack, fake_slack)
    fake_wc.delay_next(f"/api/v1/leads/{lead_id}", after)
    fake_wc.error_message_next(f"/api/v1/leads/{lead_id}", "Invalid lead ID.", status=400)
    return lead_id, form


async def test_a_refusal_after_the_ack_shows_in_the_saving_modal(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    lead_id, form = await a_form_whatconverts_refuses(app, slack, fake_slack, fake_wc, after=3.5)

    acked = await submit(slack, fake_slack, form, amounts("1,200", ""), user_id="U2")

    assert acked.json()["response_action"] == "update"
    outcome = await settled(fake_slack, form["id"], timeout=20)
    assert "didn't accept the change (Invalid lead ID.)" in text_of(outcome)
    assert fake_wc.get_lead(lead_id)["quote_value"] is None and fake_slack.calls_to("chat.update") == []
    assert len(fake_slack.calls_to("views.open")) == 1  # the form's own: no error modal on an old trigger


async def test_a_refusal_after_the_modal_was_closed_reaches_the_presser_in_the_cards_channel(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    _, form = await a_form_whatconverts_refuses(app, slack, fake_slack, fake_wc, after=1.0)

    await submit(slack, fake_slack, form, amounts("1,200", ""), user_id="U2")
    fake_slack.close_view(form["id"])  # the user doesn't wait for "Saving…"

    (told,) = await fake_slack.wait_for_calls("chat.postEphemeral", timeout=15)
    assert (told.params["channel"], told.params["user"]) == ("C1", "U2")
    assert "didn't accept the change (Invalid lead ID.)" in told.params["text"]
    assert fake_slack.open_modals() == [] and fake_slack.calls_to("chat.update") == []


async def test_a_press_whose_trigger_expired_is_told_to_press_again(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """Slack delivered the press late (or it waited behind a slow proxy): no modal can open any more."""
    (card,) = await post_cards(app, fake_wc, fake_slack, 1)
    late = {**press(card, ids.ACTION_LEAD_VALUE, response_url=fake_slack.response_url())}
    late["trigger_id"] = mint_trigger_id(time.time() - 3.5)

    await slack.interaction(late)

    (told,) = await fake_slack.wait_for_calls("response_url")
    assert "expired_trigger_id" in told.params["text"] and "Press the button again" in told.params["text"]
    assert told.params["response_type"] == "ephemeral" and told.params["replace_original"] is False
    assert fake_slack.open_modals() == [] and len(fake_slack.calls_to("views.open")) == 1  # never retried


async def test_a_press_whose_modal_slack_never_answers_is_told_so(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """A dropped connection is no SlackApiError: the press must still get an answer, not a silent task."""
    (card,) = await post_cards(app, fake_wc, fake_slack, 1)
    fake_slack.drop_next("views.open", times=5)  # slack_sdk retries a connection error once

    await slack.interaction(press(card, ids.ACTION_LEAD_VALUE, response_url=fake_slack.response_url()))

    (told,) = await fake_slack.wait_for_calls("response_url", timeout=15)
    assert "Slack didn't open the form" in told.params["text"] and "Press the button again" in told.params["text"]


async def test_an_answer_whose_response_url_expired_goes_to_the_next_surface(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """Slack answers an expired response URL with a 404 that slack_sdk returns: that isn't shown."""
    (card,) = await post_cards(app, fake_wc, fake_slack, 1)
    # A card posted before spam write-back was dropped still has its Spam button, answered by a reply.
    (actions,) = [b for b in card["blocks"] if b.get("block_id") == ids.BLOCK_LEAD_ACTIONS]
    spam = {"type": "button", "text": {"type": "plain_text", "text": "Spam"}, "action_id": ids.ACTION_LEAD_SPAM}
    actions["elements"].append({**spam, "value": str(lead_id_of(card))})
    fake_slack.http_error_next("response_url", status=404)

    await slack.interaction(press(card, ids.ACTION_LEAD_SPAM, response_url=fake_slack.response_url()))

    # The trigger is still fresh, so the next surface is a small modal.
    (shown,) = await fake_slack.wait_for_calls("views.open", timeout=15)
    assert "spam" in str(shown.params["view"]["blocks"]).lower()


@pytest.mark.parametrize(
    ("action_id", "callback_id", "says"),
    [
        (ids.ACTION_HOME_SUB_ADD, ids.VIEW_SUBSCRIPTION, "Channel"),
        (ids.ACTION_HOME_CONNECT, None, "/whatconverts/connect?state="),
    ],
)
async def test_home_modals_open_at_once_while_the_queue_is_busy(
    app: Starlette,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    action_id: str,
    callback_id: str | None,
    says: str,
) -> None:
    cards = await post_cards(app, fake_wc, fake_slack, QUEUE_SLOTS)
    home = await home_of(slack, fake_slack, "U1")
    await busy_queue(slack, fake_wc, cards)

    await slack.interaction(home_press(home, action_id, user_id="U1"))

    (opened,) = await fake_slack.wait_for_calls("views.open")
    assert opened.params["view"]["callback_id"] == ids.VIEW_LOADING
    shown = await settled(fake_slack, timeout=20)  # filled in once the queue has room
    assert (shown.get("callback_id") or None) == callback_id and says in text_of(shown)
    assert len(fake_slack.open_modals()) == 1 and told_anyone(fake_slack) == []


async def test_a_home_error_found_after_slow_work_goes_to_a_dm_not_an_old_trigger(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    home = await home_of(slack, fake_slack, "U1")
    fake_slack.delay_next("chat.postMessage", 3.0)
    fake_slack.fail_next("chat.postMessage", "not_in_channel")

    await slack.interaction(home_press(home, ids.ACTION_HOME_SUB_TEST, user_id="U1"))

    _, dm = await fake_slack.wait_for_calls("chat.postMessage", 2, timeout=15)
    assert dm.params["channel"] == "U1" and "couldn't post in" in dm.params["text"]
    assert "not_in_channel" in dm.params["text"]
    assert fake_slack.calls_to("views.open") == []  # its trigger_id was long dead


async def test_a_quick_home_error_still_shows_in_a_modal(
    app: Starlette, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    home = await home_of(slack, fake_slack, "U1")

    await slack.interaction(home_press(home, ids.ACTION_HOME_DISCONNECT, user_id="U2"))

    shown = await settled(fake_slack)
    assert "Only workspace admins" in text_of(shown)
    assert told_anyone(fake_slack) == []
