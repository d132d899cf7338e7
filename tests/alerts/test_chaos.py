"""PostgreSQL goes away twice for ~15 s during a delivery burst: `serve` rides it out by itself.

The database is taken away the way an outage or a failover does it: every connection of the app
is terminated and new ones are refused (`ALLOW_CONNECTIONS false`), then it comes back. The app
process is never restarted. Afterwards every lead is in its channel, a card is posted twice only
if its delivery is marked uncertain (its post was in flight when the database went), `/readyz`
said 503 while the database was away and says 200 after, and the process still stops cleanly.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.databases import postgres_admin_url
from tests.support.processes import serving
from tests.support.settings import make_settings
from tests.support.workers import worker_env

# One lead type per channel: 45 leads are 15 cards a channel, ~17 s of Slack's pacing each.
CHANNELS = {"C1": ("forms", "web_form"), "C2": ("chats", "chat"), "C3": ("texts", "text_message")}
WAVE = 15  # leads per wave; three waves
OUTAGE = 15.0  # seconds the database refuses connections, each time


@pytest.fixture
def settings(postgres_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(postgres_url, fake_slack, fake_wc, whatconverts_daily_quota=10**7)


class Database:
    """Takes one database away and gives it back, as its administrator, from another database."""

    def __init__(self, url: str) -> None:
        admin = postgres_admin_url()
        assert admin is not None
        self.name = make_url(url).database
        self._dsn = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)

    async def take_away(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
        finally:
            await conn.close()

    async def give_back(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        finally:
            await conn.close()


def posted(fake: FakeSlack, channel: str) -> Counter[int]:
    """How often Slack accepted a card for each lead in `channel`."""
    return Counter(int(i) for m in fake.messages(channel) for i in re.findall(r"Lead #(\d+) · ", repr(m.get("blocks"))))


async def readiness(url: str) -> tuple[int, dict]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/readyz")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "claim_seconds",
    [
        # The default: a claim outlasts the outage, so a card posted meanwhile is marked sent
        # once the database is back, and nothing is posted twice.
        30,
        # Claims shorter than the outage: the sender gives up marking, the card stays `sending`,
        # and is resent after the outage, marked uncertain (the case a duplicate is allowed for).
        2,
    ],
    ids=["claims-outlast-the-outage", "claims-run-out"],
)
async def test_two_database_outages_during_a_burst_stop_nothing(
    claim_seconds: int, installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts, postgres_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    fake_wc.set_daily_limit(PROFILE_TOKEN, None)
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    for channel, (word, _) in CHANNELS.items():
        fake_slack.add_channel("T1", channel, name=channel.lower())
        assert "now gets new leads" in (await slack.ask(f"subscribe {word}", channel_id=channel))["text"]
    fake_slack.clear()
    fake_slack.enforce_channel_rate(1.0)
    database = Database(postgres_url)
    env = worker_env(postgres_url, fake_slack, fake_wc, DELIVERY_CLAIM_SECONDS=str(claim_seconds))
    expected: dict[str, set[int]] = {channel: set() for channel in CHANNELS}

    def wave() -> None:
        for n in range(WAVE):
            channel = list(CHANNELS)[n % len(CHANNELS)]
            lead = fake_wc.add_lead(lead_type=CHANNELS[channel][1])
            expected[channel].add(lead["lead_id"])

    def delivered() -> int:
        return sum(len(set(posted(fake_slack, c)) & expected[c]) for c in CHANNELS)

    log = tmp_path / "serve.log"
    with serving(env, log) as served:
        pid = served.proc.pid
        wave()
        deadline = time.monotonic() + 30
        while delivered() < 3 and time.monotonic() < deadline:  # the burst is being posted
            await asyncio.sleep(0.1)
        during: list[tuple[int, dict]] = []
        for _ in range(2):
            await database.take_away()
            try:
                wave()  # leads keep arriving at WhatConverts meanwhile
                await asyncio.sleep(OUTAGE / 2)
                during.append(await readiness(served.url))
                await asyncio.sleep(OUTAGE / 2)
            finally:
                await database.give_back()
            await asyncio.sleep(4)
        deadline = time.monotonic() + 45
        while delivered() < 3 * WAVE and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # a duplicate would arrive now
        deadline = time.monotonic() + 15
        while (after := await readiness(served.url))[0] != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert served.proc.poll() is None and served.proc.pid == pid, served.output()

    output = log.read_text()
    for channel in CHANNELS:
        seen = posted(fake_slack, channel)
        assert set(seen) == expected[channel], f"{channel} lost {expected[channel] - set(seen)}\n{output[-3000:]}"
    deliveries = (await rawdb.dump(postgres_url))["deliveries"]
    uncertain = {(d["channel_id"], d["lead_id"]) for d in deliveries if d["uncertain"]}
    extra = {(c, lead): n - 1 for c in CHANNELS for lead, n in posted(fake_slack, c).items() if n > 1}
    assert set(extra) <= uncertain and sum(extra.values()) <= len(uncertain), (extra, uncertain)
    if claim_seconds == 2:
        assert uncertain, "no card was in flight during an outage: the test didn't test it"
    else:
        assert not extra, extra  # every card posted during an outage was marked sent once it ended
    assert all(d["status"] == "sent" for d in deliveries), [d for d in deliveries if d["status"] != "sent"]
    assert [status for status, _ in during] == [503, 503], during
    assert all(body["database"] == "unreachable" for _, body in during), during
    assert after == (200, {"status": "ok", "database": "ok", "scheduler": "ok"}), after
    # Each outage is said once per job (a tick failed, then succeeded again), not once per tick.
    assert "Traceback" not in output, output[:3000]
    assert output.count("poll tick failed") == 2 and output.count("poll ticks succeed again") == 2, output
    assert len(output.splitlines()) <= 30, output
