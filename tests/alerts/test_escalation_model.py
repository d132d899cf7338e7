"""Model test: over random leads, SLAs, claims and sweep times, the replies sent are the model's, none twice.

Two channels are subscribed with their own random `+sla`, so every lead has a card in each and
one claim (per workspace and lead) stops both. Leads arrive, are claimed and released, time
passes and sweeps run in a random order. The model: at each sweep, an open escalation whose
deadline has come is closed if its lead is claimed at that moment, else gets its next reply;
the first deadline is the card's post time plus the SLA, the second twice that. What Slack
received must be exactly what the model sent: same cards, same steps, nothing twice.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.delivery import Sender
from bot.alerts.escalations import Escalator
from bot.alerts.filters import Filters
from bot.alerts.poller import Poller
from tests.support import rawdb
from tests.support.claims import claim_lead, release_lead
from tests.support.model import standalone

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHANNELS = ("C1", "C2")
MINUTE = 60

actions = st.lists(
    st.one_of(
        st.tuples(st.just("lead")),
        st.tuples(st.just("claim"), st.integers(0, 20)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.integers(1, 15 * MINUTE)),
        st.tuples(st.just("sweep")),
    ),
    max_size=30,
)
slas = st.tuples(st.integers(1, 15), st.integers(1, 15))  # minutes, per channel


@dataclass
class Expected:
    """The model's escalation of one card."""

    lead_id: int
    posted: datetime
    sla: timedelta
    step: int = 0
    open: bool = True

    @property
    def due(self) -> datetime:
        return self.posted + (self.step + 1) * self.sla


async def run(
    steps: list[tuple], minutes: tuple[int, int], traveller: time_machine.Coordinates, db: Path
) -> tuple[Counter, Counter, set[str]]:
    slas = [timedelta(minutes=m) for m in minutes]
    channels = [(c, Filters(sla=sla, escalate=frozenset({"U2"}))) for c, sla in zip(CHANNELS, slas, strict=True)]
    async with standalone(db, start=START, channels=channels) as app:
        slack, wc, services = app.slack, app.wc, app.services
        poller, sender = Poller(services, owner="model"), Sender(services, owner="model", spacing=0.0)
        escalator = Escalator(services, owner="model", spacing=0.0)
        leads: list[int] = []
        claimed: set[int] = set()
        model: list[tuple[str, Expected]] = []
        sent: Counter[tuple[str, int, int]] = Counter()  # (channel, lead, step) the model sends

        async def new_lead() -> None:
            lead_id = wc.add_lead(date_created=datetime.now(UTC))["lead_id"]
            await app.poll_due(datetime.now(UTC))
            await poller.tick()
            while (await sender.tick()).claimed:
                pass
            leads.append(lead_id)
            model.extend((c, Expected(lead_id, datetime.now(UTC), sla)) for c, sla in zip(CHANNELS, slas, strict=True))

        async def sweep() -> None:
            now = datetime.now(UTC)
            for channel, card in model:
                if card.open and card.due <= now:
                    if card.lead_id in claimed:
                        card.open = False
                    else:
                        card.step += 1
                        card.open = card.step < 2
                        sent[(channel, card.lead_id, card.step)] += 1
            await escalator.tick()

        try:
            for step in steps:
                if step[0] == "lead":
                    await new_lead()
                elif step[0] in ("claim", "release") and leads:
                    lead_id = leads[step[1] % len(leads)]
                    if step[0] == "claim":
                        await claim_lead(services.sessions, lead_id)
                        claimed.add(lead_id)
                    else:
                        await release_lead(services.sessions, lead_id)
                        claimed.discard(lead_id)
                elif step[0] == "wait":
                    traveller.shift(step[1])
                elif step[0] == "sweep":
                    await sweep()
            traveller.shift(2 * 15 * MINUTE + 1)  # past every deadline: two more sweeps settle all
            await sweep()
            await sweep()
        finally:
            await poller.aclose()
            await sender.aclose()

        replied: Counter[tuple[str, int, int]] = Counter()
        for channel in CHANNELS:
            card_lead = {
                m["ts"]: int(re.findall(r"Lead #(\d+) · ", repr(m["blocks"]))[0])
                for m in slack.messages(channel)
                if "blocks" in m
            }
            for reply in (m for m in slack.messages(channel) if m.get("thread_ts")):
                step = 2 if reply["text"].startswith(":alarm_clock: Still") else 1
                replied[(channel, card_lead[reply["thread_ts"]], step)] += 1
        slack.assert_no_refusals()
        states = {row["state"] for row in (await rawdb.dump(app.url))["escalations"]}
        return sent, replied, states


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, slas)
def test_replies_sent_are_those_of_leads_unclaimed_at_their_deadlines(steps: list[tuple], minutes: tuple) -> None:
    with tempfile.TemporaryDirectory() as tmp, time_machine.travel(START + timedelta(minutes=5), tick=False) as t:
        expected, replied, states = asyncio.run(run(steps, minutes, t, Path(tmp) / "model.db"))
    assert replied == expected
    assert all(n == 1 for n in replied.values()), replied
    assert "open" not in states  # every card's escalation ends: done, or closed by its claim
