"""The outbox as tests drive it: a subscribed workspace, leads put in the outbox by a real poller
tick, an unpaced sender, and what Slack and the database then hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller, PollReport
from storage.db import transaction
from storage.models import Delivery, PollState
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN


@pytest.fixture
async def subscribed(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """Workspace T1 with the profile key connected and #leads (C1) subscribed to every lead, by U1."""
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile, never delivered
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    reply = await slack.ask("subscribe", channel_id="C1")
    assert "now gets new leads" in reply["text"]
    fake_slack.clear()


async def poll_now(app: Starlette) -> PollReport:
    """One poller tick, due now whenever it last polled; its report."""
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(PollState).values(next_run_at=datetime.now(UTC) - timedelta(seconds=1)))
    return await Poller(app.state.services, owner="test-poller").tick()


async def new_leads(app: Starlette, fake_wc: FakeWhatConverts, count: int) -> list[dict]:
    """Create `count` leads in WhatConverts and let the poller put them in the outbox."""
    leads = [fake_wc.add_lead(contact_name=f"Caller {n}") for n in range(1, count + 1)]
    report = await poll_now(app)
    assert report.enqueued == count
    return leads


def unpaced(app: Starlette, owner: str = "test-sender") -> Sender:
    """A sender without the one-second spacing, for tests where pacing isn't the point."""
    return Sender(app.state.services, owner=owner, spacing=0.0)


async def rows(url: str, table: str) -> list[dict[str, Any]]:
    return sorted((await rawdb.dump(url))[table], key=lambda row: row.get("id") or 0)


def utc(value: Any) -> datetime:
    """A stored timestamp (SQLite hands back naive text) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def make_due(app: Starlette) -> None:
    """Skip the backoff: every waiting delivery is due now."""
    async with transaction(app.state.services.sessions) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == "pending")
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def cards_in(fake: FakeSlack, channel: str) -> list[dict]:
    """Lead cards Slack accepted in `channel` (DMs and ephemeral replies carry no blocks there)."""
    return [m for m in fake.messages(channel) if "blocks" in m]


def posts_to(fake: FakeSlack, channel: str) -> list:
    """Every chat.postMessage request for `channel`, accepted or not."""
    return [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == channel]


def lead_ids_in(fake: FakeSlack, channel: str, leads: list[dict]) -> list[int]:
    """Which of `leads` each card in `channel` shows, in posting order."""
    return [lead["lead_id"] for m in cards_in(fake, channel) for lead in leads if str(lead["lead_id"]) in repr(m)]
