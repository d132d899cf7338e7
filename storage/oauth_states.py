"""One-time, expiring OAuth `state` values, stored as SHA-256 hashes and consumed atomically."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackOAuthState


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def issue_slack_state(session: AsyncSession, *, state: str, expires_at: datetime) -> None:
    session.add(SlackOAuthState(state_hash=hash_state(state), expires_at=expires_at))
    await session.flush()


async def consume_slack_state(session: AsyncSession, *, state: str, now: datetime) -> bool:
    """Delete the state if it exists and is unexpired; True for exactly one concurrent caller."""
    stmt = (
        delete(SlackOAuthState)
        .where(SlackOAuthState.state_hash == hash_state(state), SlackOAuthState.expires_at > now)
        .returning(SlackOAuthState.state_hash)
    )
    consumed = (await session.execute(stmt)).first() is not None
    await session.flush()
    return consumed


async def purge_expired_slack_states(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at <= now))
    return int(result.rowcount or 0)
