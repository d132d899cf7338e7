"""Replies, Home and cards stay within Slack's Block Kit limits with an agency's longest names (S7).

An agency key with 5 accounts of 5 profiles each (25 profiles), every name 90 characters with `&`, `<`
and `>` in it, and a subscription filter of over 1,900 characters (about 3,800 once escaped). Slack
refuses a whole message for one section over 3,000 characters or one empty section; here the fake
Slack refuses what Slack refuses, the test client checks every ack body, and conftest fails a test
on any refusal. `assert_entities_whole` adds what validation can't see: no cut split `&amp;` or `<#C…>`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.alerts.cards import sample_lead
from bot.alerts.digest_messages import digest_message, quiet_summary_message
from bot.commands.help_messages import overview_message
from bot.commands.lead_messages import leads_message, stats_message, summarize
from bot.commands.subscription_messages import SubscriptionLine, list_message
from bot.commands.table import MAX_TEXT
from bot.connect.messages import ConnectionStatus, ProblemLine, status_message, webhook_message
from bot.home.view import HomeData, home_view
from bot.sandbox.blockkit import message_errors, view_errors
from bot.slack import blocks
from bot.slack.escape import escape_mrkdwn
from bot.slack.messages import error_message, usage_message
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key
from tests.support.home import home_of
from tests.support.markup import assert_entities_whole

AGENCY_TOKEN = "wc-agency-token-long-names"
AGENCY_SECRET = "canary-wc-agency-secret-0b7d41"


def long_name(kind: str, n: str) -> str:
    name = f"{kind} {n} — Smith & Sons <Plumbing> Heating & Cooling of the Greater Metro Area "
    return (name + "x" * 90)[:90]


ACCOUNTS = [
    {
        "account_id": 50_000 + a,
        "account_name": long_name("Account", str(a)),
        "profiles": [
            {"profile_id": 60_000 + 10 * a + p, "profile_name": long_name("Profile", f"{a}.{p}")} for p in range(5)
        ],
    }
    for a in range(5)
]
# Sources as WhatConverts users name them. Slack sends `&` in command text as `&amp;`, and a command
# is at most 2,000 characters (bot.commands.table.MAX_TEXT), so only some hold one.
SOURCES = [f"{'r&d' if n % 8 == 0 else 'ads'}-campaign-{n:03}" for n in range(112)]
GRAMMAR = "+source:" + ",".join(SOURCES)
TYPED = GRAMMAR.replace("&", "&amp;")


@pytest.fixture
async def agency(installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    """The agency key connected as `agency`, with one lead in each of its 25 profiles."""
    assert len(GRAMMAR) > 1_900 and len(f"subscribe {TYPED}") <= MAX_TEXT
    assert sum(len(a["profiles"]) for a in ACCOUNTS) == 25
    fake_wc.add_master_key(AGENCY_TOKEN, AGENCY_SECRET, accounts=ACCOUNTS)
    fake_wc.set_daily_limit(AGENCY_TOKEN, None)
    await connect_key(app_url, slack, token=AGENCY_TOKEN, secret=AGENCY_SECRET, text="connect agency")
    for n, profile in enumerate(p for a in ACCOUNTS for p in a["profiles"]):
        fake_wc.add_lead(
            profile_id=profile["profile_id"], lead_source=SOURCES[n], contact_name=long_name("Caller", str(n))
        )


@pytest.fixture
async def subscribed_long(agency: None, slack: SlackClient) -> dict:
    """#leads subscribed with the 1,900-character filter; the reply to `subscribe`."""
    reply = await slack.ask(f"subscribe {TYPED}", channel_id="C1")
    assert "now gets new leads" in reply["text"], reply
    return reply


async def test_status_lists_every_account_within_the_limits(agency: None, slack: SlackClient) -> None:
    reply = await slack.ask("status")

    assert_entities_whole(reply)
    shown = " ".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
    assert "*agency* — API key, master" in shown
    assert all(escape_mrkdwn(a["account_name"][:40]) in shown for a in ACCOUNTS), shown
    assert all(escape_mrkdwn(p["profile_name"][:40]) in shown for a in ACCOUNTS for p in a["profiles"])


async def test_subscribe_and_list_show_a_long_filter_within_the_limits(
    subscribed_long: dict, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    assert_entities_whole(subscribed_long)
    assert "r&amp;d-campaign-000" in subscribed_long["text"]

    for command in ("list", "list all"):
        reply = await slack.ask(command, channel_id="C1")

        assert_entities_whole(reply)
        sections = [b for b in reply["blocks"] if b["type"] == "section"]
        assert all(s["text"]["text"].strip() for s in sections)
        assert "<#C1>" in reply["text"] and "r&amp;d-campaign-000" in sections[1]["text"]["text"]


async def test_leads_and_stats_cut_the_filter_in_their_heading(
    agency: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    leads = await slack.ask(f"leads 7d {TYPED}")
    stats = await slack.ask(f"stats 7d {TYPED}")

    for reply in (leads, stats):
        assert_entities_whole(reply)
        heading = reply["blocks"][0]["text"]["text"].split("\n")[0]
        assert len(heading) <= blocks.HEADER_TEXT and "matching `+source:ads-campaign-001," in heading, heading
        assert heading.count("`") == 2 and "…`" in heading
    assert "(latest 10 of 25)" in leads["blocks"][0]["text"]["text"]
    assert "*25 leads the last 7 days" in stats["blocks"][0]["text"]["text"]


async def test_home_shows_long_names_and_filters_within_the_limits(
    subscribed_long: dict, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    for user in ("U1", "U2"):  # an admin, then a member
        view = await home_of(slack, fake_slack, user)

        assert fake_slack.refusals() == []
        assert_entities_whole(view)
        assert "r&amp;d-campaign-000" in str(view)


# --- Builders, with what commands can't produce: a form's 6,000-character filter, 60 subscriptions,
# 45 connections, problems with long messages.

WIDE = "+source:" + ",".join(f"r&d&q&a-{n:04}" for n in range(460))  # a form's two 3,000-character inputs
NOW = datetime(2025, 5, 28, 19, 19, tzinfo=UTC)


def sub_line(n: int, grammar: str = WIDE) -> SubscriptionLine:
    return SubscriptionLine(n, "C0LEADS", "agency-" + "x" * 25, grammar, "broken", "is_archived", 3, 1, 2)


def connection(n: int) -> ConnectionStatus:
    scope = [
        {"account": a["account_name"], "profiles": [{"profile": p["profile_name"]} for p in a["profiles"]]}
        for a in ACCOUNTS
    ]
    return ConnectionStatus(
        label=f"agency-{n}", kind="api_key", key_type="master", scope=scope, status="error",
        last_error="WhatConverts said: " + "<bad> & worse " * 80, last_poll_at=NOW, quota_used=9_000,
        quota_limit=10_000, next_poll_at=NOW, last_poll_error="timeout & " * 50, connection_id=n,
        webhook_url="https://wcs.test/webhooks/abc", webhook_profiles=[(p["profile_name"], n % 2 == 0)
        for a in ACCOUNTS for p in a["profiles"]],
    )  # fmt: skip


PROBLEMS = [
    ProblemLine(NOW, long_name("Subject", str(n)), "<#C1> & <@U1> " * 40, "Fix & retry " * 30) for n in range(10)
]


def valid_message(message: dict) -> list[dict]:
    assert message_errors(message) == [] and len(message["text"]) <= blocks.FALLBACK_TEXT
    assert_entities_whole(message)
    return message["blocks"]


def test_list_never_sends_an_empty_section_for_a_line_over_a_section() -> None:
    shown = valid_message(list_message([sub_line(1)], everywhere=False, several_connections=True))

    assert len(shown) == 2 and shown[1]["text"]["text"].startswith("`1` <#C0LEADS> `+source:r&amp;d")
    # The connection and the state survive the cut.
    assert f"… connection:agency-{'x' * 25}` — :red_circle: broken (is_archived" in shown[1]["text"]["text"]


def test_list_of_60_long_subscriptions_says_how_many_it_left_out() -> None:
    shown = valid_message(list_message([sub_line(n) for n in range(60)], everywhere=True, several_connections=True))

    assert len(shown) == blocks.MESSAGE_BLOCKS
    assert shown[-1]["text"]["text"] == "…and 12 more; 60 in all."


def test_status_of_45_agency_connections_with_long_errors_and_problems() -> None:
    shown = valid_message(status_message([connection(n) for n in range(45)], PROBLEMS, notice="Reinstall & " * 400))

    assert len(shown) == blocks.MESSAGE_BLOCKS
    assert "…and 5 more connections." in str(shown)
    assert shown[-1]["text"]["text"].startswith("…and ")  # problems that didn't fit, counted


def test_home_with_long_filters_names_and_problems_fits_a_view() -> None:
    data = HomeData(
        role="admin", connections=[connection(n) for n in range(12)], subscriptions=[sub_line(n) for n in range(30)],
        problems=PROBLEMS, notice="Reinstall & " * 400,
    )  # fmt: skip

    view = home_view(data)

    assert view_errors(view) == [] and len(view["blocks"]) <= blocks.VIEW_BLOCKS
    assert_entities_whole(view)
    member = home_view(HomeData(role="member", subscriptions=[sub_line(n) for n in range(30)], contacts=("U1",)))
    assert view_errors(member) == []


def test_leads_stats_and_digests_with_long_filters_and_names() -> None:
    leads = [
        replace(sample_lead(), lead_id=n, account=long_name("Account", str(n)), profile=long_name("Profile", str(n)),
                source=long_name("r&d", str(n)), campaign=long_name("Spring & Summer", str(n)))
        for n in range(40)
    ]  # fmt: skip
    summary = summarize(leads)

    valid_message(leads_message(leads[:10], total=40, range_label="the last 30 days", grammar=WIDE))
    stats = valid_message(stats_message(summary, range_label="the last 30 days", grammar=WIDE))
    valid_message(digest_message(leads, channel_id="C0LEADS"))
    valid_message(quiet_summary_message(leads))

    assert len(stats[0]["text"]["text"].split("\n")[0]) <= blocks.HEADER_TEXT


def test_errors_usage_help_and_webhook_replies_stay_within_a_section() -> None:
    """Errors and usage answers quote what people typed, up to a command's 2,000 characters, escaped."""
    typed = WIDE[: MAX_TEXT - 20]
    for message in (
        error_message(f"No connection called {typed}."),
        webhook_message(label="agency", url="https://wcs.test/webhooks/abc", rotated=False,
                        profiles=[(p["profile_name"], True) for a in ACCOUNTS for p in a["profiles"]]),
    ):  # fmt: skip
        valid_message(message)
    for message in (
        usage_message(f"I don't know `{typed}`", [("help", "help")]),
        overview_message([("subscribe [#channel] [filters…]", "what it does, and why " * 10)] * 30),
    ):
        assert message_errors(message) == [] and len(message["text"]) <= blocks.FALLBACK_TEXT
