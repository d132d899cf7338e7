"""Two worker processes on one PostgreSQL: every escalation reply is posted exactly once, and paced.

The workers post the cards, then both sweep for overdue leads every 0.3 s. Rather than wait a
real minute twice, the test makes the open escalations due (those no sweep holds) and waits
for the replies: two per card, in its thread, none twice, none refused for going too fast.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.settings import make_settings
from tests.support.workers import Worker, subscribe_channels, worker_env

CHANNELS = ("C1", "C2", "C3")
LEADS = 5
PROCESSES = 2


@pytest.fixture
def settings(postgres_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(postgres_url, fake_slack, fake_wc, whatconverts_daily_quota=10**7)


def cards(fake: FakeSlack, channel: str) -> list[dict]:
    return [m for m in fake.messages(channel) if "blocks" in m]


def replies(fake: FakeSlack, channel: str) -> list[dict]:
    return [m for m in fake.messages(channel) if m.get("thread_ts")]


async def until(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.3)


async def make_due(url: str) -> int:
    """Every open escalation no sweep is holding is due now (as if its deadline had come)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                text("UPDATE escalations SET due_at = now() WHERE state = 'open' AND lease_owner IS NULL")
            )
            return int(result.rowcount or 0)
    finally:
        await engine.dispose()


async def test_two_workers_post_each_escalation_exactly_once(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    postgres_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    await subscribe_channels(app_url, slack, fake_slack, fake_wc, CHANNELS, "+sla:1m +escalate:<@U2|grace>")
    fake_slack.enforce_channel_rate(1.0)
    env = worker_env(postgres_url, fake_slack, fake_wc, ESCALATION_TICK_SECONDS="0.3")
    workers = [Worker(env, tmp_path / f"worker{i}.log") for i in range(PROCESSES)]
    try:
        for _ in range(LEADS):
            fake_wc.add_lead()
            await asyncio.sleep(0.2)
        await until(lambda: all(len(cards(fake_slack, c)) == LEADS for c in CHANNELS), 90)
        assert all(len(cards(fake_slack, c)) == LEADS for c in CHANNELS)
        assert all(replies(fake_slack, c) == [] for c in CHANNELS)  # a minute hasn't passed

        for step in (1, 2):
            made_due = 0
            while made_due < LEADS * len(CHANNELS):  # a card's first reply may still hold its lease
                made_due += await make_due(postgres_url)
                await asyncio.sleep(0.2)
            wanted = LEADS * step
            await until(lambda: all(len(replies(fake_slack, c)) >= wanted for c in CHANNELS), 60)  # noqa: B023
        await asyncio.sleep(2)  # anything extra (a duplicate) would arrive now
        assert await make_due(postgres_url) == 0  # nothing is left open after two replies
    finally:
        codes = [w.stop() for w in workers]

    assert codes == [0] * PROCESSES
    for channel in CHANNELS:
        threads = Counter(r["thread_ts"] for r in replies(fake_slack, channel))
        assert threads == Counter({card["ts"]: 2 for card in cards(fake_slack, channel)}), channel
        texts = [r["text"] for r in replies(fake_slack, channel)]
        assert sum(t.startswith(":alarm_clock: Nobody has taken this lead") for t in texts) == LEADS
        assert sum(t.startswith(":alarm_clock: Still nobody") for t in texts) == LEADS
        assert all(t.endswith("<@U2>") for t in texts)
    # The fake refuses a post less than 1 s after the previous one in its channel: replies share the
    # cards' pace, so refusals are the odd one on a starved machine (retried after Retry-After).
    assert fake_slack.rate_limited_count <= 2, fake_slack.rate_limited_count
    log = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(PROCESSES))
    errors = [e for e in log.split("Traceback")[1:] if "CancelledError" not in e]
    assert errors == [], errors[:1]
    assert not re.search(r"escalations tick failed", log), log[-2000:]
