"""The outbox against Slack's failures: exactly what is posted, what the database says, who is told.

Leads reach the outbox the way they do in production (a subscription made with a signed slash
command, leads created in the fake WhatConverts, one poller tick); Slack misbehaves through the
fake's fault injection; each test then asserts the calls Slack received, the stored rows, and
the messages people got.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import update
from starlette.applications import Starlette

from bot.config import Settings
from bot.delivery import MAX_ATTEMPTS, Sender
from bot.poller import Poller
from bot.subscription_messages import BROKEN_FIX
from storage.db import transaction
from storage.models import Delivery
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """The app under test on each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


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


async def new_leads(app: Starlette, fake_wc: FakeWhatConverts, count: int) -> list[dict]:
    """Create `count` leads in WhatConverts and let the poller put them in the outbox."""
    leads = [fake_wc.add_lead(contact_name=f"Caller {n}") for n in range(1, count + 1)]
    report = await Poller(app.state.services, owner="test-poller").tick()
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


# --------------------------------------------------------------------------- 429


async def test_rate_limited_post_waits_for_retry_after_then_posts_once(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await new_leads(app, fake_wc, 1)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=2)
    before = time.time()

    first = await unpaced(app).tick()

    assert (first.claimed, first.sent, first.retried, first.failed) == (1, 0, 1, 0)
    assert cards_in(fake_slack, "C1") == []
    (row,) = await rows(database_url, "deliveries")
    # A rate-limit wait gives its attempt back: only real failures count towards MAX_ATTEMPTS.
    assert row["status"] == "pending" and row["last_error"] == "ratelimited" and row["attempts"] == 0
    assert not row["uncertain"]  # a 429 means Slack did not post it
    assert utc(row["next_attempt_at"]).timestamp() >= before + 2
    (pace,) = await rows(database_url, "channel_pace")
    assert (pace["team_id"], pace["channel_id"]) == ("T1", "C1") and pace["next_slot"] >= before + 2

    assert (await unpaced(app).tick()).claimed == 0  # not due before Retry-After has passed
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=1)):
        assert (await unpaced(app).tick()).claimed == 0
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=2.5)):
        later = await unpaced(app).tick()
        again = await unpaced(app).tick()

    assert later.sent == 1 and again.claimed == 0
    assert len(posts_to(fake_slack, "C1")) == 2  # the refused attempt and the post
    assert len(cards_in(fake_slack, "C1")) == 1 and "Caller 1" in cards_in(fake_slack, "C1")[0]["text"]
    (row,) = await rows(database_url, "deliveries")
    assert row["status"] == "sent" and row["attempts"] == 1 and row["message_ts"]
    assert await rows(database_url, "problems") == []


# --------------------------------------------------------------------------- transient failures


TRANSIENT = [
    pytest.param(lambda fake: fake.http_error_next("chat.postMessage", 500), "http_500", id="http_500"),
    pytest.param(lambda fake: fake.http_error_next("chat.postMessage", 503), "http_503", id="http_503"),
    pytest.param(
        lambda fake: fake.fail_next("chat.postMessage", "internal_error"), "internal_error", id="internal_error"
    ),
    pytest.param(lambda fake: fake.fail_next("chat.postMessage", "fatal_error"), "fatal_error", id="fatal_error"),
    # An HTML page with HTTP 200 (a proxy's hiccup): no error code, so the post may have happened.
    pytest.param(lambda fake: fake.malformed_next("chat.postMessage"), "unknown_error", id="malformed"),
    # The SDK retries a dropped connection once by itself, so Slack has to drop it twice.
    pytest.param(lambda fake: fake.drop_next("chat.postMessage", times=2), "ServerDisconnectedError", id="dropped"),
]


@pytest.mark.parametrize(("inject", "reason"), TRANSIENT)
async def test_transient_failure_is_retried_later_as_uncertain_and_posted_once(
    inject: Callable[[FakeSlack], None],
    reason: str,
    subscribed: None,
    app: Starlette,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await new_leads(app, fake_wc, 1)
    inject(fake_slack)
    before = datetime.now(UTC)

    first = await unpaced(app).tick()

    assert (first.sent, first.retried, first.failed) == (0, 1, 0)
    assert cards_in(fake_slack, "C1") == []
    (row,) = await rows(database_url, "deliveries")
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"] == reason
    assert row["uncertain"]  # Slack may have posted it: a retry could duplicate the card
    # Backoff after the first attempt: 2 s with +/-50 % jitter.
    assert before + timedelta(seconds=1) <= utc(row["next_attempt_at"]) <= datetime.now(UTC) + timedelta(seconds=3)
    assert (await unpaced(app).tick()).claimed == 0  # waits for its backoff

    await make_due(app)
    later = await unpaced(app).tick()

    assert later.sent == 1
    assert len(cards_in(fake_slack, "C1")) == 1
    (row,) = await rows(database_url, "deliveries")
    assert row["status"] == "sent" and row["attempts"] == 2 and row["last_error"] is None
    assert await rows(database_url, "problems") == []
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] != "C1"] == []  # no DMs


async def test_retries_stop_at_max_attempts_with_a_recorded_problem(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await new_leads(app, fake_wc, 1)
    fake_slack.fail_next("chat.postMessage", "internal_error", times=20)

    ticks = 0
    while (await rows(database_url, "deliveries"))[0]["status"] == "pending" and ticks < 20:
        await unpaced(app).tick()
        await make_due(app)
        ticks += 1

    assert ticks == MAX_ATTEMPTS
    assert len(posts_to(fake_slack, "C1")) == MAX_ATTEMPTS and cards_in(fake_slack, "C1") == []
    (row,) = await rows(database_url, "deliveries")
    assert row["status"] == "failed" and row["attempts"] == MAX_ATTEMPTS and row["last_error"] == "internal_error"
    (problem,) = await rows(database_url, "problems")
    assert problem["team_id"] == "T1" and "<#C1>" in problem["subject"]
    assert f"failed {MAX_ATTEMPTS} times (internal_error)" in problem["message"]
    assert (await unpaced(app).tick()).claimed == 0  # parked for good
    assert len(posts_to(fake_slack, "C1")) == MAX_ATTEMPTS


# --------------------------------------------------------------------------- permanent failures


def take_channel_away(fake: FakeSlack, reason: str) -> None:
    """Make #leads (C1) refuse posts for real, the way each reason happens in Slack."""
    if reason == "is_archived":
        fake.add_channel("T1", "C1", name="leads", is_archived=True)
    elif reason == "not_in_channel":
        fake.add_channel("T1", "C1", name="leads", is_member=False)
    else:
        # Deleted. The fake has no public way to delete a channel, so drop it from its registry
        # (keeping another channel, or the fake would accept any channel id).
        fake.add_channel("T1", "C2", name="general")
        with fake._lock:
            del fake._teams["T1"].channels["C1"]


@pytest.mark.parametrize("reason", ["channel_not_found", "is_archived", "not_in_channel"])
async def test_gone_channel_breaks_the_subscription_and_tells_its_creator_once(
    reason: str,
    subscribed: None,
    app: Starlette,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await new_leads(app, fake_wc, 3)
    take_channel_away(fake_slack, reason)

    report = await unpaced(app).tick()
    await unpaced(app).tick()

    # Two cards were claimed for #leads at once and both were refused; the third was parked unsent.
    assert (report.claimed, report.sent, report.failed) == (2, 0, 2)
    assert len(posts_to(fake_slack, "C1")) == 2 and cards_in(fake_slack, "C1") == []
    (sub,) = await rows(database_url, "subscriptions")
    assert sub["status"] == "broken" and sub["broken_reason"] == reason
    deliveries = await rows(database_url, "deliveries")
    assert [d["status"] for d in deliveries] == ["failed"] * 3
    assert {d["last_error"] for d in deliveries} == {reason}
    dms = posts_to(fake_slack, "U1")
    assert len(dms) == 1
    assert "<#C1>" in dms[0].params["text"] and f"`{reason}`" in dms[0].params["text"]
    (problem,) = await rows(database_url, "problems")
    assert problem["subject"] == f"subscription {sub['id']} in <#C1>" and reason in problem["message"]

    listed = (await slack.ask("list", channel_id="C1"))["text"]
    assert f"broken ({reason}: {BROKEN_FIX[reason]})" in listed and "3 failed" in listed


TOKEN_DEAD = ["token_revoked", "invalid_auth", "account_inactive"]


@pytest.mark.parametrize("reason", TOKEN_DEAD)
async def test_dead_token_stops_the_workspace(
    reason: str,
    subscribed: None,
    app: Starlette,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await new_leads(app, fake_wc, 3)
    fake_slack.fail_next("chat.postMessage", reason, times=2)

    report = await unpaced(app).tick()
    after = await unpaced(app).tick()

    assert report.sent == 0 and report.failed == 2 and after.claimed == 0
    assert cards_in(fake_slack, "C1") == [] and len(fake_slack.calls_to("chat.postMessage")) == 2
    assert await rows(database_url, "slack_installations") == []
    deliveries = await rows(database_url, "deliveries")
    assert [d["status"] for d in deliveries] == ["failed"] * 3
    assert all(reason in d["last_error"] for d in deliveries)
    problems = await rows(database_url, "problems")
    assert problems and {p["subject"] for p in problems} == {"workspace"}
    assert reason in problems[0]["message"] and "/slack/install" in problems[0]["fix"]

    later = await slack.command("list", team_id="T1")
    shown = later.text + repr([c.params for c in fake_slack.calls_to("response_url")])
    assert later.status_code == 200 and "isn't installed" in shown


async def test_dead_token_is_one_problem_however_many_posts_it_refused(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await new_leads(app, fake_wc, 2)
    fake_slack.fail_next("chat.postMessage", "token_revoked", times=2)

    await unpaced(app).tick()

    assert len(await rows(database_url, "problems")) == 1


async def test_refused_blocks_fail_at_once_with_a_problem(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await new_leads(app, fake_wc, 1)
    fake_slack.fail_next("chat.postMessage", "invalid_blocks")

    report = await unpaced(app).tick()
    await make_due(app)
    after = await unpaced(app).tick()

    assert (report.sent, report.retried, report.failed) == (0, 0, 1) and after.claimed == 0
    assert len(posts_to(fake_slack, "C1")) == 1 and cards_in(fake_slack, "C1") == []
    (row,) = await rows(database_url, "deliveries")
    assert row["status"] == "failed" and row["attempts"] == 1 and row["last_error"] == "invalid_blocks"
    (problem,) = await rows(database_url, "problems")
    assert "Slack refused the lead card (invalid_blocks)" in problem["message"]
    assert "bug on our side" in problem["fix"]
    (sub,) = await rows(database_url, "subscriptions")
    assert sub["status"] == "active"  # one bad card doesn't stop the channel
    assert await rows(database_url, "slack_installations") != []


# --------------------------------------------------------------------------- pacing


def gaps(calls: list) -> list[float]:
    times = [c.at for c in calls]
    return [b - a for a, b in itertools.pairwise(times)]


async def send_all(senders: list[Sender], database_url: str, *, expected: int) -> None:
    """Tick every sender at once, repeatedly, until `expected` deliveries are sent (or 10 rounds)."""
    for _ in range(10):
        await asyncio.gather(*(s.tick() for s in senders))
        if sum(d["status"] == "sent" for d in await rows(database_url, "deliveries")) == expected:
            return


async def test_one_channel_is_paced_to_one_post_a_second(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    leads = await new_leads(app, fake_wc, 4)
    fake_slack.enforce_channel_rate(1.0)

    await send_all([Sender(app.state.services, owner="sender-a")], database_url, expected=4)

    posts = posts_to(fake_slack, "C1")
    assert len(posts) == 4 and fake_slack.rate_limited_count == 0
    assert lead_ids_in(fake_slack, "C1", leads) == [lead["lead_id"] for lead in leads]  # in order, once each
    assert all(gap >= 1.0 for gap in gaps(posts)), gaps(posts)


async def test_two_senders_share_the_channel_pace(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    leads = await new_leads(app, fake_wc, 4)
    fake_slack.enforce_channel_rate(1.0)
    services = app.state.services

    await send_all([Sender(services, owner="sender-a"), Sender(services, owner="sender-b")], database_url, expected=4)

    posts = posts_to(fake_slack, "C1")
    assert len(posts) == 4 and fake_slack.rate_limited_count == 0
    assert sorted(lead_ids_in(fake_slack, "C1", leads)) == [lead["lead_id"] for lead in leads]  # once each
    assert all(gap >= 1.0 for gap in gaps(posts)), gaps(posts)
    deliveries = await rows(database_url, "deliveries")
    assert [d["status"] for d in deliveries] == ["sent"] * 4 and {d["attempts"] for d in deliveries} == {1}
