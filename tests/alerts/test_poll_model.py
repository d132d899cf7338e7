"""Model test: over random lead streams and poll timings, delivered set == eligible set, no duplicates.

Leads arrive on time, in the same second, or late (visible up to just under the lookback after
their creation time); polls run at random moments. Every eligible lead (created after the
subscription started, not spam) must be posted exactly once; nothing else may be posted.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.delivery import Sender
from bot.alerts.filters import Filters
from bot.alerts.poller import LOOKBACK, Poller
from tests.support.model import standalone

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATE_MAX = int(LOOKBACK.total_seconds()) - 1

actions = st.lists(
    st.one_of(
        st.tuples(st.just("lead"), st.integers(0, LATE_MAX), st.booleans()),
        st.tuples(st.just("same-second burst"), st.integers(2, 5)),
        st.tuples(st.just("wait"), st.integers(1, 400)),
        st.tuples(st.just("poll")),
    ),
    max_size=30,
)


async def run(steps: list[tuple], traveller: time_machine.Coordinates, db: Path) -> tuple[Counter[int], set[int]]:
    async with standalone(db, start=START, channels=[("C1", Filters())]) as app:
        slack, wc, services = app.slack, app.wc, app.services
        poller, sender = Poller(services, owner="model"), Sender(services, owner="model", spacing=0.0)
        eligible: set[int] = set()

        def add(late: int, spam: bool) -> None:
            created = datetime.now(UTC) - timedelta(seconds=late)
            lead = wc.add_lead(date_created=created, spam=spam)
            if created.replace(microsecond=0) >= START and not spam:
                eligible.add(lead["lead_id"])

        async def poll() -> None:
            await app.poll_due(datetime.now(UTC))
            await poller.tick()

        for step in steps:
            if step[0] == "lead":
                add(step[1], step[2])
            elif step[0] == "same-second burst":
                for _ in range(step[1]):
                    add(0, False)
            elif step[0] == "wait":
                traveller.shift(step[1])
            else:
                await poll()
        await poll()  # every lead so far is late by less than the lookback: this poll sees it
        while (await sender.tick()).claimed:
            pass
        posted = Counter(
            int(m)
            for message in slack.messages("C1")
            for m in re.findall(r"Lead #(\d+) · ", repr(message.get("blocks")))
        )
        slack.assert_no_refusals()  # every card of every generated lead is one Slack accepts
        return posted, eligible


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_delivered_equals_eligible_without_duplicates(steps: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp, time_machine.travel(START + timedelta(minutes=5), tick=False) as t:
        posted, eligible = asyncio.run(run(steps, t, Path(tmp) / "model.db"))
    assert set(posted) == eligible
    assert all(n == 1 for n in posted.values()), posted
