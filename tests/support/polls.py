"""Polling a connection now, as its scheduler would once it falls due."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerts.poller import Poller
from bot.services import Services
from storage import polling
from storage.db import transaction


async def poll_now(services: Services, poller: Poller, connection_id: int = 1) -> float:
    """Make the connection due, let `poller` tick; the seconds until the poll it then planned."""
    async with transaction(services.sessions) as session:
        await polling.reschedule(session, connection_id=connection_id, next_run_at=datetime.now(UTC))
    await poller.tick()
    async with services.sessions() as session:
        state = (await polling.states(session, connection_ids=[connection_id]))[connection_id]
    return (state.next_run_at - datetime.now(UTC)).total_seconds()
