"""The subcommand table: help, usage lines for anything unknown or malformed."""

from __future__ import annotations

import pytest

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
    body = (await slack.command(text)).json()
    for name in ("connect", "disconnect", "status", "help"):
        assert f"`/whatconverts {name}" in body["text"]
