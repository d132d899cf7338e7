"""`/whatconverts help [subcommand]`: the overview, each subcommand's page, and the whole filter grammar."""

from __future__ import annotations

import re

import pytest
from slack_sdk.models.blocks import Block

from bot.alerts import filters
from bot.commands import find
from bot.sandbox.command_text import escape_command
from bot.sandbox.render import Names
from bot.slack.payloads import tokenize
from tests.fakes.signing import SlackClient

SUBCOMMANDS = ("connect", "disconnect", "status", "quota", "webhook", "subscribe", "unsubscribe", "list", "leads",
               "stats", "find", "test", "help")  # fmt: skip


def valid(reply: dict) -> list[str]:
    """The reply's section texts, after checking each block as Slack would (≤ 3,000 characters a section)."""
    assert reply["blocks"]
    for block in reply["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    return [b["text"]["text"] for b in reply["blocks"]]


async def test_help_lists_every_subcommand_and_how_to_get_details(installed: None, slack: SlackClient) -> None:
    reply = await slack.ask("help")

    texts = valid(reply)
    for name in SUBCOMMANDS:
        assert f"`/whatconverts {name}" in reply["text"]
    assert "`/whatconverts help <subcommand>`" in texts[-1] and "help subscribe" in texts[-1]


@pytest.mark.parametrize("text", ["help subscribe", "help sub", "HELP Subscribe", "? subscribe", "help /subscribe"])
async def test_help_subscribe_lists_the_whole_grammar(installed: None, slack: SlackClient, text: str) -> None:
    reply = await slack.ask(text)

    texts = valid(reply)
    assert texts[0].startswith("*`/whatconverts subscribe [#channel|@me] [filters]`*") and "(also: `sub`)" in texts[0]
    grammar = "\n".join(texts)  # the blocks: the notification text is cut at 3,000 characters
    for word in set(filters.TYPE_WORD.values()):
        assert f"`{word}`" in grammar
    for field in filters.ATTRIBUTES:
        assert f"`{field}`" in grammar
    for choice, values in filters.CHOICES.items():
        assert f"`+{choice}:" in grammar and all(value in grammar for value in values)
    for token in ("`-calls`", "`all`", 'profile:"Main Site"', "`profile:12345`", "`account:Acme`", "`connection:acme`",
                  "`+spam`", "`+duplicates`", "`+compact`", "`+thread`", "`+digest:09:00`", "`+quiet:20:00-08:00`",
                  "`+urgent:calls`", "`+urgent:source:google`", "posts once", "`@me`", "`+notify:@ada`",
                  "`unsubscribe @me`", "`+sla:15m +escalate:@ada`", "`+escalate:@ada,@sales-team`"):  # fmt: skip
        assert token in grammar, token


# People and user groups as Slack sends them once picked from autocomplete (the manifest sets should_escape).
MENTIONS = {"ada": "<@U0ADA|ada>", "sales-team": "<!subteam^S0SALES|@sales-team>"}


def as_slack_sends(example: str) -> str:
    def mentions(token: re.Match[str]) -> str:
        return re.sub(r"(?<![<|])@([\w.-]+)", lambda name: MENTIONS[name[1]], token[0])

    return re.sub(r"\+escalate:\S+", mentions, example)


async def test_every_example_in_help_parses(installed: None, slack: SlackClient) -> None:
    """Help can't rot: each example command is accepted by the parser it documents."""
    reply = await slack.ask("help subscribe")
    page = "\n".join(valid(reply))  # the blocks: the notification text is cut at 3,000 characters
    examples = re.findall(r"`/whatconverts subscribe([^`]*)`", page.split("*Examples*")[1])
    assert len(examples) >= 6
    people = Names(channels={}, users={"U0ADA": "ada", "U0BEA": "bea"})
    for example in examples:
        # As Slack sends it: `@ada` picked from the autocomplete arrives as `<@U0ADA|ada>`.
        channel, _ = filters.parse_subscription(tokenize(as_slack_sends(escape_command(example, people))))
        # `#sales` as typed (Slack's autocomplete makes it a link), or `@me`.
        assert channel is None or channel.name or channel.user == "me"

    for name in ("leads", "stats"):
        page = (await slack.ask(f"help {name}"))["text"]
        for example in re.findall(rf"`/whatconverts {name}([^`]*)`", page.split("*Examples*")[1]):
            words = [w for w in tokenize(example) if w not in ("today", "yesterday", "14d")]
            filters.parse_subscription(words)

    page = (await slack.ask("help find"))["text"]
    examples = re.findall(r"`/whatconverts find([^`]*)`", page.split("*Examples*")[1])
    assert len(examples) >= 3
    for example in examples:
        label, words = find.split_connection(tokenize(example))
        assert label in (None, "london")
        assert find.contact_for(find.typed_text(words), "GB" if label else "US") is not None, example


@pytest.mark.parametrize("name", SUBCOMMANDS)
async def test_help_for_each_subcommand(installed: None, slack: SlackClient, name: str) -> None:
    reply = await slack.ask(f"help {name}")

    texts = valid(reply)
    assert texts[0].startswith(f"*`/whatconverts {name}")
    assert len(texts) >= 2  # the usage line and at least one paragraph of detail
    assert "`/whatconverts disconnect" not in reply["text"] or name == "disconnect"  # not the overview


async def test_leads_help_names_ranges_and_their_time_zone(installed: None, slack: SlackClient) -> None:
    text = (await slack.ask("help leads"))["text"]
    assert "`yesterday`" in text and "`14d`" in text and "up to 30" in text and "time zone" in text
    assert "`/whatconverts help subscribe`" in text


@pytest.mark.parametrize(
    ("text", "named"),
    [("help frobnicate", "`frobnicate`"), ("help <!channel>", "`&lt;!channel&gt;`"), ("help " + "x" * 60, "`xxx")],
)
async def test_help_for_an_unknown_subcommand_says_so(
    installed: None, slack: SlackClient, text: str, named: str
) -> None:
    reply = await slack.ask(text)

    valid(reply)
    assert reply["text"].startswith(f"There's no subcommand {named}")
    assert "<!channel>" not in reply["text"]
    for name in SUBCOMMANDS:
        assert f"`{name}`" in reply["text"]
