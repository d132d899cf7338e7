"""The subcommand table: help, usage lines for anything unknown or malformed."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.filters import parse_subscription
from bot.errors import UsageError
from bot.listeners.commands import build_table
from bot.services import Services
from bot.slack.payloads import Command
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
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
                        "leads", "stats", "find", "test", "help"}  # fmt: skip
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


async def test_a_reply_slack_refuses_is_logged_not_lost_silently(
    installed: None, slack: SlackClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """slack_sdk returns a refused response_url post instead of raising: the app must say so in its log."""
    fake_slack.http_error_next("response_url", status=404)  # an expired response URL
    with caplog.at_level(logging.WARNING, logger="bot"):
        await slack.ask("status")
        for _ in range(100):
            if any("Slack refused a reply: HTTP 404" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
    assert any("Slack refused a reply: HTTP 404" in r.getMessage() for r in caplog.records)
