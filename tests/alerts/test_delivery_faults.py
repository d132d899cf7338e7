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

import pytest
import time_machine
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette

from bot.alerts.delivery import CHANNEL_FIX, MAX_ATTEMPTS, Sender
from bot.commands.subscription_messages import BROKEN_FIX
from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.install import install
from tests.support.outbox import cards_in, lead_ids_in, make_due, new_leads, posts_to, rows, subscribed, unpaced, utc
from tests.support.settings import make_settings

__all__ = ["subscribed"]  # a fixture, used by name


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """The app under test on each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


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
    elif reason == "restricted_action_read_only_channel":
        fake.add_channel("T1", "C1", name="leads", read_only=True)
    elif reason == "restricted_action_thread_only_channel":
        fake.add_channel("T1", "C1", name="leads", thread_only=True)
    else:
        # Deleted. The fake has no public way to delete a channel, so drop it from its registry
        # (keeping another channel, or the fake would accept any channel id).
        fake.add_channel("T1", "C2", name="general")
        with fake._lock:
            del fake._teams["T1"].channels["C1"]


@pytest.mark.parametrize(
    "reason",
    [
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        # Permanent for the channel too (S8): retrying would only hammer Slack and hide the problem.
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
    ],
)
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
async def test_dead_token_makes_the_cards_wait_for_a_reinstall(
    reason: str,
    subscribed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    await new_leads(app, fake_wc, 3)
    fake_slack.fail_next("chat.postMessage", reason, times=2)

    report = await unpaced(app).tick()
    after = await unpaced(app).tick()

    assert report.sent == 0 and after.sent == 0
    # The third card never went out against the dead token: it waits with the other two.
    assert cards_in(fake_slack, "C1") == [] and len(fake_slack.calls_to("chat.postMessage")) == 2
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "needs_reinstall" and installation["bot_token"] is None
    assert installation["installer_user_id"] == "U1"
    assert len(await rows(database_url, "connections")) == 1 and len(await rows(database_url, "subscriptions")) == 1
    deliveries = await rows(database_url, "deliveries")
    assert [d["status"] for d in deliveries] == ["pending"] * 3
    problems = await rows(database_url, "problems")
    assert [p["subject"] for p in problems] == ["workspace"]
    assert reason in problems[0]["message"] and "/slack/install" in problems[0]["fix"]

    later = await slack.command("list", team_id="T1")
    shown = later.text + repr([c.params for c in fake_slack.calls_to("response_url")])
    assert later.status_code == 200 and "install it again" in shown and "kept" in shown

    # The reinstall: the waiting cards go out, without reconnecting WhatConverts.
    assert (await install(app_url, fake_slack)).status_code == 200
    resumed = await unpaced(app).run()
    assert resumed.sent == 3 and len(cards_in(fake_slack, "C1")) == 3


async def test_restricted_action_breaks_the_subscription_with_its_own_fix(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await new_leads(app, fake_wc, 1)
    fake_slack.fail_next("chat.postMessage", "restricted_action")

    report = await unpaced(app).tick()

    assert (report.sent, report.failed) == (0, 1)
    (sub,) = await rows(database_url, "subscriptions")
    assert sub["status"] == "broken" and sub["broken_reason"] == "restricted_action"
    (problem,) = await rows(database_url, "problems")
    assert problem["fix"] == CHANNEL_FIX["restricted_action"]
    listed = await slack.ask("list", channel_id="C1")
    assert f"broken (restricted_action: {BROKEN_FIX['restricted_action']})" in listed["text"]
    for block in listed["blocks"]:
        Block.parse(block).validate_json()


async def test_a_missing_scope_makes_the_cards_wait_for_a_reinstall_and_tells_the_admins(
    subscribed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    """S8: `missing_scope` is no transient error and no card's fault; only a reinstall grants the scope."""
    await new_leads(app, fake_wc, 3)
    fake_slack.withdraw_scope("T1", "chat:write")
    fake_slack.clear()

    report = await unpaced(app).tick()
    after = await unpaced(app).tick()
    await make_due(app)
    again = await unpaced(app).tick()

    assert report.sent == after.sent == again.sent == 0 and report.failed == again.failed == 0
    assert cards_in(fake_slack, "C1") == []
    deliveries = await rows(database_url, "deliveries")
    assert [d["status"] for d in deliveries] == ["pending"] * 3 and all(d["attempts"] == 0 for d in deliveries)
    assert {d["last_error"] for d in deliveries} == {"the workspace needs a reinstall (missing_scope)"}
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "needs_reinstall" and "`chat:write`" in installation["status_reason"]
    assert installation["bot_token"] is not None  # kept: commands and Home still work
    (sub,) = await rows(database_url, "subscriptions")
    assert sub["status"] == "active"  # not the channel's fault
    # Told once, however many cards and ticks ran into it.
    problems = await rows(database_url, "problems")
    assert [p["subject"] for p in problems] == ["workspace"]
    assert "missing_scope" in problems[0]["message"] and "/slack/install" in problems[0]["fix"]
    # The installer's DM is tried once (Slack refuses it too while chat:write is missing, so the
    # problem list and `status` are where admins see it).
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "U1"]
    assert len(dms) == 1 and "reinstalled" in dms[0].params["text"] and "`chat:write`" in dms[0].params["text"]
    status = (await slack.ask("status", channel_id="C1"))["text"]
    assert "needs a reinstall" in status and "chat:write" in status

    # The reinstall grants the scope again: the waiting cards go out, WhatConverts stays connected.
    assert (await install(app_url, fake_slack)).status_code == 200
    resumed = await unpaced(app).run()
    assert resumed.sent == 3 and len(cards_in(fake_slack, "C1")) == 3
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "active"


async def test_missing_scope_tells_the_installer_by_dm_when_slack_still_lets_it(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    """A scope other than chat:write (Slack names none here): the DM gets through and says what to do."""
    await new_leads(app, fake_wc, 1)
    fake_slack.fail_next("chat.postMessage", "missing_scope")

    report = await unpaced(app).tick()

    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    (dm,) = [m for m in fake_slack.messages("U1") if "reinstalled" in m["text"]]
    assert "lacks a permission it needs (missing_scope)" in dm["text"] and "/slack/install" in dm["text"]
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "needs_reinstall"


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
