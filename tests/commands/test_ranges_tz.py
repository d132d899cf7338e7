"""`leads`/`stats` ranges: days in the user's Slack time zone (named in the reply), `Nd` up to 30 days,
and errors that name the range, not a subscription."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.commands.leads import date_range, split_range, user_zone
from bot.errors import UsageError
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import PROFILE_TOKEN

# 01:00 UTC on 2 June is 13:00 on 2 June in Auckland and 21:00 on 1 June in New York.
NOW = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
async def connected(connected: None, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> None:
    """The package's connected workspace, with two users (one without a time zone) and two leads."""
    fake_slack.add_user("T1", "U5", tz="Pacific/Auckland", name="kiri")
    fake_slack.add_user("T1", "U6", tz=None, name="nozone")
    # 2 June 08:00 in Auckland (1 June in UTC and in New York), and 1 June 23:00 in Auckland.
    fake_wc.add_lead(contact_name="Early Bird", date_created="2025-06-01T20:00:00Z")
    fake_wc.add_lead(contact_name="Late Owl", date_created="2025-06-01T11:00:00Z")


async def answer(slack: SlackClient, text: str, user_id: str = "U1") -> str:
    return str((await slack.ask(text, user_id=user_id))["text"])


async def test_today_and_yesterday_are_days_where_the_user_is(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    with time_machine.travel(NOW, tick=True):
        auckland_today = await answer(slack, "leads today", user_id="U5")
        auckland_yesterday = await answer(slack, "leads yesterday", user_id="U5")
        new_york_today = await answer(slack, "leads", user_id="U1")
        stats = await answer(slack, "stats today", user_id="U5")

    assert "today (Pacific/Auckland)" in auckland_today
    assert "Early Bird" in auckland_today and "Late Owl" not in auckland_today
    assert "yesterday (Pacific/Auckland)" in auckland_yesterday
    assert "Late Owl" in auckland_yesterday and "Early Bird" not in auckland_yesterday
    # Still 1 June in New York: both leads are today's there (in UTC, neither would be).
    assert "today (America/New_York)" in new_york_today
    assert "Early Bird" in new_york_today and "Late Owl" in new_york_today
    assert re.search(r"\*1 leads? today \(Pacific/Auckland\)", stats), stats


async def test_without_a_time_zone_from_slack_days_are_utc_and_the_reply_says_so(
    connected: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    with time_machine.travel(NOW, tick=True):
        text = await answer(slack, "leads yesterday", user_id="U6")

    assert "yesterday (UTC: Slack didn't say your time zone)" in text
    assert "Early Bird" in text and "Late Owl" in text  # 1 June, in UTC


async def test_any_number_of_days_up_to_thirty(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead(contact_name="Fresh Lead")
    fake_wc.add_lead(contact_name="Old Lead", date_created=datetime.now(UTC) - timedelta(days=20))

    fortnight = await answer(slack, "leads 14d")
    month = await answer(slack, "leads 30D")

    assert "the last 14 days" in fortnight and "Fresh Lead" in fortnight and "Old Lead" not in fortnight
    assert "the last 30 days" in month and "Old Lead" in month


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("leads 90d", "`leads` covers at most 30 days (`90d` is longer). Ranges: today, yesterday, 7d, 30d"),
        ("stats 365d calls", "`stats` covers at most 30 days (`365d` is longer)"),
        ("leads 2w", "I don't know the range `2w`. Ranges: today, yesterday, 7d, 30d"),
        ("stats last-week", "I don't know the range `last-week`."),
        ("leads 0d", "I don't know the range `0d`."),
        ("leads today 7d", "Give one range, not 2 (today, 7d)."),
        ("leads +colour:red", "I can't use `+colour:red` in `leads`: that field doesn't exist"),
        ("stats frobs", "I can't use `frobs` in `stats`: it isn't a lead type, filter or channel."),
        ("leads +digest:09:00", "`+digest` is for subscriptions (how their cards post); `leads` only picks leads."),
        ("stats calls +quiet:20:00-08:00 +urgent:calls", "`+quiet` is for subscriptions"),
        ("leads +sla:5m +escalate:<@U2|grace>", "`+sla` is for subscriptions"),
        ("leads <#C1|leads>", "`leads` answers here, only for you: leave the channel out."),
    ],
)
async def test_errors_name_what_is_wrong(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, text: str, says: str
) -> None:
    before = fake_wc.requests_today(PROFILE_TOKEN)

    shown = await answer(slack, text)

    assert shown.startswith(says), shown
    assert "subscription:" not in shown and "in a subscription" not in shown
    assert fake_wc.requests_today(PROFILE_TOKEN) == before  # refused before asking WhatConverts


def test_range_words_are_found_among_filters() -> None:
    assert split_range(["calls", "7D"], "today", "stats") == ("7d", ["calls"])
    assert split_range(["calls"], "7d", "stats") == ("7d", ["calls"])
    with pytest.raises(UsageError, match="covers at most 30 days"):
        split_range(["31d"], "today", "leads")


BERLIN = user_zone("Europe/Berlin")


@pytest.mark.parametrize(
    ("now", "word", "start", "end"),
    [
        # 23:30 UTC on 1 June is already 2 June in Berlin (UTC+2).
        ("2025-06-01T23:30:00+00:00", "today", "2025-06-01T22:00:00+00:00", "2025-06-01T23:30:00+00:00"),
        ("2025-06-01T23:30:00+00:00", "yesterday", "2025-05-31T22:00:00+00:00", "2025-06-01T21:59:59+00:00"),
        # 30 March 2025 is 23 hours long in Berlin (clocks go forward at 02:00).
        ("2025-03-31T12:00:00+00:00", "yesterday", "2025-03-29T23:00:00+00:00", "2025-03-30T21:59:59+00:00"),
        ("2025-06-01T23:30:00+00:00", "7d", "2025-05-25T23:30:00+00:00", "2025-06-01T23:30:00+00:00"),
    ],
)
def test_day_ranges_in_a_zone(now: str, word: str, start: str, end: str) -> None:
    got_start, got_end, _ = date_range(word, datetime.fromisoformat(now), BERLIN)
    assert (got_start.isoformat(), got_end.isoformat()) == (start, end)
    assert got_start.tzinfo == UTC  # WhatConverts takes UTC timestamps


def test_the_zone_comes_from_the_name_else_the_offset_else_utc() -> None:
    assert user_zone("Europe/Berlin").tzinfo == ZoneInfo("Europe/Berlin")
    unknown = user_zone("Mars/Olympus_Mons", 19800)  # a name this system lacks: Slack's offset still holds
    assert unknown.tzinfo == timezone(timedelta(hours=5, minutes=30)) and unknown.name == "UTC+05:30"
    assert unknown.known
    nothing = user_zone(None, None)
    assert nothing.tzinfo == UTC and not nothing.known
    _, _, label = date_range("today", NOW, nothing)
    assert label == "today (UTC: Slack didn't say your time zone)"
