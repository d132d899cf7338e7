"""APScheduler 3 as a local trigger only: every job claims its work in the database.

APScheduler 3 can't coordinate processes, so each instance runs the same ticks and the
database (leases, unique constraints, SKIP LOCKED) decides who does what.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from storage import events, oauth_states
from storage.db import transaction
from storage.types import utcnow

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=2)


async def housekeeping(services: Services) -> None:
    """Purge expired install states and old event ids."""
    now = utcnow()
    async with transaction(services.sessions) as session:
        states = await oauth_states.purge_expired_slack_states(session, now=now)
        seen = await events.purge_events(session, before=now - EVENT_RETENTION)
    log.debug("housekeeping: %d expired states, %d old event ids purged", states, seen)


def build_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        housekeeping,
        "interval",
        minutes=10,
        args=[services],
        id="housekeeping",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow() + timedelta(seconds=30),
    )
    return scheduler
