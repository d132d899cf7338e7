"""The subcommand table: help, usage lines for anything unknown or malformed."""

from __future__ import annotations

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
    assert sub.name in {"connect", "disconnect", "status", "webhook", "subscribe", "unsubscribe", "list", "leads",
                        "stats", "test", "help"}  # fmt: skip
    if sub.name == "subscribe":
        try:
            parse_subscription(invocation.args)
        except UsageError as exc:
            assert exc.message
