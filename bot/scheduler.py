"""APScheduler 3 as a local trigger only: every job claims its work in the database.

APScheduler 3 can't coordinate processes, so each instance runs the same ticks and the
database (leases, unique constraints, SKIP LOCKED) decides who does what.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.delivery import Sender
from bot.alerts.digests import Summaries
from bot.alerts.escalations import Escalator
from bot.alerts.poller import Poller
from bot.metrics import Metrics
from bot.services import Services
from storage import connections, events, oauth_states, outbox
from storage.batching import UNAVAILABLE
from storage.db import describe, transaction
from storage.types import utcnow

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=2)
# Only today's count plans anything; a few days are kept for whoever looks into a spent quota.
QUOTA_RETENTION = timedelta(days=7)
# A nudged delivery tick starts once new deliveries stop arriving for NUDGE_QUIET, and at most
# NUDGE_MAX after the first: a burst of webhooks is answered before sending its cards takes the
# CPU and the database's write lock (sending mid-burst doubled the webhooks' time to 200).
NUDGE_QUIET = timedelta(milliseconds=30)
NUDGE_MAX = timedelta(milliseconds=150)

# Each job's tick is cut after this long, so a call that never returns (a database host gone
# silent) can't hold back every later tick. Generous: a burst to one channel keeps a delivery
# tick pacing its posts for a minute, and a poll tick over 20,000 keys takes about half one.
POLL_TICK_TIMEOUT = 120.0
DELIVER_TICK_TIMEOUT = 120.0
SUMMARIES_TICK_TIMEOUT = 120.0
# A sweep posts at most a couple of hundred reminders, paced per channel like the cards.
ESCALATIONS_TICK_TIMEOUT = 120.0
HOUSEKEEPING_TICK_TIMEOUT = 300.0
# A cut tick gets this long to unwind; one that doesn't is left behind and its job reported stalled.
CANCEL_GRACE = 10.0
# A job is stalled when no tick succeeded for its interval plus its timeout plus this.
STALL_GRACE = 30.0
WATCHDOG_SECONDS = 5.0


async def housekeeping(services: Services) -> None:
    """Purge expired install and connect states, old event ids, delivered rows past retention and old
    quota counts; give connections from before key identities their key's identity.

    Delivered rows are the dedup record for the poll lookback, so retention must exceed it (days vs minutes).
    """
    now = utcnow()
    retention = timedelta(days=services.settings.delivery_retention_days)
    await services.keys.adopt()
    async with transaction(services.sessions) as session:
        states = await oauth_states.purge_expired_slack_states(session, now=now)
        links = await connections.purge_expired_connect_states(session, now=now)
        seen = await events.purge_events(session, before=now - EVENT_RETENTION)
        sent = await outbox.purge_sent(session, before=now - retention)
        counts = await connections.purge_quota_usage(session, before=now.date() - QUOTA_RETENTION)
    log.debug(
        "housekeeping: purged %d states, %d links, %d event ids, %d sent rows, %d quota counts",
        states, links, seen, sent, counts,
    )  # fmt: skip


@dataclass
class JobState:
    """How one job is doing: when a tick last succeeded, and the failure it is in, if any."""

    name: str
    interval: float
    timeout: float
    stall_after: float  # seconds without a successful tick
    since: float  # monotonic: the last tick that succeeded, or when the job was added
    failures: int = 0  # consecutive
    stuck: asyncio.Task | None = None  # a tick that didn't stop when it was cut
    reported_stalled: bool = False

    def stalled(self, now: float) -> bool:
        return now - self.since > self.stall_after


class Scheduler:
    """APScheduler with supervised ticks and a graceful stop.

    Each tick runs in its own task, cut after its job's timeout; whatever it raises is counted
    (`whatconverts_tick_failures_total`) and logged once per incident, and the next tick runs as
    usual. A job with no successful tick for longer than its interval plus its timeout is
    stalled: `/readyz` says so and the log says it once. Running ticks finish before the process exits.
    """

    def __init__(
        self,
        scheduler: AsyncIOScheduler,
        *,
        metrics: Metrics,
        cancel_grace: float = CANCEL_GRACE,
        stall_grace: float = STALL_GRACE,
        watch_every: float = WATCHDOG_SECONDS,
    ) -> None:
        self.scheduler = scheduler
        self.metrics = metrics
        self.cancel_grace = cancel_grace
        self.stall_grace = stall_grace
        self.watch_every = watch_every
        self.jobs: dict[str, JobState] = {}
        self.running: set[asyncio.Task] = set()
        self.on_stop: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], Awaitable[None]]] = []  # after the running ticks are done
        self.stopped = False
        self._watchdog: asyncio.Task | None = None

    def every(
        self, job: Callable[[], Awaitable[object]], *, seconds: float, name: str, timeout: float, first: float = 0
    ) -> Job:
        """Run `job` every `seconds` (first after `first`), never two at once, missed runs not caught up,
        each run cut after `timeout`."""
        # A tick is due every `seconds` and cut after `timeout`: past both (and a grace), something is wrong.
        stall_after = seconds + timeout + self.stall_grace
        self.jobs[name] = state = JobState(name, seconds, timeout, stall_after, since=time.monotonic())
        return self.scheduler.add_job(
            self._supervised(job, state),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow() + timedelta(seconds=first),
        )

    def stalled(self) -> list[str]:
        """The jobs that have made no progress for too long."""
        now = time.monotonic()
        return sorted(name for name, state in self.jobs.items() if state.stalled(now))

    def _supervised(self, job: Callable[[], Awaitable[object]], state: JobState) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stopped:
                return  # submitted just before the stop: don't start work the stop won't wait for
            if state.stuck is not None and not state.stuck.done():
                return  # another tick would only pile onto whatever the last one is stuck on
            tick = asyncio.ensure_future(job())
            self.running.add(tick)
            tick.add_done_callback(self.running.discard)
            try:
                done, _ = await asyncio.wait({tick}, timeout=state.timeout)
                if not done:
                    tick.cancel()
                    done, _ = await asyncio.wait({tick}, timeout=self.cancel_grace)
                    state.stuck = None if done else tick
                    self._failed(state, "timeout", None)
                    return
            except asyncio.CancelledError:
                tick.cancel()  # APScheduler shutting down: the tick goes with it
                raise
            error = asyncio.CancelledError() if tick.cancelled() else tick.exception()
            if error is None:
                self._succeeded(state)
            else:
                self._failed(state, "error", error)

        return run

    def _succeeded(self, state: JobState) -> None:
        now = time.monotonic()
        if state.failures or state.reported_stalled:
            log.warning("%s ticks succeed again (the last success was %.0f s ago)", state.name, now - state.since)
        state.since, state.failures, state.reported_stalled = now, 0, False
        self.metrics.tick_last_success.labels(state.name).set(time.time())

    def _failed(self, state: JobState, kind: str, error: BaseException | None) -> None:
        self.metrics.tick_failures.labels(state.name, kind).inc()
        state.failures += 1
        if state.failures > 1:
            return  # said when this incident began; the count is in the metric
        later = f"; retrying every {state.interval:g} s, quietly until one succeeds"
        if error is None:
            stuck = " and didn't stop" if state.stuck else ""
            log.warning("%s tick ran past its %g s limit and was cut%s%s", state.name, state.timeout, stuck, later)
        elif isinstance(error, UNAVAILABLE):  # the database away: one line; anything else, its traceback once
            log.warning("%s tick failed: %s%s", state.name, describe(error), later)
        else:
            log.error("%s tick failed%s", state.name, later, exc_info=error)

    def start(self) -> None:
        self.scheduler.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="scheduler-watchdog")

    async def _watch(self) -> None:
        """Say once when a job stalls: a worker has no /readyz, and nothing may stop silently."""
        while not self.stopped:
            await asyncio.sleep(self.watch_every)
            now = time.monotonic()
            for state in self.jobs.values():
                if state.stalled(now) and not state.reported_stalled:
                    state.reported_stalled = True
                    log.error(
                        "%s is stalled: no tick succeeded for %.0f s; /readyz reports it until one does",
                        state.name,
                        now - state.since,
                    )

    async def stop(self, grace: float = 20.0) -> None:
        """Stop ticking, then let in-flight polls and sends finish (a killed one is recovered later anyway)."""
        self.stopped = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        # Pause, not shut down, until the running ticks are done: APScheduler's shutdown cancels
        # the job tasks still running (a tick cut off mid-claim, and a traceback in the log).
        self.scheduler.pause()
        for callback in self.on_stop:
            callback()
        deadline = asyncio.get_running_loop().time() + grace
        # Yield once so ticks already handed to the event loop either start (and are waited for) or see `stopped`.
        await asyncio.sleep(0)
        while self.running and (left := deadline - asyncio.get_running_loop().time()) > 0:
            await asyncio.wait(set(self.running), timeout=left)
        self.scheduler.shutdown(wait=False)
        for close in self.on_close:
            await close()


def build_scheduler(services: Services) -> Scheduler:
    settings = services.settings
    scheduler = AsyncIOScheduler(timezone="UTC")
    runner = Scheduler(scheduler, metrics=services.metrics)
    poller, sender, summaries = Poller(services), Sender(services), Summaries(services)
    escalator = Escalator(services)
    runner.on_stop.append(lambda: setattr(sender, "stopping", True))
    runner.on_stop.append(lambda: setattr(poller, "stopping", True))
    runner.on_stop.append(lambda: setattr(escalator, "stopping", True))
    runner.on_close += [sender.aclose, poller.aclose]
    runner.every(poller.tick, seconds=settings.poll_tick_seconds, name="poll", timeout=POLL_TICK_TIMEOUT)
    burst: list[datetime] = []  # when the first delivery not yet picked up by a tick arrived

    async def deliver_now() -> None:
        burst.clear()
        await sender.run()

    def nudge() -> None:
        now = utcnow()
        if not burst:
            burst.append(now)
        deliver.modify(next_run_time=min(now + NUDGE_QUIET, burst[0] + NUDGE_MAX))

    deliver = runner.every(
        deliver_now, seconds=settings.delivery_tick_seconds, name="deliver", timeout=DELIVER_TICK_TIMEOUT
    )
    # New deliveries from this process (webhooks) start a delivery tick now rather than at the next one.
    services.nudge = nudge
    runner.every(summaries.tick, seconds=60, name="summaries", first=5, timeout=SUMMARIES_TICK_TIMEOUT)
    runner.every(
        escalator.tick, seconds=settings.escalation_tick_seconds, name="escalations", timeout=ESCALATIONS_TICK_TIMEOUT
    )
    runner.every(
        lambda: housekeeping(services), seconds=600, name="housekeeping", first=30, timeout=HOUSEKEEPING_TICK_TIMEOUT
    )
    return runner
