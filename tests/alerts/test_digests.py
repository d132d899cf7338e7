"""Daily digests and quiet hours with a controlled clock; two instances post one digest; a digest's
speed to lead from a seeded history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.digests import Summaries
from bot.alerts.poller import Poller
from bot.app import build_services
from bot.config import Settings
from storage import polling
from storage.db import transaction
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.claims import claimed, posted
from tests.support.settings import make_settings

NEW_YORK = ZoneInfo("America/New_York")  # the fake's users live there


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    local = datetime.now(NEW_YORK) + timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


async def poll_and_send(app: Starlette) -> None:
    services = app.state.services
    async with transaction(services.sessions) as session:
        await polling.reschedule(session, connection_id=1, next_run_at=datetime.now(NEW_YORK))
    await Poller(services).tick()
    await Sender(services, spacing=0).tick()


def top_level(fake: FakeSlack, channel: str = "C1") -> list[dict]:
    return [m for m in fake.messages(channel) if not m.get("thread_ts")]


async def test_daily_digest_at_its_local_time_once(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    reply = await slack.ask("subscribe +digest:09:00")
    assert "now gets new leads" in reply["text"]
    with time_machine.travel(tomorrow_at(8, 0), tick=True):
        fake_wc.add_lead(lead_type="phone_call", lead_source="google", quote_value=500)
        fake_wc.add_lead(lead_type="web_form", lead_source="google", lead_campaign="Spring")
        fake_wc.add_lead(lead_type="web_form", lead_source="bing")
        await poll_and_send(app)
        assert top_level(fake_slack) == []  # a digest subscription collects, it doesn't post each lead
        assert await Summaries(app.state.services).tick() == 0  # 08:00: not yet
    with time_machine.travel(tomorrow_at(9, 1), tick=True):
        first = await Summaries(app.state.services).tick()
        second = await Summaries(app.state.services).tick()

    assert (first, second) == (1, 0)
    (digest,) = top_level(fake_slack)
    assert "Daily digest for <#C1>: 3 new leads" in digest["text"]
    assert "Phone call: 1" in digest["text"] and "Web form: 2" in digest["text"]
    assert "google: 2" in digest["text"] and "Spring: 1" in digest["text"] and "$500.00" in digest["text"]


async def test_two_instances_post_one_digest(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await slack.ask("subscribe +digest:07:30")
    other = build_services(make_settings(database_url, fake_slack, fake_wc))
    await other.start()
    try:
        with time_machine.travel(tomorrow_at(7, 0), tick=True):
            fake_wc.add_lead(contact_name="Digest Me")
            await poll_and_send(app)
        with time_machine.travel(tomorrow_at(7, 31), tick=True):
            posted = await asyncio.gather(
                *(Summaries(s, owner=f"instance-{i}").tick() for i, s in enumerate([app.state.services, other] * 2))
            )
    finally:
        await other.aclose()

    assert sum(posted) == 1
    assert len(top_level(fake_slack)) == 1
    statuses = {d["status"] for d in (await rawdb.dump(database_url))["deliveries"]}
    assert statuses == {"summarized"}


async def test_quiet_hours_hold_leads_but_let_urgent_ones_through(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("subscribe +quiet:20:00-08:00 +urgent:calls")
    with time_machine.travel(tomorrow_at(21, 0), tick=True):
        fake_wc.add_lead(lead_type="web_form", contact_name="Night Form")
        fake_wc.add_lead(lead_type="phone_call", contact_name="Night Call")
        await poll_and_send(app)
        assert await Summaries(app.state.services).tick() == 0  # still quiet
    night = top_level(fake_slack)
    assert len(night) == 1 and "Night Call" in night[0]["text"]  # urgent: posted at once

    with time_machine.travel(tomorrow_at(21, 0) + timedelta(hours=11, minutes=1), tick=True):  # 08:01
        assert await Summaries(app.state.services).tick() == 1
        assert await Summaries(app.state.services).tick() == 0

    morning = top_level(fake_slack)[1:]
    assert len(morning) == 1
    assert "1 lead arrived during quiet hours" in morning[0]["text"]
    assert "Night Form" in str(morning[0]["blocks"])


async def test_the_digest_says_how_fast_the_days_calls_were_claimed(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_slack.add_channel("T1", "C2", name="managers")
    await slack.ask("subscribe", channel_id="C1")  # subscription 1: cards in #leads
    await slack.ask("subscribe calls +digest:09:00", channel_id="C2")  # the managers' digest: calls only
    with time_machine.travel(tomorrow_at(9, 1), tick=True):
        now = datetime.now(UTC)
        history = [  # (type, source, posted before the digest, claimed by, minutes to claim)
            ("phone_call", "google", timedelta(hours=20), "U1", 3),
            ("phone_call", "google", timedelta(hours=10), "U2", 45),
            ("phone_call", "bing", timedelta(hours=2), None, None),
            ("web_form", "google", timedelta(hours=3), "U2", 1),  # not a call: not in this digest
            ("phone_call", "google", timedelta(hours=25), "U1", 1),  # the day before: not in this digest
        ]
        for kind, source, before, by, taken in history:
            lead = fake_wc.add_lead(lead_type=kind, lead_source=source, date_created=now - before)
            await posted(app, lead, at=now - before)
            if by is not None:
                await claimed(app, lead, by=by, at=now - before + timedelta(minutes=taken))

        assert await Summaries(app.state.services).tick() == 1

    (digest,) = [m for m in fake_slack.messages("C2") if not m.get("thread_ts")]
    assert digest["blocks"][1]["text"]["text"].split("\n") == [
        "*Speed to lead:* 2 of 3 posted leads claimed (67%) · time to claim: median 3 min · p90 45 min",
        "*Claimed by:* <@U1> 1 (median 3 min) · <@U2> 1 (median 45 min)",
        "*By source:* google 2 of 2 (median 3 min) · bing 0 of 1",
    ]
    assert "Speed to lead:* 2 of 3" in digest["text"]
