"""The App Home tab: what admins, members and guests see, and every Home button."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette

from bot import ids
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.home import home_of
from tests.support.modals import settled, submit
from tests.support.payloads import fill, home_press


@pytest.fixture
async def configured(installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    await slack.ask("subscribe calls +source:google")


def text_of(view: dict) -> str:
    return json.dumps(view)


def check_view_limits(view: dict) -> None:
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    for block in view["blocks"]:
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25


async def test_admin_sees_connections_subscriptions_and_buttons(
    configured: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    view = await home_of(slack, fake_slack, "U1")

    check_view_limits(view)
    text = text_of(view)
    assert "main-site" in text and "Quota today: 2 / 1,000" in text
    assert "<#C1>" in text and "calls +source:google" in text
    for action_id in (ids.ACTION_HOME_CONNECT, ids.ACTION_HOME_CONNECTION_PAUSE, ids.ACTION_HOME_DISCONNECT,
                      ids.ACTION_HOME_SUB_ADD, ids.ACTION_HOME_SUB_EDIT, ids.ACTION_HOME_SUB_PAUSE,
                      ids.ACTION_HOME_SUB_REMOVE, ids.ACTION_HOME_SUB_TEST):  # fmt: skip
        assert action_id in text, action_id
    assert "Recent problems" in text and PROFILE_SECRET not in text


async def test_member_sees_a_read_only_summary(configured: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    view = await home_of(slack, fake_slack, "U2")

    check_view_limits(view)
    text = text_of(view)
    assert "<#C1>" in text and "calls +source:google" in text
    assert "<@U1>" in text  # who to ask
    assert '"type": "button"' not in text and "Quota today" not in text and "Recent problems" not in text


async def test_guest_sees_no_lead_data(configured: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    view = await home_of(slack, fake_slack, "U3")

    text = text_of(view)
    assert "guests can't see" in text
    assert "<#C1>" not in text and "main-site" not in text and "source" not in text


async def test_pause_and_resume_a_connection(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    view = await home_of(slack, fake_slack, "U1")

    await slack.interaction(home_press(view, ids.ACTION_HOME_CONNECTION_PAUSE, user_id="U1"))
    paused_view = (await fake_slack.wait_for_calls("views.publish", 2))[-1].params["view"]
    assert (await rawdb.dump(sqlite_url))["connections"][0]["status"] == "paused"
    assert ids.ACTION_HOME_CONNECTION_RESUME in text_of(paused_view)

    await slack.interaction(home_press(paused_view, ids.ACTION_HOME_CONNECTION_RESUME, user_id="U1"))
    await fake_slack.wait_for_calls("views.publish", 3)
    assert (await rawdb.dump(sqlite_url))["connections"][0]["status"] == "ok"


async def test_subscription_buttons(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    view = await home_of(slack, fake_slack, "U1")

    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_PAUSE, user_id="U1"))
    await fake_slack.wait_for_calls("views.publish", 2)
    assert (await rawdb.dump(sqlite_url))["subscriptions"][0]["status"] == "paused"

    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_TEST, user_id="U1"))
    posts = await fake_slack.wait_for_calls("chat.postMessage", 2)
    assert posts[-1].params["channel"] == "C1" and posts[-1].params["text"].startswith("Sample: ")

    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_REMOVE, user_id="U1"))
    await fake_slack.wait_for_calls("views.publish", 3)
    assert (await rawdb.dump(sqlite_url))["subscriptions"] == []

    # The same button again: the subscription is gone; the presser is told, nothing else changes.
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_PAUSE, user_id="U1"))
    error = (await fake_slack.wait_for_calls("views.open"))[-1].params["view"]
    assert "removed meanwhile" in text_of(error)


async def test_members_cannot_use_admin_buttons(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    admin_view = await home_of(slack, fake_slack, "U1")

    await slack.interaction(home_press(admin_view, ids.ACTION_HOME_DISCONNECT, user_id="U2"))

    error = (await fake_slack.wait_for_calls("views.open"))[-1].params["view"]
    assert "Only workspace admins" in text_of(error)
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1


async def test_connect_and_disconnect_from_home(
    configured: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    view = await home_of(slack, fake_slack, "U1")

    await slack.interaction(home_press(view, ids.ACTION_HOME_CONNECT, user_id="U1"))
    modal = await settled(fake_slack)  # opened at once, the link filled in after the ack
    assert "/whatconverts/connect?state=" in text_of(modal)

    await slack.interaction(home_press(view, ids.ACTION_HOME_DISCONNECT, user_id="U1"))
    await fake_slack.wait_for_calls("views.publish", 2)
    assert (await rawdb.dump(sqlite_url))["connections"] == []
    assert (await rawdb.dump(sqlite_url))["subscriptions"] == []  # they went with the connection


async def test_add_subscription_modal_makes_what_the_command_makes(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    view = await home_of(slack, fake_slack, "U1")
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_ADD, user_id="U1"))
    modal = await settled(fake_slack)
    fake_slack.add_channel("T1", "C2", name="marketing")
    fake_slack.add_channel("T1", "G1", name="secret", is_private=True, is_member=False)

    async def answer(form: dict, answers: dict) -> dict:
        filled = fill(form, answers)
        response = await submit(slack, fake_slack, form, filled["state"]["values"], user_id="U1")
        return response.json()

    no_channel = await answer(modal, {ids.BLOCK_SUB_CHANNEL: None})
    assert no_channel["response_action"] == "errors" and ids.BLOCK_SUB_CHANNEL in no_channel["errors"]

    # Whether the app may post there takes Slack calls: known only after the ack, so the form comes
    # back as it was submitted, with the problem on top.
    private = await answer(modal, {ids.BLOCK_SUB_CHANNEL: "G1", ids.BLOCK_SUB_TYPES: ["phone_call"]})
    assert private["response_action"] == "update" and private["view"]["callback_id"] == ids.VIEW_SAVING
    again = await settled(fake_slack, modal["id"])
    assert again["callback_id"] == ids.VIEW_SUBSCRIPTION and "invite me" in text_of(again).lower()
    assert (
        fill(again)["state"]["values"][ids.BLOCK_SUB_TYPES]
        == fill(modal, {ids.BLOCK_SUB_TYPES: ["phone_call"]})["state"]["values"][ids.BLOCK_SUB_TYPES]
    )
    assert (await rawdb.dump(sqlite_url))["subscriptions"][1:] == []

    saved = await answer(
        again,
        {ids.BLOCK_SUB_CHANNEL: "C2", ids.BLOCK_SUB_TYPES: ["phone_call"], ids.BLOCK_SUB_INCLUDE_SOURCES: "google"},
    )
    assert saved["response_action"] == "update"
    done = await settled(fake_slack, modal["id"])
    assert "<#C2> now gets new leads" in text_of(done)
    subs = (await rawdb.dump(sqlite_url))["subscriptions"]
    assert [s["channel_id"] for s in subs] == ["C1", "C2"]
    assert subs[0]["filters_json"] == subs[1]["filters_json"]  # same choices, same subscription as the command
    await fake_slack.wait_for_calls("views.publish", 2)  # Home republished after the change


async def test_a_refusal_in_the_subscription_modal_keeps_its_channel_mention(
    configured: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    """The problem on top of the form is mrkdwn: a real <#C…> mention, not one shown escaped."""
    view = await home_of(slack, fake_slack, "U1")
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_ADD, user_id="U1"))
    modal = await settled(fake_slack)
    # What the `configured` subscription already is: calls +source:google in C1.
    same = fill(
        modal,
        {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_TYPES: ["phone_call"], ids.BLOCK_SUB_INCLUDE_SOURCES: "google"},
    )

    await submit(slack, fake_slack, modal, same["state"]["values"], user_id="U1")

    again = text_of(await settled(fake_slack, modal["id"]))
    assert "<#C1> already has that subscription" in again and "&lt;#C1" not in again


async def test_edit_modal_changes_the_subscription_and_a_stale_edit_is_refused(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    view = await home_of(slack, fake_slack, "U1")
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_EDIT, user_id="U1"))
    modal = await settled(fake_slack)
    filled = fill(modal, {ids.BLOCK_SUB_TYPES: ["phone_call", "web_form"]})

    edited = await submit(slack, fake_slack, modal, filled["state"]["values"], user_id="U1")

    assert edited.json()["response_action"] == "update"
    assert "now gets new leads" in text_of(await settled(fake_slack, modal["id"]))
    (sub,) = (await rawdb.dump(sqlite_url))["subscriptions"]
    assert "web_form" in sub["filters_json"] and "google" in sub["filters_json"]

    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_EDIT, user_id="U1"))
    second = await settled(fake_slack, after=1)
    await slack.ask("unsubscribe all")
    stale = await submit(slack, fake_slack, second, filled["state"]["values"], user_id="U1")
    assert stale.json()["response_action"] == "update"
    assert "removed meanwhile" in text_of(await settled(fake_slack, second["id"]))


def buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", "")) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


async def test_a_member_sees_and_manages_only_their_own_personal_alerts(
    configured: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    await slack.ask("subscribe @me forms", user_id="U1")  # 2: the admin's own
    await slack.ask("subscribe @me calls", user_id="U2")  # 3: the member's

    view = await home_of(slack, fake_slack, "U2")

    check_view_limits(view)
    text = text_of(view)
    assert "<#C1>" in text and "<@U2>'s direct messages" in text and "<@U1>'s direct messages" not in text
    assert buttons(view) == [(ids.ACTION_HOME_SUB_PAUSE, "3"), (ids.ACTION_HOME_SUB_REMOVE, "3")]
    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_PAUSE, user_id="U2"))
    await fake_slack.wait_for_calls("views.publish", 2)
    assert [s["status"] for s in (await rawdb.dump(sqlite_url))["subscriptions"]] == ["active", "active", "paused"]

    # Admins see everyone's; the form picks a channel, so personal alerts have no Edit button.
    admin = await home_of(slack, fake_slack, "U1")
    assert "<@U1>'s direct messages" in text_of(admin) and "<@U2>'s direct messages" in text_of(admin)
    assert [value for action, value in buttons(admin) if action == ids.ACTION_HOME_SUB_EDIT] == ["1"]
    assert (ids.ACTION_HOME_SUB_REMOVE, "3") in buttons(admin)
