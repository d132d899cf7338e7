"""Supervised ticks: a tick that hangs is cut, one that fails is counted and said once, and a job
that makes no progress is reported stalled, in the log and by /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import create_app
from bot.config import Settings
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from tests.support.server import serve


@pytest.fixture
async def runner() -> AsyncIterator[Scheduler]:
    runner = Scheduler(
        AsyncIOScheduler(timezone="UTC"), metrics=Metrics(), cancel_grace=0.2, stall_grace=0.0, watch_every=0.05
    )
    yield runner
    await runner.stop(grace=2)


def failures(runner: Scheduler, job: str, kind: str) -> float:
    value = runner.metrics.registry.get_sample_value("whatconverts_tick_failures_total", {"job": job, "kind": kind})
    return value or 0.0


def said(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_hung_tick_is_cut_at_its_timeout_and_later_ticks_run(
    runner: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    starts: list[int] = []

    async def hang() -> None:
        starts.append(len(starts))
        await asyncio.Event().wait()  # a database call that never returns

    runner.every(hang, seconds=0.05, name="hang", timeout=0.2)
    runner.start()
    await eventually(lambda: len(starts) >= 3)

    assert failures(runner, "hang", "timeout") >= 2
    # Said once for the incident, however many ticks it lasts.
    assert said(caplog, "hang tick ran past its 0.2 s limit and was cut") == 1


async def test_a_failing_tick_is_counted_said_once_and_its_recovery_said(
    runner: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) <= 5:
            raise RuntimeError("boom")

    runner.every(flaky, seconds=0.02, name="flaky", timeout=5)
    runner.start()
    await eventually(lambda: said(caplog, "flaky ticks succeed again") == 1)

    assert failures(runner, "flaky", "error") == 5
    assert said(caplog, "flaky tick failed") == 1
    # An unexpected error shows its traceback, once.
    reports = [record for record in caplog.records if "flaky tick failed" in record.getMessage()]
    assert len(reports) == 1 and (reports[0].exc_info or reports[0].exc_text)
    success = runner.metrics.registry.get_sample_value(
        "whatconverts_tick_last_success_timestamp_seconds", {"job": "flaky"}
    )
    assert success and success > 0
    assert runner.stalled() == []


def stubborn_job(release: asyncio.Event, starts: list[int]) -> Callable[[], Awaitable[None]]:
    """A tick that ignores being cut until `release` is set (code swallowing CancelledError)."""

    async def stubborn() -> None:
        starts.append(len(starts))
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    return stubborn


async def test_a_tick_that_wont_stop_is_left_behind_and_its_job_reported_stalled(
    runner: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    release, starts = asyncio.Event(), []
    runner.every(stubborn_job(release, starts), seconds=0.05, name="stubborn", timeout=0.1)
    runner.start()
    await eventually(lambda: runner.stalled() == ["stubborn"])
    await eventually(lambda: said(caplog, "stubborn is stalled") == 1)
    await asyncio.sleep(0.3)

    assert starts == [0]  # no second tick piled onto the stuck one
    assert failures(runner, "stubborn", "timeout") == 1
    assert said(caplog, "stubborn tick ran past its 0.1 s limit and was cut and didn't stop") == 1
    assert said(caplog, "stubborn is stalled") == 1

    release.set()  # whatever it was stuck on lets go: the next tick runs and succeeds
    await eventually(lambda: runner.stalled() == [])
    assert len(starts) >= 2
    assert said(caplog, "stubborn ticks succeed again") == 1


async def test_readyz_reports_a_stalled_scheduler(settings: Settings) -> None:
    app = create_app(settings, run_scheduler=True)
    release, starts = asyncio.Event(), []
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        before = await http.get("/readyz")
        scheduler: Scheduler = app.state.scheduler
        scheduler.cancel_grace, scheduler.stall_grace = 0.1, 0.0
        scheduler.every(stubborn_job(release, starts), seconds=0.05, name="stubborn", timeout=0.1)
        await eventually(lambda: scheduler.stalled() == ["stubborn"])
        stalled = await http.get("/readyz")
        release.set()
        await eventually(lambda: scheduler.stalled() == [])
        after = await http.get("/readyz")

    assert (before.status_code, before.json()) == (200, {"status": "ok", "database": "ok", "scheduler": "ok"})
    assert stalled.status_code == 503
    assert stalled.json() == {
        "status": "unavailable",
        "database": "ok",
        "scheduler": "stalled",
        "stalled": ["stubborn"],
    }
    assert after.status_code == 200
