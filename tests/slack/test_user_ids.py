"""Ids that come from users (command words, button values, modal choices) are checked before use.

A number too big for the database, `²`, or another script's digits gets a short answer, never
"something went wrong": on PostgreSQL an id past 2**31 - 1 fails the query; on SQLite one past
2**63 - 1 does.
"""

from __future__ import annotations

import copy
import json

import pytest

from bot import ids
from bot.config import Settings
from bot.slack.payloads import MAX_ID, parse_id
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.modals import settled
from tests.support.payloads import fill, home_press, message_press, view_submission
from tests.support.settings import make_settings

ARABIC_12 = "\u0661\u0662"  # Arabic-Indic digits: `isdigit` is true and `int` reads 12
HOSTILE = ["99999999999999999999999", "9223372036854775808", str(MAX_ID + 1), "²", ARABIC_12, "1e3", "-1", "0"]
GENERIC = "Something went wrong on our side"


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def configured(installed: None, app_url: str, slack: SlackClient) -> None:
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    assert "now gets new leads" in (await slack.ask("subscribe calls"))["text"]


def test_parse_id_takes_ascii_digits_in_range_only() -> None:
    assert [parse_id(text) for text in ("1", "007", str(MAX_ID))] == [1, 7, MAX_ID]
    for text in [*HOSTILE, "", " 1", "1 ", "+1", "1_000", "\u0663", "\uff11", "9" * 5000]:
        assert parse_id(text) is None, text


@pytest.mark.parametrize("word", HOSTILE)
async def test_unsubscribe_with_a_hostile_id_gets_a_usage_line(
    configured: None, slack: SlackClient, database_url: str, word: str
) -> None:
    reply = await slack.ask(f"unsubscribe {word}")

    assert GENERIC not in reply["text"]
    assert "isn't a subscription id" in reply["text"] and "/whatconverts unsubscribe [id|all|@me]" in reply["text"]
    assert len((await rawdb.dump(database_url))["subscriptions"]) == 1


async def test_a_bidi_override_in_a_command_word_is_not_echoed(configured: None, slack: SlackClient) -> None:
    reply = await slack.ask("unsubscribe 1\u202e2")

    assert "isn't a subscription id" in reply["text"] and "\u202e" not in json.dumps(reply, ensure_ascii=False)


async def home_view(slack: SlackClient, fake: FakeSlack) -> dict:
    await slack.event({"type": "app_home_opened", "channel": "D1", "tab": "home", "user": "U1"})
    return (await fake.wait_for_calls("views.publish"))[-1].params["view"]


def with_value(payload: dict, value: str) -> dict:
    forged = copy.deepcopy(payload)
    forged["actions"][0]["value"] = value
    return forged


HOME_BUTTONS = [
    ids.ACTION_HOME_CONNECTION_PAUSE,
    ids.ACTION_HOME_DISCONNECT,
    ids.ACTION_HOME_WEBHOOK_ROTATE,
    ids.ACTION_HOME_SUB_EDIT,
    ids.ACTION_HOME_SUB_PAUSE,
    ids.ACTION_HOME_SUB_REMOVE,
    ids.ACTION_HOME_SUB_TEST,
]


async def test_home_buttons_with_hostile_values_say_the_item_is_gone(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    view = await home_view(slack, fake_slack)
    before = await rawdb.dump(database_url)

    shown = []
    for action_id in HOME_BUTTONS:
        for value in ("99999999999999999999999", str(MAX_ID + 1), "²"):
            count = len(fake_slack.open_modals())
            pressed = await slack.interaction(with_value(home_press(view, action_id, user_id="U1"), value))
            assert pressed.status_code == 200
            shown.append(json.dumps(await settled(fake_slack, after=count)))

    assert len(shown) == 3 * len(HOME_BUTTONS)
    assert all("no longer exists" in text and GENERIC not in text for text in shown), shown
    after = await rawdb.dump(database_url)
    assert after["connections"] == before["connections"] and after["subscriptions"] == before["subscriptions"]


async def test_disconnect_confirmation_with_a_hostile_value_changes_nothing(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    ask = await slack.ask("disconnect")
    answers = []
    for value in ("99999999999999999999999", str(MAX_ID + 1), "\u0661"):
        mark = fake_slack.mark()
        url = fake_slack.response_url(f"T1/d/{len(answers)}")
        payload = message_press(ask, ids.ACTION_DISCONNECT_CONFIRM, user_id="U1", response_url=url)
        assert (await slack.interaction(with_value(payload, value))).status_code == 200
        answers.append((await fake_slack.next_call(mark)).params["text"])

    assert all("no longer exists" in text and GENERIC not in text for text in answers), answers
    assert len((await rawdb.dump(database_url))["connections"]) == 1


async def test_subscription_modal_with_a_hostile_connection_choice_gets_an_inline_error(
    configured: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    # With two connections the modal offers a connection select, whose value comes back to us.
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect agency")
    view = await home_view(slack, fake_slack)
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_ADD, user_id="U1"))
    modal = await settled(fake_slack)
    filled = fill(modal, {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_TYPES: ["web_form"]})

    answers = []
    for value in ("99999999999999999999999", str(MAX_ID + 1), "²"):
        values = copy.deepcopy(filled["state"]["values"])
        option = {"text": {"type": "plain_text", "text": "x"}, "value": value}
        values[ids.BLOCK_SUB_CONNECTION][ids.ACTION_SUB_CONNECTION]["selected_option"] = option
        answers.append((await slack.interaction(view_submission(filled, values, user_id="U1"))).json())

    assert all(a == {"response_action": "errors", "errors": {ids.BLOCK_SUB_CONNECTION: "Choose a connection."}}
               for a in answers), answers  # fmt: skip
    assert len((await rawdb.dump(database_url))["subscriptions"]) == 1


async def test_a_stale_button_never_reaches_a_newer_subscription(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    stale = await home_view(slack, fake_slack)
    [old] = (await rawdb.dump(database_url))["subscriptions"]
    assert "Removed" in (await slack.ask(f"unsubscribe {old['id']}"))["text"]
    assert "now gets new leads" in (await slack.ask("subscribe forms"))["text"]
    [new] = (await rawdb.dump(database_url))["subscriptions"]

    count = len(fake_slack.calls_to("views.open"))
    await slack.interaction(home_press(stale, ids.ACTION_HOME_SUB_REMOVE, user_id="U1"))
    shown = (await fake_slack.wait_for_calls("views.open", count + 1))[-1].params["view"]

    assert new["id"] != old["id"]
    assert "removed meanwhile" in json.dumps(shown)
    assert (await rawdb.dump(database_url))["subscriptions"] == [new]
