"""One-time, expiring OAuth `state` values, stored as SHA-256 hashes and consumed atomically."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackOAuthState


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def issue_slack_state(
    session: AsyncSession, *, state: str, now: datetime, ttl: timedelta, per_minute: int
) -> bool:
    """Store a new state unless `per_minute` were issued in the last minute; False stores nothing.

    Anyone can open the install page, so without a bound every request is a row. Expired states
    go first (an indexed range delete), which keeps the table to what was issued within the TTL.
    """
    await purge_expired_slack_states(session, now=now)
    # Rows keep only their expiry, and every state lives `ttl`: issued in the last minute means
    # it expires in more than `ttl` minus a minute.
    recent = await session.scalar(
        select(func.count())
        .select_from(SlackOAuthState)
        .where(SlackOAuthState.expires_at > now + ttl - timedelta(minutes=1))
    )
    if (recent or 0) >= per_minute:
        return False
    session.add(SlackOAuthState(state_hash=hash_state(state), expires_at=now + ttl))
    await session.flush()
    return True


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
