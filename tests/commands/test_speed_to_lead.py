"""`/whatconverts stats` says how fast posted leads were claimed, from a seeded history with known
times: exact shares, medians and p90s, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.claims import claimed, posted
from tests.support.settings import make_settings

MIN = timedelta(minutes=1)


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def subscribed(connected: None, slack: SlackClient) -> None:
    assert "now gets new leads" in (await slack.ask("subscribe"))["text"]


async def stats(slack: SlackClient, fake: FakeSlack, words: str = "stats 7d") -> list[str]:
    """The stats answer's speed-to-lead lines (its second block; none when no lead was found at all)."""
    mark = fake.mark()
    await slack.command(words)
    blocks = (await fake.next_call(mark)).params["blocks"]
    return blocks[1]["text"]["text"].split("\n") if len(blocks) > 1 else []


async def test_stats_shows_speed_to_lead_from_the_history(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    history = [  # (source, posted after start, claimed by, minutes to claim)
        ("google", 0 * MIN, "U1", 2),
        ("google", 60 * MIN, "U2", 10),
        ("Google", 120 * MIN, "U1", 4),
        ("bing", 180 * MIN, None, None),
        ("google", 240 * MIN, "U2", 95),  # an hour and a half
        ("facebook", 300 * MIN, "U1", 0),  # claimed within seconds
    ]
    for source, offset, by, minutes in history:
        lead = fake_wc.add_lead(lead_source=source, date_created=start + offset - MIN)
        await posted(app, lead, at=start + offset)
        if by is not None:
            await claimed(app, lead, by=by, at=start + offset + timedelta(minutes=minutes, seconds=20))
    fake_wc.add_lead(lead_source="facebook", date_created=start)  # never posted in Slack: not counted

    lines = await stats(slack, fake_slack)

    # Claimed in 2, 10, 4, 95 and 0 minutes: nearest rank, median the 3rd of 5 (4 min), p90 the 5th (95 min).
    assert lines == [
        "*Speed to lead:* 5 of 6 posted leads claimed (83%) · time to claim: median 4 min · p90 1 h 35 min",
        "*Claimed by:* <@U1> 3 (median 2 min) · <@U2> 2 (median 10 min)",
        "*By source:* google 4 of 4 (median 4 min) · facebook 1 of 1 (median under a minute) · bing 0 of 1",
    ]


async def test_with_nothing_claimed_it_says_so_rather_than_showing_times(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    assert await stats(slack, fake_slack) == []  # no leads at all: the stats answer has no speed section
    now = datetime.now(UTC).replace(microsecond=0)
    lead = fake_wc.add_lead(lead_source="google", date_created=now - timedelta(hours=3))
    assert await stats(slack, fake_slack) == ["*Speed to lead:* no lead cards were posted in Slack for these leads."]

    await posted(app, lead, at=now - timedelta(hours=2))
    other = fake_wc.add_lead(lead_source="bing", date_created=now - timedelta(hours=2))
    await posted(app, other, at=now - timedelta(hours=1))

    assert await stats(slack, fake_slack) == ["*Speed to lead:* none of the 2 leads posted in Slack was claimed."]


async def test_a_range_longer_than_the_records_says_where_they_start(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    recent = fake_wc.add_lead(lead_source="google", date_created=now - timedelta(days=2))
    await posted(app, recent, at=now - timedelta(days=2))
    await claimed(app, recent, by="U2", at=now - timedelta(days=2) + 7 * MIN)
    # Claimed 20 days ago: cards that old are forgotten (their unclaimed neighbours too), so it isn't counted.
    old = fake_wc.add_lead(lead_source="google", date_created=now - timedelta(days=20))
    await posted(app, old, at=now - timedelta(days=20))
    await claimed(app, old, by="U1", at=now - timedelta(days=20) + MIN)

    lines = await stats(slack, fake_slack, "stats 30d")

    assert lines[:3] == [
        "*Speed to lead:* 1 of 1 posted leads claimed (100%) · time to claim: median 7 min · p90 7 min",
        "*Claimed by:* <@U2> 1 (median 7 min)",
        "*By source:* google 1 of 1 (median 7 min)",
    ]
    assert lines[3].startswith("_Cards are remembered for 7 days, so speed to lead counts leads posted since ")
