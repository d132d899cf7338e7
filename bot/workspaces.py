"""Workspace lifecycle: what happens when Slack tells us the app was removed or revoked."""

from __future__ import annotations

import logging

from bot.payloads import TeamRef
from bot.services import Services
from storage import connections, installations
from storage.db import transaction

log = logging.getLogger(__name__)


async def stop_workspace(services: Services, team: TeamRef, *, reason: str) -> None:
    """Delete the workspace's tokens and WhatConverts credentials; all its work stops. Idempotent."""
    async with transaction(services.sessions) as session:
        removed = await installations.delete_team_installations(
            session, team_id=team.team_id, enterprise_id=team.enterprise_id
        )
        if team.team_id:
            # Subscriptions, poll state and pending deliveries go with their connections (ON DELETE CASCADE).
            await connections.delete_team_connections(session, team_id=team.team_id)
    services.tokens.forget(team_id=team.team_id)
    services.metrics.installations.labels(reason).inc()
    log.info("workspace %s stopped (%s); %d installation(s) removed", team.team_id, reason, removed)
