"""kill -9 at random points during polls and sends, then restart, 20 times: no lead is lost.

A duplicate is allowed only for a send that was in flight when the process died; such
deliveries are marked uncertain in the outbox (and counted in a metric when resent).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.settings import make_settings
from tests.support.workers import Worker, subscribe_channels, worker_env

CHANNELS = ("C1", "C2", "C3")
KILLS = 20


@pytest.fixture
def settings(sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(sqlite_url, fake_slack, fake_wc, whatconverts_daily_quota=10**7)


def posted(fake: FakeSlack, channel: str) -> Counter[int]:
    return Counter(int(i) for m in fake.messages(channel) for i in re.findall(r"Lead #(\d+) · ", repr(m.get("blocks"))))


async def test_kill_dash_nine_and_restart_loses_nothing(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    await subscribe_channels(app_url, slack, fake_slack, fake_wc, CHANNELS)
    # Short leases and claims so a killed process's work is taken over within seconds.
    env = worker_env(sqlite_url, fake_slack, fake_wc, POLL_LEASE_SECONDS="2", DELIVERY_CLAIM_SECONDS="1")
    log = tmp_path / "workers.log"
    rng = random.Random(20261127)
    created: list[int] = []

    for _ in range(KILLS):
        created += [fake_wc.add_lead()["lead_id"] for _ in range(2)]
        worker = Worker(env, log)
        await asyncio.sleep(rng.uniform(0.4, 2.5))
        worker.kill()

    final = Worker(env, log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(set(posted(fake_slack, c)) != set(created) for c in CHANNELS):
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)
    finally:
        assert final.stop() == 0

    deliveries = (await rawdb.dump(sqlite_url))["deliveries"]
    uncertain = {(d["channel_id"], d["lead_id"]) for d in deliveries if d["uncertain"]}
    assert all(d["status"] == "sent" for d in deliveries)
    for channel in CHANNELS:
        seen = posted(fake_slack, channel)
        assert set(seen) == set(created), f"lost in {channel}: {set(created) - set(seen)}"
        duplicated = {lead for lead, n in seen.items() if n > 1}
        assert {(channel, lead) for lead in duplicated} <= uncertain
        assert all(n <= 2 for n in seen.values())
    # A tick cut short by the stop at the very end is harmless (its claims expire); any other error isn't.
    errors = [e for e in log.read_text().split("Traceback")[1:] if "CancelledError" not in e]
    assert errors == [], errors[:1]
