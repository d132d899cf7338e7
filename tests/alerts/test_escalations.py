"""Escalations (`+sla`, `+escalate`) with a controlled clock: thread replies when nobody takes a lead in time.

A subscription is made with a signed slash command, leads reach its channel as cards through a real
poll and sender, claims are written as the card's "I'll take it" button writes them, and sweeps run
at chosen moments; each test asserts the thread replies Slack received and the escalation rows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import update
from starlette.applications import Starlette

from bot.alerts.escalation_messages import escalation_message, waited_text
from bot.alerts.escalations import PER_CHANNEL, EscalationReport, Escalator
from bot.alerts.poller import Poller
from bot.app import build_services
from bot.config import Settings
from storage import outbox, polling
from storage.db import transaction
from storage.models import Subscription
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.claims import claim_lead, release_lead
from tests.support.outbox import cards_in, rows, unpaced, utc
from tests.support.settings import make_settings

NEW_YORK = ZoneInfo("America/New_York")  # the fake's users live there
GRACE = "<@U2|grace>"
SLA = timedelta(minutes=5)


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """The app under test on each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def escalating(connected: None, slack: SlackClient) -> None:
    """#C1 (the command's channel) gets every lead; one nobody takes in 5 minutes is escalated to @grace."""
    reply = await slack.ask(f"subscribe +sla:5m +escalate:{GRACE}")
    assert "now gets new leads" in reply["text"]


async def last_posted(database_url: str) -> datetime:
    """When the latest card with an escalation was posted (its deadlines count from then)."""
    return max(utc(r["posted_at"]) for r in await rows(database_url, "escalations"))


def replies_in(fake: FakeSlack, channel: str = "C1") -> list[dict]:
    """Thread replies Slack accepted in `channel`."""
    return [m for m in fake.messages(channel) if m.get("thread_ts")]


async def sweep(app: Starlette, owner: str = "test-escalator") -> EscalationReport:
    return await Escalator(app.state.services, owner=owner, spacing=0.0).tick()


async def card_for(app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, **lead: object) -> tuple[int, str]:
    """A new lead polled and posted as a card in C1 now; its lead id and the card's ts."""
    created = fake_wc.add_lead(**lead)
    services = app.state.services
    async with transaction(services.sessions) as session:
        await polling.reschedule(session, connection_id=1, next_run_at=datetime.now(UTC))
    poller, sender = Poller(services, owner="test-poller"), unpaced(app)
    try:
        assert (await poller.tick()).enqueued == 1
        assert (await sender.tick()).sent == 1
    finally:  # their group-commit workers stop with them, not when they are collected
        await poller.aclose()
        await sender.aclose()
    card = next(c for c in cards_in(fake_slack, "C1") if f"Lead #{created['lead_id']} · " in repr(c["blocks"]))
    return created["lead_id"], card["ts"]


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=True)


async def test_an_unclaimed_lead_is_escalated_at_the_sla_and_at_twice_it_then_never_again(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    reply = await slack.ask(f"subscribe +sla:5m +escalate:{GRACE},<!subteam^S0SALES|@sales>")
    assert "now gets new leads" in reply["text"] and "+sla:5m +escalate:@sales,@grace" in reply["text"]
    start = datetime.now(UTC)
    _, ts = await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "open" and row["step"] == 0
    assert start <= utc(row["posted_at"]) <= datetime.now(UTC) and utc(row["due_at"]) == utc(row["posted_at"]) + SLA
    posted = utc(row["posted_at"])

    assert (await sweep(app)).leased == 0
    with at(posted + SLA - timedelta(seconds=2)):
        assert (await sweep(app)).leased == 0  # not yet
    with at(posted + SLA + timedelta(seconds=1)):
        first = await sweep(app)
        again = await sweep(app)
    assert (first.sent, again.leased) == (1, 0)
    (reply1,) = replies_in(fake_slack)
    assert reply1["thread_ts"] == ts
    assert reply1["text"] == ":alarm_clock: Nobody has taken this lead 5 min after it arrived. <!subteam^S0SALES> <@U2>"

    with at(posted + 2 * SLA - timedelta(seconds=2)):
        assert (await sweep(app)).leased == 0
    with at(posted + 2 * SLA + timedelta(seconds=1)):
        assert (await sweep(app)).sent == 1
    with at(posted + 10 * SLA):
        assert (await sweep(app)).leased == 0

    _, reply2 = replies_in(fake_slack)
    assert reply2["thread_ts"] == ts
    assert reply2["text"].startswith(":alarm_clock: Still nobody has taken this lead, 10 min after it arrived.")
    assert len(cards_in(fake_slack, "C1")) == 1  # the replies are in the thread, not new cards
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "done" and row["step"] == 2 and row["lease_owner"] is None
    assert utc(row["first_sent_at"]) >= posted + SLA and utc(row["second_sent_at"]) >= posted + 2 * SLA


async def test_a_lead_claimed_before_its_deadline_is_never_escalated(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    taken, _ = await card_for(app, fake_slack, fake_wc, contact_name="Taken")
    left, left_ts = await card_for(app, fake_slack, fake_wc, contact_name="Left")
    await claim_lead(app.state.services.sessions, taken)
    await claim_lead(app.state.services.sessions, left)
    await release_lead(app.state.services.sessions, left)  # let go again: nobody has it
    posted = await last_posted(database_url)

    for minutes in (6, 11, 60):
        with at(posted + timedelta(minutes=minutes)):
            report = await sweep(app)
            assert report.failed == report.retried == 0

    assert [r["thread_ts"] for r in replies_in(fake_slack)] == [left_ts, left_ts]
    states = {r["lead_id"]: r["state"] for r in await rows(database_url, "escalations")}
    assert states == {taken: "claimed", left: "done"}


async def test_a_claim_between_the_two_replies_stops_the_second(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    lead_id, ts = await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    posted = utc(row["posted_at"])

    with at(posted + SLA + timedelta(seconds=1)):
        assert (await sweep(app)).sent == 1
    with at(posted + SLA + timedelta(minutes=2)):
        await claim_lead(app.state.services.sessions, lead_id)
    with at(posted + 2 * SLA + timedelta(seconds=1)):
        report = await sweep(app)

    assert (report.claimed, report.sent) == (1, 0)
    assert [r["thread_ts"] for r in replies_in(fake_slack)] == [ts]
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "claimed" and row["step"] == 1


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    local = datetime.now(NEW_YORK) + timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


async def test_quiet_hours_hold_escalations_until_they_end_but_not_urgent_ones(
    connected: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await slack.ask(f"subscribe +quiet:20:00-08:00 +urgent:calls +sla:5m +escalate:{GRACE}")
    with at(tomorrow_at(19, 58)):
        _, form_ts = await card_for(app, fake_slack, fake_wc, lead_type="web_form", contact_name="Evening Form")
    with at(tomorrow_at(20, 4)):
        held = await sweep(app)
    assert (held.held, held.sent) == (1, 0)
    (form_row,) = await rows(database_url, "escalations")
    assert form_row["hold"] == "quiet" and utc(form_row["due_at"]) == tomorrow_at(8, 0) + timedelta(days=1)

    with at(tomorrow_at(21, 0)):
        _, call_ts = await card_for(app, fake_slack, fake_wc, lead_type="phone_call", contact_name="Night Call")
    with at(tomorrow_at(21, 6)):  # the call is urgent: its card posted in quiet hours, and so does its reminder
        urgent = await sweep(app)
    assert (urgent.sent, urgent.held) == (1, 0)
    assert [r["thread_ts"] for r in replies_in(fake_slack)] == [call_ts]
    with at(tomorrow_at(21, 12)):
        assert (await sweep(app)).sent == 1  # the call's second reply, still in quiet hours
    with at(tomorrow_at(23, 0)):
        assert (await sweep(app)).leased == 0  # the form waits for the morning

    morning = tomorrow_at(8, 1) + timedelta(days=1)
    with at(morning):
        assert (await sweep(app)).sent == 1
    form_reply = replies_in(fake_slack)[-1]
    assert form_reply["thread_ts"] == form_ts and "12 h 2 min after it arrived" in form_reply["text"]
    # The second reply comes one SLA after the first, not at once: both were overdue by then.
    with at(morning + SLA - timedelta(seconds=30)):
        assert (await sweep(app)).leased == 0
    with at(morning + SLA + timedelta(seconds=30)):
        assert (await sweep(app)).sent == 1
    assert [r["thread_ts"] for r in replies_in(fake_slack)] == [call_ts, call_ts, form_ts, form_ts]


async def test_rate_limited_reply_waits_for_retry_after_and_is_posted_once(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    due = utc(row["posted_at"]) + SLA + timedelta(seconds=1)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=30)

    with at(due):
        limited = await sweep(app)
        soon = await sweep(app)
    with at(due + timedelta(seconds=31)):
        later = await sweep(app)

    assert (limited.retried, limited.sent, soon.leased, later.sent) == (1, 0, 0, 1)
    assert len(replies_in(fake_slack)) == 1
    (row,) = await rows(database_url, "escalations")
    assert row["step"] == 1 and row["attempts"] == 0  # a rate limit uses up no attempt
    (pace,) = await rows(database_url, "channel_pace")
    assert pace["next_slot"] >= due.timestamp() + 30  # no post of any kind in the channel before then


async def test_a_gone_channel_ends_the_escalation_and_breaks_the_subscription(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    fake_slack.fail_next("chat.postMessage", "is_archived")

    with at(utc(row["posted_at"]) + SLA + timedelta(seconds=1)):
        report = await sweep(app)
    with at(utc(row["posted_at"]) + 3 * SLA):
        assert (await sweep(app)).leased == 0

    assert report.failed == 1 and replies_in(fake_slack) == []
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "failed" and row["last_error"] == "is_archived"
    (sub,) = await rows(database_url, "subscriptions")
    assert sub["status"] == "broken" and sub["broken_reason"] == "is_archived"


async def test_transient_failures_retry_then_give_up_with_a_problem(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    fake_slack.fail_next("chat.postMessage", "internal_error", times=50)
    moment = utc(row["posted_at"]) + SLA + timedelta(seconds=1)

    reports = []
    for _ in range(12):
        with at(moment):
            reports.append(await sweep(app))
        moment += timedelta(minutes=10)  # past any backoff

    assert [r.retried for r in reports[:7]] == [1] * 7 and reports[7].failed == 1
    assert all(r.leased == 0 for r in reports[8:])
    assert replies_in(fake_slack) == []
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "failed" and row["last_error"] == "internal_error"
    (problem,) = await rows(database_url, "problems")
    assert "reminder that nobody had taken the lead wasn't posted (internal_error)" in problem["message"]


async def test_a_workspace_without_a_token_waits_and_a_paused_subscription_stops(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await card_for(app, fake_slack, fake_wc)
    (row,) = await rows(database_url, "escalations")
    due = utc(row["posted_at"]) + SLA + timedelta(seconds=1)
    fake_slack.fail_next("chat.postMessage", "token_revoked")

    with at(due):
        waiting = await sweep(app)
    assert waiting.retried == 1 and replies_in(fake_slack) == []
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "open" and utc(row["due_at"]) >= due + timedelta(minutes=9)

    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(Subscription).values(status="paused"))
    with at(due + timedelta(minutes=11)):
        stopped = await sweep(app)
    assert stopped.stopped == 1 and replies_in(fake_slack) == []
    (row,) = await rows(database_url, "escalations")
    assert row["state"] == "stopped"


@pytest.mark.parametrize(
    "text",
    [
        "subscribe +sla:0m +escalate:<@U2|grace>",
        "subscribe +sla:8d +escalate:<@U2|grace>",
        "subscribe +sla:5m",
        "subscribe +escalate:<@U2|grace>",
        "subscribe +sla:5m +escalate:<!channel>",
        "subscribe +sla:5m +escalate:<!here>",
        "subscribe +sla:5m +escalate:@grace",
        "subscribe +digest:09:00 +sla:5m +escalate:<@U2|grace>",
    ],
)
async def test_bad_sla_or_escalate_is_refused_and_saves_nothing(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, database_url: str, text: str
) -> None:
    posts = len(fake_slack.calls_to("chat.postMessage"))
    reply = await slack.ask(text)

    assert reply["text"].startswith("I can't use `")
    assert "Example: `/whatconverts subscribe +sla:15m +escalate:@ada" in reply["text"]
    assert await rows(database_url, "subscriptions") == []
    assert len(fake_slack.calls_to("chat.postMessage")) == posts  # nobody was pinged


@pytest.mark.parametrize(
    ("waited", "shown"),
    [
        (timedelta(minutes=5, seconds=59), "5 min"),
        (timedelta(minutes=90), "1 h 30 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(days=1, minutes=3), "1 day"),
        (timedelta(days=3, hours=4), "3 days 4 h"),
        (timedelta(seconds=-3), "0 min"),
    ],
)
def test_the_reply_says_how_long_the_lead_waited(waited: timedelta, shown: str) -> None:
    assert waited_text(waited) == shown


def test_the_reply_mentions_people_and_groups_and_nothing_else() -> None:
    first = escalation_message(step=1, waited=timedelta(minutes=15), targets={"U0ADA", "S0SALES", "W0BOB"})
    second = escalation_message(step=2, waited=timedelta(minutes=30), targets={"U0ADA"})
    assert first == {
        "text": ":alarm_clock: Nobody has taken this lead 15 min after it arrived. <!subteam^S0SALES> <@U0ADA> <@W0BOB>"
    }
    assert second == {"text": ":alarm_clock: Still nobody has taken this lead, 30 min after it arrived. <@U0ADA>"}


async def test_sweeps_racing_on_two_instances_send_each_reply_once(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    for n in range(8):
        await card_for(app, fake_slack, fake_wc, contact_name=f"Caller {n}")
    posted = await last_posted(database_url)
    other = build_services(make_settings(database_url, fake_slack, fake_wc))
    await other.start()
    try:
        for moment in (posted + SLA + timedelta(seconds=1), posted + 2 * SLA + timedelta(seconds=1)):
            with at(moment):
                reports = await asyncio.gather(
                    *(Escalator(s, owner=f"sweep-{i}", spacing=0.0).tick()
                      for i, s in enumerate([app.state.services, other] * 3))
                )  # fmt: skip
            assert sum(r.sent for r in reports) == 8 and sum(r.failed + r.retried for r in reports) == 0
    finally:
        await other.aclose()

    threads = Counter(r["thread_ts"] for r in replies_in(fake_slack))
    assert threads == Counter({card["ts"]: 2 for card in cards_in(fake_slack, "C1")})
    assert {r["state"] for r in await rows(database_url, "escalations")} == {"done"}


async def test_housekeeping_keeps_a_card_until_its_reminders_are_done(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    waiting, _ = await card_for(app, fake_slack, fake_wc, contact_name="Waiting")
    taken, _ = await card_for(app, fake_slack, fake_wc, contact_name="Taken")
    await claim_lead(app.state.services.sessions, taken)
    posted = await last_posted(database_url)
    with at(posted + SLA + timedelta(seconds=1)):
        assert (await sweep(app)).sent == 1

    async with transaction(app.state.services.sessions) as session:
        purged = await outbox.purge_sent(session, before=datetime.now(UTC) + timedelta(days=30))

    assert purged == 1  # the taken lead's card; the waiting one has a reminder to come
    assert [r["lead_id"] for r in await rows(database_url, "deliveries")] == [waiting]
    assert [(r["lead_id"], r["state"]) for r in await rows(database_url, "escalations")] == [(waiting, "open")]


async def test_a_sweep_posts_a_few_replies_per_channel_and_leaves_the_rest_to_the_next(
    escalating: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    for n in range(PER_CHANNEL + 2):
        await card_for(app, fake_slack, fake_wc, contact_name=f"Caller {n}")
    due = await last_posted(database_url) + SLA + timedelta(seconds=1)

    with at(due):
        first = await sweep(app)
        second = await sweep(app)

    assert (first.leased, first.sent, second.sent) == (PER_CHANNEL + 2, PER_CHANNEL, 2)
    assert len(replies_in(fake_slack)) == PER_CHANNEL + 2
    assert {r["step"] for r in await rows(database_url, "escalations")} == {1}
