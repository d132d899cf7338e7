"""`subscribe @me` and its kin: any member may have their own alerts; channels still need configure
rights; `list`, `list all` and `unsubscribe` show and touch only what the asker may."""

from __future__ import annotations

import json

import pytest

from bot.config import Settings
from bot.slack.permissions import CONFIGURE_REFUSAL, GUEST_REFUSAL
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.outbox import rows
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def ask(slack: SlackClient, text: str, user_id: str = "U2", channel_id: str = "C1") -> str:
    """The reply's text and blocks, as one string to search."""
    reply = await slack.ask(text, user_id=user_id, channel_id=channel_id)
    return json.dumps([reply.get("text"), reply.get("blocks")])


async def subs(database_url: str) -> list[tuple[int, str, str | None, str]]:
    return [
        (s["id"], s["channel_id"], s["owner_user_id"], s["created_by"])
        for s in await rows(database_url, "subscriptions")
    ]


async def test_a_member_may_subscribe_themselves_but_not_a_channel(
    connected: None, slack: SlackClient, database_url: str
) -> None:
    assert "Your direct messages from the app" in await ask(slack, "subscribe @me calls +source:google")
    assert "Your direct messages from the app" in await ask(slack, "subscribe <@U2|bob> forms")  # picked self
    assert CONFIGURE_REFUSAL in await ask(slack, "subscribe calls")
    assert CONFIGURE_REFUSAL in await ask(slack, "subscribe <#C1|leads> calls")

    assert await subs(database_url) == [(1, "U2", "U2", "U2"), (2, "U2", "U2", "U2")]
    assert "You already have that subscription (id 1)" in await ask(slack, "subscribe @ME +source:google calls")
    assert len(await subs(database_url)) == 2


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("subscribe <@U1|ada> calls", "You can subscribe only yourself"),  # someone else
        ("subscribe @me <#C1|leads>", "a subscription posts to one place"),
        ("subscribe #leads @me", "a subscription posts to one place"),
        ("subscribe @me +notify:<@U1|ada>", "`+notify` is for a channel's subscriptions"),
    ],
)
async def test_what_personal_alerts_refuse(
    connected: None, slack: SlackClient, database_url: str, text: str, said: str
) -> None:
    assert said in await ask(slack, text)
    assert await subs(database_url) == []


async def test_a_guest_gets_no_personal_alerts(connected: None, slack: SlackClient, database_url: str) -> None:
    assert GUEST_REFUSAL.split(":")[0] in await ask(slack, "subscribe @me", user_id="U3")
    assert await subs(database_url) == []


async def test_list_shows_your_own_alerts_and_list_all_shows_admins_everyones(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("T1", "U4", name="cy")
    await ask(slack, "subscribe calls", user_id="U1")  # the channel's (1), by an admin
    await ask(slack, "subscribe @me forms", user_id="U1")  # the admin's own (2)
    await ask(slack, "subscribe @me calls +source:google")  # U2's (3)
    await ask(slack, "subscribe @me", user_id="U4")  # U4's (4)

    mine = await ask(slack, "list")
    assert "Subscriptions in this channel (1)" in mine and "`1` <#C1>" in mine
    assert "Your personal alerts (1)" in mine and "`3` :bust_in_silhouette: <@U2>'s direct messages" in mine
    assert "<@U1>'s" not in mine and "<@U4>" not in mine

    everywhere = await ask(slack, "list all")
    assert "`1` <#C1>" in everywhere and "`3`" in everywhere
    assert "`2`" not in everywhere and "`4`" not in everywhere  # others' alerts are theirs

    admin = await ask(slack, "list all", user_id="U1")
    assert "Subscriptions in this workspace (4)" in admin
    for sub_id, user in ((2, "U1"), (3, "U2"), (4, "U4")):
        assert f"`{sub_id}` :bust_in_silhouette: <@{user}>'s direct messages" in admin

    elsewhere = await ask(slack, "list", channel_id="C9")  # a channel without subscriptions
    assert "No subscriptions in this channel" in elsewhere and "Your personal alerts (1)" in elsewhere


async def test_unsubscribe_your_own_alerts_and_admins_any(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    fake_slack.add_user("T1", "U4", name="cy")
    await ask(slack, "subscribe @me calls")  # 1, U2's
    await ask(slack, "subscribe @me forms")  # 2, U2's
    await ask(slack, "subscribe @me", user_id="U4")  # 3, U4's
    await ask(slack, "subscribe @me", user_id="U1")  # 4, the admin's

    assert CONFIGURE_REFUSAL in await ask(slack, "unsubscribe 3")  # not U2's
    assert "You can unsubscribe only yourself" in await ask(slack, "unsubscribe <@U4|cy>")
    assert "Removed subscription 1." in await ask(slack, "unsubscribe 1")
    assert "Removed subscription 3." in await ask(slack, "unsubscribe 3", user_id="U1")  # an admin: any
    assert [s[0] for s in await subs(database_url)] == [2, 4]

    assert "Removed subscription 2." in await ask(slack, "unsubscribe @me")
    assert "You have no personal alerts" in await ask(slack, "unsubscribe @me")
    assert [s[0] for s in await subs(database_url)] == [4]
