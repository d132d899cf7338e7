"""Lead claims in tests: a history of posted cards and claims with known times, written through the
storage functions (for what speed to lead reports), and bare `lead_claims` rows as the card's
"I'll take it" button leaves them (for escalation tests, which only read the table)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from storage import claims, outbox
from storage.db import transaction
from storage.models import LeadClaim


async def posted(app: Starlette, lead: dict, *, at: datetime, subscription_id: int = 1, channel_id: str = "C1") -> None:
    """`lead` (as WhatConverts has it) got its card in `channel_id` at `at`."""
    row = {
        "subscription_id": subscription_id,
        "team_id": "T1",
        "channel_id": channel_id,
        "lead_id": lead["lead_id"],
        "lead_json": json.dumps(lead),
        "lead_updated_at": at,
        "status": "sent",
        "next_attempt_at": at,
        "created_at": at,
        "sent_at": at,
        "message_ts": f"{at.timestamp():.6f}",
        "shown_json": json.dumps(lead),
    }
    async with transaction(app.state.services.sessions) as session:
        await outbox.upsert(session, [row])


async def claimed(app: Starlette, lead: dict, *, by: str, at: datetime) -> None:
    """`by` pressed "I'll take it" on the lead's card at `at` (it must have a card)."""
    async with transaction(app.state.services.sessions) as session:
        arrived = await claims.first_card_at(session, team_id="T1", lead_id=lead["lead_id"])
        assert arrived is not None, "a lead is claimed from its card: post it first"
        taken = await claims.take(
            session, team_id="T1", lead_id=lead["lead_id"], user_id=by, arrived_at=arrived, now=at
        )
    assert taken.won


async def claim_lead(
    sessions: async_sessionmaker[AsyncSession], lead_id: int, *, by: str = "U3", team_id: str = "T1"
) -> None:
    """`by` takes the lead now (claimed again after a release, it keeps its first claim)."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        found = await session.get(LeadClaim, (team_id, lead_id))
        if found is None:
            first = {"first_claimed_by": by, "first_claimed_at": now, "arrived_at": now}
            session.add(LeadClaim(team_id=team_id, lead_id=lead_id, claimed_by=by, claimed_at=now, **first))
        else:
            found.claimed_by, found.claimed_at, found.updated_at = by, now, now


async def release_lead(sessions: async_sessionmaker[AsyncSession], lead_id: int, *, team_id: str = "T1") -> None:
    """Whoever had the lead lets it go: the row stays, `claimed_by` empties."""
    async with transaction(sessions) as session:
        await session.execute(
            update(LeadClaim)
            .where(LeadClaim.team_id == team_id, LeadClaim.lead_id == lead_id)
            .values(claimed_by=None, claimed_at=None)
        )
