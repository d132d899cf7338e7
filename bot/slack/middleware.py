"""Bolt middleware: drop Events API redeliveries (same `event_id`) before any listener runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.services import Services
from storage import events
from storage.db import transaction


def register(app: AsyncApp, services: Services) -> None:
    @app.middleware
    async def drop_redeliveries(body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            async with transaction(services.sessions) as session:
                first_time = await events.record_event(session, event_id=str(event_id), team_id=body.get("team_id"))
            if not first_time:
                services.metrics.slack_events_deduplicated.inc()
                return BoltResponse(status=200, body="")
        return await next()
