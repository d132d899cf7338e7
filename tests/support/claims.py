"""Lead claims as the card's "I'll take it" button leaves them (a `lead_claims` row), for escalation tests.

The button is built elsewhere; escalations only read the table, so tests write its rows directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import transaction
from storage.models import LeadClaim


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
