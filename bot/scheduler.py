"""APScheduler 3 as a local trigger only: every job claims its work in the database.

APScheduler 3 can't coordinate processes, so each instance runs the same ticks and the
database (leases, unique constraints, SKIP LOCKED) decides who does what.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import Sender
from bot.digests import Summaries
from bot.poller import Poller
from bot.services import Services
from storage import connections, events, oauth_states, outbox
from storage.db import transaction
from storage.types import utcnow

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=2)
# A nudged delivery tick starts once new deliveries stop arriving for NUDGE_QUIET, and at most
# NUDGE_MAX after the first: a burst of webhooks is answered before sending its cards takes the
# CPU and the database's write lock (sending mid-burst doubled the webhooks' time to 200).
NUDGE_QUIET = timedelta(milliseconds=30)
NUDGE_MAX = timedelta(milliseconds=150)


async def housekeeping(services: Services) -> None:
    """Purge expired install and connect states, old event ids, and delivered rows past retention.

    Delivered rows are the dedup record for the poll lookback, so retention must exceed it (days vs minutes).
    """
    now = utcnow()
    retention = timedelta(days=services.settings.delivery_retention_days)
    async with transaction(services.sessions) as session:
        states = await oauth_states.purge_expired_slack_states(session, now=now)
        links = await connections.purge_expired_connect_states(session, now=now)
        seen = await events.purge_events(session, before=now - EVENT_RETENTION)
        sent = await outbox.purge_sent(session, before=now - retention)
    log.debug("housekeeping: purged %d states, %d links, %d event ids, %d sent rows", states, links, seen, sent)


class Scheduler:
    """APScheduler plus a graceful stop: running ticks finish before the process exits."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        self.running: set[asyncio.Task] = set()
        self.on_stop: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], Awaitable[None]]] = []  # after the running ticks are done
        self.stopped = False

    def every(self, job: Callable[[], Awaitable[object]], *, seconds: float, name: str, first: float = 0) -> Job:
        """Run `job` every `seconds` (first after `first`), never two at once, missed runs not caught up."""
        return self.scheduler.add_job(
            self.track(job),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow() + timedelta(seconds=first),
        )

    def track(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stopped:
                return  # submitted just before the stop: don't start work the stop won't wait for
            task = asyncio.current_task()
            assert task is not None
            self.running.add(task)
            try:
                await job()
            finally:
                self.running.discard(task)

        return run

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, grace: float = 20.0) -> None:
        """Stop ticking, then let in-flight polls and sends finish (a killed one is recovered later anyway)."""
        self.stopped = True
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
    runner = Scheduler(scheduler)
    poller, sender, summaries = Poller(services), Sender(services), Summaries(services)
    runner.on_stop.append(lambda: setattr(sender, "stopping", True))
    runner.on_stop.append(lambda: setattr(poller, "stopping", True))
    runner.on_close += [sender.aclose, poller.aclose]
    runner.every(poller.tick, seconds=settings.poll_tick_seconds, name="poll")
    burst: list[datetime] = []  # when the first delivery not yet picked up by a tick arrived

    async def deliver_now() -> None:
        burst.clear()
        await sender.run()

    def nudge() -> None:
        now = utcnow()
        if not burst:
            burst.append(now)
        deliver.modify(next_run_time=min(now + NUDGE_QUIET, burst[0] + NUDGE_MAX))

    deliver = runner.every(deliver_now, seconds=settings.delivery_tick_seconds, name="deliver")
    # New deliveries from this process (webhooks) start a delivery tick now rather than at the next one.
    services.nudge = nudge
    runner.every(summaries.tick, seconds=60, name="summaries", first=5)
    runner.every(lambda: housekeeping(services), seconds=600, name="housekeeping", first=30)
    return runner
