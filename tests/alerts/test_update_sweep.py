"""The update sweep: without webhooks, a lead that changes long after it was created still edits its card.

`GET /leads` lists by date created and has no "updated since" (platform truth W2): a call that
completes 40 minutes after it started is invisible to a poll re-reading the last 10 minutes.
Every `UPDATE_SWEEP_SECONDS` a poll re-reads the last `UPDATE_SWEEP_HOURS` instead, within the
key's quota share (the arithmetic is in test_poll_plan.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts.poller import Poller
from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.outbox import cards_in, subscribed, unpaced
from tests.support.settings import make_settings

__all__ = ["subscribed"]  # the fixture, used by name


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """On each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


SWEEP_EVERY = timedelta(minutes=15)  # UPDATE_SWEEP_SECONDS' default
POLL_EVERY = timedelta(seconds=108)  # a profile key: 800 polls spread over a day


async def run(poller: Poller, clock: time_machine.Coordinates, span: timedelta) -> None:
    """Let `span` pass a minute at a time, the poller ticking as the scheduler would."""
    for _ in range(int(span / timedelta(minutes=1))):
        clock.shift(timedelta(minutes=1))
        await poller.tick()


async def test_a_call_completed_40_minutes_later_edits_its_card_within_one_sweep(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    poller = Poller(app.state.services, owner="sweep-poller")
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5), tick=False) as clock:
        call = fake_wc.add_lead(lead_type="phone_call", contact_name="Caller", lead_state="In Progress")
        await poller.tick()
        await unpaced(app).tick()
        (card,) = cards_in(fake_slack, "C1")
        assert "In progress" in json.dumps(card["blocks"])

        await run(poller, clock, timedelta(minutes=40))  # polling only: no webhook anywhere
        fake_wc.update_lead(call["lead_id"], lead_state="Completed", call_duration_seconds=192)
        await run(poller, clock, SWEEP_EVERY + POLL_EVERY + timedelta(minutes=1))
        await unpaced(app).tick()
    await poller.aclose()

    (edit,) = fake_slack.calls_to("chat.update")
    assert edit.params["ts"] == card["ts"]
    assert "In progress" not in json.dumps(edit.params["blocks"]) and "3m 12s" in json.dumps(edit.params["blocks"])
    assert len(cards_in(fake_slack, "C1")) == 1  # edited in place, never posted again


async def test_a_lead_that_shows_up_late_is_still_posted_by_the_sweep(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """A lead WhatConverts lists only after the lookback (25 minutes late) is caught by the next sweep."""
    poller = Poller(app.state.services, owner="sweep-poller")
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5), tick=False) as clock:
        await poller.tick()
        await run(poller, clock, timedelta(minutes=30))
        late = fake_wc.add_lead(contact_name="Late", date_created=datetime.now(UTC) - timedelta(minutes=25))
        await run(poller, clock, SWEEP_EVERY + POLL_EVERY + timedelta(minutes=1))
        await unpaced(app).tick()
    await poller.aclose()

    (card,) = cards_in(fake_slack, "C1")
    assert str(late["lead_id"]) in json.dumps(card["blocks"])


async def test_status_shows_the_sweep_plan(subscribed: None, app: Starlette, slack: SlackClient) -> None:
    text = (await slack.ask("status"))["text"]

    assert "Updates: re-read the last 24 h every 15 min (~96 requests/day)" in text
