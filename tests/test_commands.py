"""The subcommand table: help, usage lines for anything unknown or malformed."""

from __future__ import annotations

import json
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.filters import parse_subscription
from bot.listeners.commands import build_table
from bot.payloads import Command
from bot.services import Services
from tests.fakes.signing import SlackClient
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate", "I don't know the subcommand `frobnicate`."),
        ('connect "unclosed', "A quote (\") isn't closed."),
        ("x" * 2500, "That command is too long."),
        ("<!channel> hi", "I don't know the subcommand `&lt;!channel&gt;`."),
    ],
)
async def test_unknown_or_malformed_gets_a_usage_line(
    installed: None, slack: SlackClient, text: str, expected: str
) -> None:
    reply = await slack.command(text)

    assert reply.status_code == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(expected)
    assert "Usage: `/whatconverts <" in body["text"] and "help" in body["text"]


@pytest.mark.parametrize("text", ["help", "", "HELP", "?"])
async def test_help_lists_every_subcommand(installed: None, slack: SlackClient, text: str) -> None:
    body = await slack.ask(text)
    for name in ("connect", "disconnect", "status", "help"):
        assert f"`/whatconverts {name}" in body["text"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_gets_a_usage_line(text: str) -> None:
    table = build_table(cast(Services, None))
    command = Command(
        team_id="T1", enterprise_id=None, user_id="U1", channel_id="C1", text=text, response_url=None, trigger_id=None
    )
    try:
        sub, invocation = table.parse(command)
    except UsageError as exc:
        assert exc.message
        return
    assert sub.name in {"connect", "disconnect", "status", "quota", "webhook", "subscribe", "unsubscribe", "list",
                        "leads", "stats", "test", "help"}  # fmt: skip
    if sub.name == "subscribe":
        try:
            parse_subscription(invocation.args)
        except UsageError as exc:
            assert exc.message


async def test_subscribe_refuses_a_text_direction_override_and_does_not_echo_it(
    installed: None, app_url: str, slack: SlackClient, sqlite_url: str
) -> None:
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    reply = await slack.ask("subscribe calls +source:\u202eelgoog")

    assert "invisible formatting character" in reply["text"]
    assert "\u202e" not in json.dumps(reply, ensure_ascii=False)
    assert (await rawdb.dump(sqlite_url))["subscriptions"] == []
