"""Polling within WhatConverts' daily quota: the interval maths, then a whole simulated day.

A key may spend at most 80 % of its daily quota (commands included): a profile key's 1,000
requests allow 800, a master key's 10,000 allow 8,000, however many connections use the key.
The quota resets at midnight UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from bot.whatconverts.quota import KeyBudget, key_budget, looks_spent, poll_delay
from storage.connections import KeyMember
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN

MIDNIGHT = datetime(2026, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def a_day_of_polling(*, quota: int, min_interval: float = 60, requests_per_poll: int = 1) -> tuple[int, int]:
    """Poll from midnight to midnight as the poller does: poll, count, then wait poll_delay. (polls, requests)"""
    now, used, polls = MIDNIGHT, 0, 0
    while now < MIDNIGHT + DAY:
        polls += 1
        used += requests_per_poll
        now += timedelta(
            seconds=poll_delay(
                now=now, min_interval=min_interval, quota=quota, used_today=used, requests_per_poll=requests_per_poll
            )
        )
    return polls, used


# --------------------------------------------------------------------------- the interval


def test_a_profile_key_spreads_800_polls_over_the_day() -> None:
    first = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=1)
    polls, used = a_day_of_polling(quota=1000)

    assert first == pytest.approx(86400 / 800)
    assert 780 <= polls <= 800 and used <= 800


def test_a_master_key_is_held_to_the_minimum_interval() -> None:
    at_floor = poll_delay(now=MIDNIGHT, min_interval=60, quota=10000, used_today=0, requests_per_poll=1)
    unfloored = poll_delay(now=MIDNIGHT, min_interval=1, quota=10000, used_today=0, requests_per_poll=1)

    assert at_floor == 60  # 86,400 s / 8,000 polls would be 10.8 s
    assert unfloored == pytest.approx(86400 / 8000)
    assert a_day_of_polling(quota=10000)[0] == 1440  # once a minute, all day
    polls, used = a_day_of_polling(quota=10000, min_interval=1)
    assert 7900 <= polls <= 8000 and used <= 8000


@pytest.mark.parametrize("min_interval", [60, 300])
def test_the_minimum_interval_is_a_floor(min_interval: int) -> None:
    late = MIDNIGHT + timedelta(hours=23, minutes=59)  # 60 s left, 700 requests left: would poll every 0.09 s

    assert poll_delay(now=late, min_interval=min_interval, quota=1000, used_today=100, requests_per_poll=1) == (
        min_interval
    )


def test_a_spent_budget_waits_for_midnight_utc() -> None:
    evening = MIDNIGHT + timedelta(hours=18)

    spent = poll_delay(now=evening, min_interval=60, quota=1000, used_today=800, requests_per_poll=1)
    over = poll_delay(now=evening, min_interval=60, quota=1000, used_today=950, requests_per_poll=1)
    too_little = poll_delay(now=evening, min_interval=60, quota=1000, used_today=799, requests_per_poll=2)

    assert spent == over == too_little == 6 * 3600 + 1  # just past the reset
    # One request left: the last poll of the day comes at the end of the day, not after the reset.
    assert poll_delay(now=evening, min_interval=60, quota=1000, used_today=799, requests_per_poll=1) == 6 * 3600


def test_polls_of_several_pages_come_less_often() -> None:
    one = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=1)
    three = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=3)
    polls, used = a_day_of_polling(quota=1000, requests_per_poll=3)

    assert three == pytest.approx(86400 / (800 // 3)) and three > 2.9 * one
    assert used <= 800 and polls <= 800 // 3


def test_commands_spent_earlier_leave_fewer_polls() -> None:
    fresh = poll_delay(now=MIDNIGHT + 12 * timedelta(hours=1), min_interval=60, quota=1000, used_today=400,
                       requests_per_poll=1)  # fmt: skip
    busy = poll_delay(now=MIDNIGHT + 12 * timedelta(hours=1), min_interval=60, quota=1000, used_today=600,
                      requests_per_poll=1)  # fmt: skip

    assert fresh == pytest.approx(43200 / 400) and busy == pytest.approx(43200 / 200)


def test_nothing_polled_yet_counts_as_one_request() -> None:
    assert poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=0) == pytest.approx(
        86400 / 800
    )


def test_connections_sharing_a_key_share_its_budget() -> None:
    alone = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=1)
    two = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=1, sharing=2)
    halved = poll_delay(now=MIDNIGHT, min_interval=60, quota=1000, used_today=0, requests_per_poll=1, share=0.4)

    assert alone == pytest.approx(86400 / 800)
    assert two == pytest.approx(2 * 86400 / 800)  # together they still make 800 requests, not 1,600
    assert halved == pytest.approx(86400 / 400)


def member(quota: int = 1000, share: float | None = None, polling: bool = True) -> KeyMember:
    return KeyMember(connection_id=1, daily_quota=quota, quota_share=share, polling=polling)


def test_a_keys_budget_is_the_most_careful_of_its_connections() -> None:
    assert key_budget([member(), member()], default_share=0.8, fallback_quota=1000) == KeyBudget(1000, 0.8, 2)
    assert key_budget([member(share=0.5), member(share=0.6)], default_share=0.8, fallback_quota=1000).share == 0.5
    # Only connections that poll share the polling budget (a paused one spends nothing).
    assert key_budget([member(), member(polling=False)], default_share=0.8, fallback_quota=1000).sharing == 1
    assert key_budget([member(share=None)], default_share=0.3, fallback_quota=1000).allowance == 300


def test_a_throttle_looks_like_the_daily_limit_only_near_the_end_of_our_share() -> None:
    budget = KeyBudget(quota=1000, share=0.8)  # we may spend 800
    assert not looks_spent(used_today=100, budget=budget)
    assert not looks_spent(used_today=719, budget=budget)
    assert looks_spent(used_today=720, budget=budget)
    assert looks_spent(used_today=27, budget=KeyBudget(quota=100, share=0.3))  # an admin left 70 % to other tools


# --------------------------------------------------------------------------- a simulated day


@pytest.fixture
async def subscribed(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    assert "now gets new leads" in (await slack.ask("subscribe", channel_id="C1"))["text"]


STEP = timedelta(seconds=60)  # the scheduler ticks every 5 s; whole minutes keep this test under a minute
COMMAND_EVERY = 45  # steps: `/whatconverts leads today` every 45 minutes, 32 times a day
LEAD_EVERY = 120  # steps: a new lead every 2 hours


async def test_a_day_of_polling_uses_most_of_the_budget_and_never_more(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str,
) -> None:  # fmt: skip
    services = app.state.services
    poller = Poller(services, owner="day-poller")
    # Tomorrow, from midnight UTC: a day of its own, untouched by connecting the key just now.
    day = (datetime.now(UTC) + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    failed = polled = 0
    answers: list[str] = []
    leads: list[dict] = []

    with time_machine.travel(day, tick=False) as clock:
        for step in range(int(DAY / STEP)):
            if step % LEAD_EVERY == 5:
                leads.append(fake_wc.add_lead(contact_name=f"Caller {len(leads) + 1}"))
            report = await poller.tick()
            polled += report.polled
            failed += report.failed
            if step % COMMAND_EVERY == 20:
                # Answered after the ack, through response_url; ask() waits for that answer.
                answers.append((await slack.ask("leads today", channel_id="C1"))["text"])
            clock.shift(STEP)
        clock.move_to(day + DAY - timedelta(seconds=1))  # the last second of the day
        used = fake_wc.requests_today(PROFILE_TOKEN)
        while (await Sender(services, spacing=0.0).tick()).claimed:
            pass

    assert len(answers) == 32 and failed == 0
    assert all(answer.startswith(("*Leads today (", "No leads today (")) for answer in answers), answers
    assert 600 <= used <= 800, (used, polled)
    assert used == polled + len(answers)  # one page per poll and per command, nothing else
    usage = {str(row["day"]): row["requests"] for row in (await rawdb.dump(sqlite_url))["quota_usage"]}
    assert usage[day.date().isoformat()] == used  # our own count agrees with WhatConverts'
    cards = [m for m in fake_slack.messages("C1") if "blocks" in m]
    assert len(cards) == len(leads) == 12  # and every lead of the day reached the channel once
