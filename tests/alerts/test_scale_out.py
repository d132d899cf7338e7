"""Two and three worker processes on one PostgreSQL: every lead posted exactly once, channels paced."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.settings import make_settings
from tests.support.workers import Worker, subscribe_channels, worker_env

CHANNELS = ("C1", "C2", "C3")
LEADS = 12


@pytest.fixture
def settings(postgres_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    # A quota this large makes the poll interval the 1-second floor.
    return make_settings(postgres_url, fake_slack, fake_wc, whatconverts_daily_quota=10**7)


def posts(fake: FakeSlack, channel: str) -> list:
    """Posts Slack accepted (a 429-refused attempt is recorded as a call but posts nothing)."""
    return fake.messages(channel)


def lead_ids(message: dict) -> list[int]:
    return [int(m) for m in re.findall(r"Lead #(\d+) · ", repr(message.get("blocks")))]


@pytest.mark.parametrize("processes", [2, 3])
async def test_every_lead_once_and_paced(
    processes: int, installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts, postgres_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    await subscribe_channels(app_url, slack, fake_slack, fake_wc, CHANNELS)
    fake_slack.enforce_channel_rate(1.0)
    env = worker_env(postgres_url, fake_slack, fake_wc)
    workers = [Worker(env, tmp_path / f"worker{i}.log") for i in range(processes)]
    try:
        created = []
        for _ in range(LEADS):
            created.append(fake_wc.add_lead()["lead_id"])
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(len(posts(fake_slack, c)) < LEADS for c in CHANNELS):
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything extra (a duplicate) would arrive now
    finally:
        codes = [w.stop() for w in workers]

    assert codes == [0] * processes
    for channel in CHANNELS:
        seen = Counter(i for message in posts(fake_slack, channel) for i in lead_ids(message))
        assert seen == Counter(created), f"{channel}: {seen}"
    # The fake refuses any post less than 1 s after the previous one in its channel, so every post it
    # accepted respects the limit. Our pacing (1.15 s slots shared by the processes) keeps refusals to
    # the odd one when the machine is starved (a late HTTP arrival); those are retried after Retry-After.
    assert fake_slack.rate_limited_count <= 2, fake_slack.rate_limited_count
    polled_by = {c.headers.get("user-agent") for c in fake_wc.calls_to("leads")}
    assert polled_by  # the workers polled
    log = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(processes))
    # A tick cut short by the stop at the very end is harmless (its claims expire); any other error isn't.
    errors = [e for e in log.split("Traceback")[1:] if "CancelledError" not in e]
    assert errors == [], errors[:1]
