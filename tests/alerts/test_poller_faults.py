"""The poller against WhatConverts' failures, with two connections in one workspace.

Workspace T1 has the profile key connected as `main` (its leads go to #leads, C1) and the
master key as `agency` (its accounts' leads go to #agency, C2). One connection failing must
not hold the other up; the failing one backs off as WhatConverts asks, and once the fault
clears its leads arrive: none lost, none twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import update
from starlette.applications import Starlette

from bot.alerts.delivery import Sender
from bot.alerts.poller import LOOKBACK, Poller, PollReport
from bot.config import Settings
from storage import connections as connection_store
from storage import polling
from storage.db import transaction
from storage.models import Subscription
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.settings import make_settings

CHANNEL = {"main": "C1", "agency": "C2"}
AGENCY_PROFILE = 30001  # one of the master key's profiles (Northwind Main Site)


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    """The app under test on each database engine (PostgreSQL when TEST_POSTGRES_URL is set)."""
    return make_settings(database_url, fake_slack, fake_wc)


@pytest.fixture
async def two_connections(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile key's profile
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET, text="connect main")
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect agency")
    fake_slack.add_channel("T1", "C2", name="agency")
    for label, channel in CHANNEL.items():
        reply = await slack.ask(f"subscribe connection:{label}", channel_id=channel)
        assert f"<#{channel}> now gets new leads from `{label}`" in reply["text"]
    fake_slack.clear()
    fake_wc.clear()


def main_lead(fake_wc: FakeWhatConverts, name: str, **fields: Any) -> dict:
    return fake_wc.add_lead(contact_name=name, **fields)  # the profile key's own profile


def agency_lead(fake_wc: FakeWhatConverts, name: str, **fields: Any) -> dict:
    return fake_wc.add_lead(profile_id=AGENCY_PROFILE, contact_name=name, **fields)


async def cycle(app: Starlette) -> PollReport:
    """One poller tick, then one sender tick (unpaced) to post what it found."""
    report = await Poller(app.state.services, owner="test-poller").tick()
    await Sender(app.state.services, owner="test-sender", spacing=0.0).tick()
    return report


async def table(url: str, name: str) -> list[dict[str, Any]]:
    return sorted((await rawdb.dump(url))[name], key=lambda row: row.get("id") or row.get("connection_id") or 0)


async def ids_by_label(url: str) -> dict[str, int]:
    return {row["label"]: row["id"] for row in await table(url, "connections")}


async def states_by_label(url: str) -> dict[str, dict[str, Any]]:
    ids = await ids_by_label(url)
    states = {row["connection_id"]: row for row in await table(url, "poll_state")}
    return {label: states[id_] for label, id_ in ids.items()}


async def make_due(app: Starlette, url: str, *labels: str) -> None:
    """Poll these connections on the next tick, whatever their schedule says."""
    ids = await ids_by_label(url)
    async with transaction(app.state.services.sessions) as session:
        for label in labels or tuple(ids):
            await polling.reschedule(session, connection_id=ids[label], next_run_at=datetime.now(UTC))


def utc(value: Any) -> datetime:
    """A stored timestamp (SQLite hands back naive text) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def names_in(fake: FakeSlack, channel: str) -> list[str]:
    """The contact on each lead card posted in `channel`, in order."""
    return [m["text"] for m in fake.messages(channel) if "blocks" in m]


def shows(fake: FakeSlack, channel: str, *leads: dict) -> bool:
    """`channel` has exactly one card per lead given, and nothing else."""
    cards = [repr(m["blocks"]) for m in fake.messages(channel) if "blocks" in m]
    return len(cards) == len(leads) and all(sum(str(lead["lead_id"]) in c for c in cards) == 1 for lead in leads)


def dms(fake: FakeSlack) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("chat.postMessage") if c.params["channel"].startswith("U")]


def next_midnight(moment: datetime) -> datetime:
    return (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- transient faults

FAULTS = [
    # A dropped connection, what a timeout looks like to the client, without waiting 30 s for one.
    # aiohttp retries an idempotent GET once by itself, so of the four attempts (two connections,
    # each retried) the first three are dropped: exactly one connection fails, whichever is first.
    pytest.param(lambda wc: wc.drop_next("leads", times=3), None, id="dropped"),
    pytest.param(lambda wc: wc.fail_next("leads", 503), None, id="http_503"),
    pytest.param(lambda wc: wc.fail_next("leads", 502, body="Bad Gateway"), None, id="http_502_text"),
    pytest.param(lambda wc: wc.malformed_next("leads"), None, id="malformed"),
    pytest.param(lambda wc: wc.rate_limit_next("leads", retry_after=120), 120, id="429_retry_after"),
]


@pytest.mark.parametrize(("inject", "retry_after"), FAULTS)
async def test_one_connection_failing_does_not_hold_up_the_other(
    inject: Callable[[FakeWhatConverts], None],
    retry_after: int | None,
    two_connections: None,
    app: Starlette,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    leads = {"main": main_lead(fake_wc, "Main caller"), "agency": agency_lead(fake_wc, "Agency caller")}
    cursors = {label: state["cursor"] for label, state in (await states_by_label(database_url)).items()}
    inject(fake_wc)  # the next /leads request fails, whichever connection's it is
    before = datetime.now(UTC).replace(microsecond=0)

    report = await cycle(app)

    after = datetime.now(UTC)
    assert (report.polled, report.failed) == (2, 1)
    states = await states_by_label(database_url)
    (failed,) = [label for label, state in states.items() if state["failures"] == 1]
    (healthy,) = [label for label in CHANNEL if label != failed]
    # The healthy connection's lead arrived in the same tick; the failing one's didn't.
    assert shows(fake_slack, CHANNEL[healthy], leads[healthy])
    assert shows(fake_slack, CHANNEL[failed])
    assert states[failed]["cursor"] == cursors[failed] and states[failed]["last_error"]
    assert states[healthy]["failures"] == 0 and utc(states[healthy]["cursor"]) >= before
    waits = utc(states[failed]["next_run_at"]) - before
    if retry_after is not None:  # as WhatConverts asked
        assert timedelta(seconds=retry_after) <= waits <= timedelta(seconds=retry_after) + (after - before)
    else:  # backoff: the 60 s minimum interval, +/-20 % jitter
        assert timedelta(seconds=47) <= waits <= timedelta(seconds=73) + (after - before)
    assert (await table(database_url, "problems")) == [] and dms(fake_slack) == []
    assert (await Poller(app.state.services).tick()).polled == 0  # neither is due yet

    await make_due(app, database_url)
    recovered = await cycle(app)

    assert (recovered.polled, recovered.failed) == (2, 0)
    assert shows(fake_slack, "C1", leads["main"]) and shows(fake_slack, "C2", leads["agency"])
    assert {label: state["failures"] for label, state in (await states_by_label(database_url)).items()} == {
        "main": 0,
        "agency": 0,
    }
    assert len(await table(database_url, "deliveries")) == 2


async def test_repeated_failures_back_off_further(
    two_connections: None, app: Starlette, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    waits = []
    for _ in range(3):
        await make_due(app, database_url)
        fake_wc.fail_next("leads", 503, times=2)  # both connections fail every time
        before = datetime.now(UTC).replace(microsecond=0)
        assert (await cycle(app)).failed == 2
        waits.append(utc((await states_by_label(database_url))["main"]["next_run_at"]) - before)

    # 60 s, 120 s, 240 s, each +/-20 %.
    assert [round(w.total_seconds() / 60, 1) for w in waits] == pytest.approx([1, 2, 4], rel=0.25)
    connection = {row["label"]: row for row in await table(database_url, "connections")}["main"]
    assert connection["status"] == "error"  # after three failures in a row
    assert any("connection main" == p["subject"] for p in await table(database_url, "problems"))


# --------------------------------------------------------------------------- permanent faults


async def test_revoked_key_needs_reauth_and_the_other_connection_keeps_flowing(
    two_connections: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    fake_wc.add_profile_key(PROFILE_TOKEN, "canary-rotated-secret-0000")  # the stored secret stops working
    held = main_lead(fake_wc, "Main caller")  # waits for a reconnect: `main`'s cursor doesn't move
    first = agency_lead(fake_wc, "Agency caller")

    report = await cycle(app)

    assert (report.polled, report.failed) == (2, 1)
    assert report.errors == ["WhatConvertsAuthError"]
    assert shows(fake_slack, "C2", first) and shows(fake_slack, "C1")
    connections = {row["label"]: row for row in await table(database_url, "connections")}
    assert connections["main"]["status"] == "needs_reauth" and connections["agency"]["status"] == "ok"
    (told,) = dms(fake_slack)  # the owner (U1, also the installer) once
    assert "`main`" in told and "no longer accepts this API key" in told and "/whatconverts connect main" in told
    assert [c.params["channel"] for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"][0] == "U"] == [
        "U1"
    ]
    (problem,) = await table(database_url, "problems")
    assert problem["subject"] == "connection main" and "no longer accepts" in problem["message"]

    second = agency_lead(fake_wc, "Agency caller 2")
    asked = len(fake_wc.calls_to("leads"))
    await make_due(app, database_url)
    again = await cycle(app)

    assert (again.polled, again.failed) == (1, 0)  # `main` waits for a reconnect; no more requests, no more DMs
    assert shows(fake_slack, "C2", first, second) and shows(fake_slack, "C1")
    assert len(dms(fake_slack)) == 1
    assert [c.key for c in fake_wc.calls_to("leads")[asked:]] == [MASTER_TOKEN]
    assert held["lead_id"] not in {d["lead_id"] for d in await table(database_url, "deliveries")}


async def test_spent_daily_quota_waits_for_midnight_utc(
    two_connections: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    fake_wc.set_daily_limit(PROFILE_TOKEN, fake_wc.requests_today(PROFILE_TOKEN))  # the next one is refused
    main_lead(fake_wc, "Main caller")
    lead = agency_lead(fake_wc, "Agency caller")
    before = datetime.now(UTC)

    report = await cycle(app)

    after = datetime.now(UTC)
    assert (report.polled, report.failed) == (2, 1) and report.errors == ["WhatConvertsQuotaExceeded"]
    assert shows(fake_slack, "C2", lead) and shows(fake_slack, "C1")
    states = await states_by_label(database_url)
    assert utc(states["main"]["next_run_at"]) in {next_midnight(before), next_midnight(after)}
    assert "Daily API limit" in states["main"]["last_error"]
    assert utc(states["agency"]["next_run_at"]) < before + timedelta(minutes=5)  # the master key is unaffected
    (problem,) = await table(database_url, "problems")
    assert problem["subject"] == "connection main" and "daily API limit" in problem["message"]
    assert "midnight UTC" in problem["fix"]
    connections = {row["label"]: row for row in await table(database_url, "connections")}
    assert connections["main"]["status"] == "ok"  # not broken, just out of requests today


async def test_a_throttle_waits_minutes_not_until_midnight(
    two_connections: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    assert (await cycle(app)).polled == 2  # both polled once; `agency` is next due in a minute
    lead = main_lead(fake_wc, "Main caller")
    await make_due(app, database_url, "main")  # only `main` asks, and is throttled
    fake_wc.rate_limit_next("leads")  # as WhatConverts throttles a burst: 429, no Retry-After
    before = datetime.now(UTC).replace(microsecond=0)

    report = await cycle(app)

    waits = utc((await states_by_label(database_url))["main"]["next_run_at"]) - before
    # 30 s doubling while it persists, never sooner than a normal poll (60 s here), +/-20 %: minutes at most.
    assert timedelta(seconds=47) <= waits <= timedelta(seconds=73) + (datetime.now(UTC) - before)
    assert (report.polled, report.failed) == (1, 1) and report.errors == ["WhatConvertsThrottled"]
    status = await slack.ask("status")
    assert "throttled" in repr(status) and "daily" not in repr(status).lower()
    assert await table(database_url, "problems") == [] and dms(fake_slack) == []

    with time_machine.travel(before + waits + timedelta(seconds=1), tick=True):
        assert (await cycle(app)).failed == 0  # due again by itself, minutes later

    assert shows(fake_slack, "C1", lead)
    assert (await states_by_label(database_url))["main"]["failures"] == 0


async def test_throttles_in_a_row_back_off_further_within_minutes(
    two_connections: None, app: Starlette, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    assert (await cycle(app)).polled == 2
    waits = []
    for _ in range(6):
        await make_due(app, database_url, "main")
        fake_wc.rate_limit_next("leads")
        before = datetime.now(UTC).replace(microsecond=0)
        assert (await cycle(app)).failed == 1
        waits.append(utc((await states_by_label(database_url))["main"]["next_run_at"]) - before)

    # 60 s (the minimum interval), 60, 120, 240, 480, then capped at 15 minutes; each +/-20 %.
    assert [round(w.total_seconds() / 60, 1) for w in waits] == pytest.approx([1, 1, 2, 4, 8, 15], rel=0.25)
    connection = {row["label"]: row for row in await table(database_url, "connections")}["main"]
    assert connection["status"] == "ok"  # throttled is not broken


async def test_a_throttle_is_the_daily_limit_once_our_own_count_says_the_day_is_spent(
    two_connections: None, app: Starlette, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    assert (await cycle(app)).polled == 2
    services = app.state.services
    key_id = {row["label"]: row["key_id"] for row in await table(database_url, "connections")}["main"]
    async with transaction(services.sessions) as session:  # as if we polled all day: 750 of our 800
        await connection_store.count_requests(session, key_id=key_id, day=datetime.now(UTC).date(), requests=750)
    await make_due(app, database_url, "main")
    fake_wc.rate_limit_next("leads")  # the same 429 as a throttle; only our count tells them apart
    before = datetime.now(UTC)

    report = await cycle(app)

    assert report.errors == ["WhatConvertsThrottled"]
    assert utc((await states_by_label(database_url))["main"]["next_run_at"]) in {
        next_midnight(before),
        next_midnight(datetime.now(UTC)),
    }
    (problem,) = await table(database_url, "problems")
    assert "daily API limit" in problem["message"]


# --------------------------------------------------------------------------- late leads


async def test_a_late_lead_within_the_lookback_is_delivered_once(
    two_connections: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    assert (await cycle(app)).polled == 2
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=1)):
        await make_due(app, database_url)
        assert (await cycle(app)).polled == 2  # the cursor is now "now"; nothing new
        now = datetime.now(UTC)
        # Both appear in WhatConverts after that poll, dated in the past (processing lag).
        late = main_lead(fake_wc, "Late caller", date_created=now - timedelta(minutes=5))
        too_late = main_lead(fake_wc, "Very late caller", date_created=now - LOOKBACK - timedelta(minutes=10))

        await make_due(app, database_url)
        found = await cycle(app)
        await make_due(app, database_url)
        again = await cycle(app)

    assert found.enqueued == 1 and again.enqueued == 0
    assert shows(fake_slack, "C1", late)
    # Documented limit: a lead that shows up more than LOOKBACK (10 min) after its date_created,
    # and after a poll already passed that time, is never delivered.
    assert too_late["lead_id"] not in {d["lead_id"] for d in await table(database_url, "deliveries")}


# --------------------------------------------------------------------------- leases


def lease_of(app: Starlette) -> timedelta:
    return timedelta(seconds=app.state.services.settings.poll_lease_seconds)


async def test_a_stale_lease_cannot_move_the_cursor(two_connections: None, app: Starlette, database_url: str) -> None:
    sessions, lease = app.state.services.sessions, lease_of(app)
    t0 = datetime.now(UTC)
    async with transaction(sessions) as session:
        stale = await polling.claim_due(session, owner="stale", now=t0, lease=lease, limit=10)
    async with transaction(sessions) as session:
        held = await polling.claim_due(
            session, owner="other", now=t0 + lease - timedelta(seconds=1), lease=lease, limit=10
        )
    expired = t0 + lease + timedelta(seconds=1)
    async with transaction(sessions) as session:
        fresh = await polling.claim_due(session, owner="fresh", now=expired, lease=lease, limit=10)
    assert len(stale) == 2 and held == []
    assert sorted((lease.connection_id, lease.version) for lease in fresh) == sorted(
        (lease.connection_id, lease.version + 1) for lease in stale
    )
    before = await table(database_url, "poll_state")

    async with transaction(sessions) as session:
        moved = await polling.finish(
            session, stale[0], cursor=expired, next_run_at=expired + timedelta(hours=1), now=expired, requests=1
        )
        failed = await polling.finish(
            session, stale[1], cursor=None, next_run_at=expired, now=expired, requests=1, error="boom"
        )

    assert moved is False and failed is False
    assert await table(database_url, "poll_state") == before
    assert {row["lease_owner"] for row in before} == {"fresh"}
    (mine,) = [lease for lease in fresh if lease.connection_id == stale[0].connection_id]
    async with transaction(sessions) as session:
        assert await polling.finish(session, mine, cursor=expired, next_run_at=expired, now=expired, requests=1)
    (row,) = [r for r in await table(database_url, "poll_state") if r["connection_id"] == mine.connection_id]
    assert utc(row["cursor"]) == expired and row["lease_owner"] is None


async def test_a_batch_of_finished_polls_writes_only_the_leases_still_held(
    two_connections: None, app: Starlette, database_url: str
) -> None:
    sessions, lease = app.state.services.sessions, lease_of(app)
    t0 = datetime.now(UTC)
    async with transaction(sessions) as session:
        mine = await polling.claim_due(session, owner="mine", now=t0, lease=lease, limit=10)
    expired = t0 + lease + timedelta(seconds=1)
    async with transaction(sessions) as session:  # one of the two is taken over after our lease ran out
        (taken,) = await polling.claim_due(session, owner="thief", now=expired, lease=lease, limit=1)
    (kept,) = [held for held in mine if held.connection_id != taken.connection_id]
    (lost,) = [held for held in mine if held.connection_id == taken.connection_id]
    before = {row["connection_id"]: row for row in await table(database_url, "poll_state")}

    async with transaction(sessions) as session:
        written = await polling.finish_many(
            session, [(held, expired, expired + timedelta(hours=1), 3) for held in (kept, lost)]
        )

    after = {row["connection_id"]: row for row in await table(database_url, "poll_state")}
    assert written == {kept.connection_id}
    assert after[lost.connection_id] == before[lost.connection_id]
    row = after[kept.connection_id]
    assert (utc(row["cursor"]), row["last_requests"], row["lease_owner"]) == (expired, 3, None)
    assert utc(row["next_run_at"]) == expired + timedelta(hours=1)


async def test_a_poller_that_lost_its_lease_enqueues_nothing(
    two_connections: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    main_lead(fake_wc, "Main caller")
    agency_lead(fake_wc, "Agency caller")
    fake_wc.delay_next("leads", 1.0, times=2)  # WhatConverts is slow; the poller stalls mid-walk
    lease = lease_of(app)
    before = await table(database_url, "poll_state")

    slow = asyncio.create_task(Poller(app.state.services, owner="slow").tick())
    await asyncio.sleep(0.5)
    async with transaction(app.state.services.sessions) as session:  # another process, after LEASE
        stolen = await polling.claim_due(
            session, owner="thief", now=datetime.now(UTC) + lease + timedelta(seconds=1), lease=lease, limit=10
        )
    report = await slow

    assert len(stolen) == 2 and (report.polled, report.lost, report.enqueued) == (2, 2, 0)
    assert await table(database_url, "deliveries") == []
    after = await table(database_url, "poll_state")
    assert [row["cursor"] for row in after] == [row["cursor"] for row in before]
    assert {row["lease_owner"] for row in after} == {"thief"}


# --------------------------------------------------------------------------- unexpected faults


async def unreadable_filters(app: Starlette, url: str, label: str) -> str:
    """Make `label`'s subscription unreadable to this version (a newer release wrote it, then was rolled
    back): routing its leads raises ValueError, a fault nothing in the poller foresees. Returns the old value."""
    connection_id = (await ids_by_label(url))[label]
    (sub,) = [row for row in await table(url, "subscriptions") if row["connection_id"] == connection_id]
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(Subscription).where(Subscription.id == sub["id"]).values(filters_json='{"v": 99}'))
    return str(sub["filters_json"])


async def test_an_unexpected_fault_stays_with_its_connection(
    two_connections: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    readable = await unreadable_filters(app, database_url, "agency")
    leads = {"main": main_lead(fake_wc, "Main caller"), "agency": agency_lead(fake_wc, "Agency caller")}
    cursor = (await states_by_label(database_url))["agency"]["cursor"]
    before = datetime.now(UTC).replace(microsecond=0)

    report = await cycle(app)

    after = datetime.now(UTC)
    assert (report.polled, report.failed, report.errors) == (2, 1, ["ValueError"])
    assert shows(fake_slack, "C1", leads["main"]) and shows(fake_slack, "C2")
    state = (await states_by_label(database_url))["agency"]
    # Released at once (no waiting for the lease to run out), backed off, the cursor where it was.
    assert (state["lease_owner"], state["lease_until"], state["failures"]) == (None, None, 1)
    assert state["cursor"] == cursor and "unexpected error (ValueError)" in state["last_error"]
    assert timedelta(seconds=47) <= utc(state["next_run_at"]) - before <= timedelta(seconds=73) + (after - before)
    (problem,) = await table(database_url, "problems")
    assert problem["subject"] == "connection agency" and "unexpected error (ValueError)" in problem["message"]
    assert dms(fake_slack) == []

    for _ in range(3):  # it keeps failing: the admins are told once, when it turns to "error"
        await make_due(app, database_url, "agency")
        assert (await cycle(app)).errors == ["ValueError"]

    (told,) = dms(fake_slack)
    assert "`agency`" in told and "failed 3 times in a row" in told and "none is lost" in told
    connections = {row["label"]: row for row in await table(database_url, "connections")}
    assert (connections["agency"]["status"], connections["main"]["status"]) == ("error", "ok")
    assert (await states_by_label(database_url))["agency"]["failures"] == 4

    async with transaction(app.state.services.sessions) as session:  # the fix is deployed
        await session.execute(update(Subscription).values(filters_json=readable))
    await make_due(app, database_url, "agency")
    healed = await cycle(app)

    assert (healed.polled, healed.failed) == (1, 0)
    assert shows(fake_slack, "C2", leads["agency"]) and len(dms(fake_slack)) == 1
    connections = {row["label"]: row for row in await table(database_url, "connections")}
    assert connections["agency"]["status"] == "ok"
