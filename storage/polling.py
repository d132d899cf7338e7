"""Poll leases: claim due connections (SKIP LOCKED), and advance cursors only with a valid lease.

Every write after the claim is conditional on `lease_version` (a fencing token), so a poller
that stalled past its lease can't move the cursor or enqueue on top of its successor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Connection, PollState, SlackInstallation, Subscription


@dataclass(frozen=True)
class Lease:
    """A claimed connection: its state at claim time and the fencing version."""

    connection_id: int
    version: int
    cursor: datetime | None
    last_requests: int
    failures: int
    last_webhook_at: datetime | None = None
    next_sweep_at: datetime | None = None
    sweep_requests: int = 1


@dataclass(frozen=True)
class Sweep:
    """What a poll sets of its connection's update sweep: when the next is due, what the last cost."""

    next_at: datetime | None
    requests: int


async def claim_due(session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Lease]:
    """Lease up to `limit` due connections that have an active subscription and a healthy key."""
    due = (
        select(PollState.connection_id)
        .join(Connection, Connection.id == PollState.connection_id)
        .where(
            PollState.next_run_at <= now,
            or_(PollState.lease_until.is_(None), PollState.lease_until < now),
            Connection.status.in_(("ok", "error")),
            exists().where(and_(Subscription.connection_id == Connection.id, Subscription.status == "active")),
            exists().where(SlackInstallation.team_id == Connection.team_id),
        )
        .order_by(PollState.next_run_at)
        .limit(limit)
        .with_for_update(of=PollState, skip_locked=True)
    )
    stmt = (
        update(PollState)
        .where(PollState.connection_id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease, lease_version=PollState.lease_version + 1)
        .returning(
            PollState.connection_id,
            PollState.lease_version,
            PollState.cursor,
            PollState.last_requests,
            PollState.failures,
            PollState.last_webhook_at,
            PollState.next_sweep_at,
            PollState.sweep_requests,
        )
    )
    rows = (await session.execute(stmt)).all()
    return [Lease(*r) for r in rows]


async def finish(
    session: AsyncSession,
    lease: Lease,
    *,
    cursor: datetime | None,
    next_run_at: datetime,
    now: datetime,
    requests: int,
    error: str | None = None,
) -> bool:
    """Release the lease and record the outcome; False (and nothing written) if the lease was lost."""
    values: dict = {
        "next_run_at": next_run_at,
        "lease_owner": None,
        "lease_until": None,
        "last_poll_at": now,
        "last_requests": max(1, requests),
    }
    if error is None:
        values.update(cursor=cursor, failures=0, last_error=None)
    else:
        values.update(failures=PollState.failures + 1, last_error=error[:500])
    result = await session.execute(
        update(PollState)
        .where(PollState.connection_id == lease.connection_id, PollState.lease_version == lease.version)
        .values(**values)
    )
    return bool(result.rowcount)


async def finish_many(
    session: AsyncSession,
    polls: Sequence[tuple[Lease, datetime, datetime, int]],
    *,
    sweeps: Mapping[int, Sweep] | None = None,
) -> set[int]:
    """`finish` for many successful polls (lease, polled at = new cursor, next run, requests), in two
    statements; returns the connection ids whose leases still held (only those were written).

    `sweeps` holds, by connection id, the sweep state a poll changed; the others keep theirs."""
    sweeps = sweeps or {}
    if not polls:
        return set()
    ids = sorted(lease.connection_id for lease, *_ in polls)
    # FOR UPDATE: a claimer can't take a row between this check and the write (claims SKIP LOCKED rows).
    current = dict(
        (
            await session.execute(
                select(PollState.connection_id, PollState.lease_version)
                .where(PollState.connection_id.in_(ids))
                .order_by(PollState.connection_id)
                .with_for_update()
            )
        ).all()
    )
    ours = [p for p in polls if current.get(p[0].connection_id) == p[0].version]
    if ours:
        table = PollState.__table__  # type: ignore[attr-defined]
        stmt = (
            update(table)
            .where(table.c.connection_id == bindparam("f_id"))
            .values(
                cursor=bindparam("f_at"),
                last_poll_at=bindparam("f_at"),
                next_run_at=bindparam("f_next"),
                last_requests=bindparam("f_requests"),
                next_sweep_at=bindparam("f_sweep_at"),
                sweep_requests=bindparam("f_sweep_requests"),
                lease_owner=None,
                lease_until=None,
                failures=0,
                last_error=None,
            )
        )
        params = []
        for lease, at, next_run, requests in sorted(ours, key=lambda p: p[0].connection_id):
            # Every row names every parameter (one executemany); unchanged sweep state is written back as it was.
            sweep = sweeps.get(lease.connection_id, Sweep(lease.next_sweep_at, lease.sweep_requests))
            params.append(
                {
                    "f_id": lease.connection_id,
                    "f_at": at,
                    "f_next": next_run,
                    "f_requests": max(1, requests),
                    "f_sweep_at": sweep.next_at,
                    "f_sweep_requests": max(1, sweep.requests),
                }
            )
        await session.execute(stmt, params)
    return {lease.connection_id for lease, *_ in ours}


async def states(session: AsyncSession, *, connection_ids: list[int]) -> dict[int, PollState]:
    if not connection_ids:
        return {}
    rows = await session.execute(select(PollState).where(PollState.connection_id.in_(connection_ids)))
    return {row.connection_id: row for row in rows.scalars()}


async def reschedule(session: AsyncSession, *, connection_id: int, next_run_at: datetime) -> None:
    await session.execute(
        update(PollState).where(PollState.connection_id == connection_id).values(next_run_at=next_run_at)
    )


async def webhook_received(session: AsyncSession, *, connection_id: int, at: datetime) -> None:
    """Webhooks are flowing for this connection: its poller may drop to the backstop interval."""
    await session.execute(update(PollState).where(PollState.connection_id == connection_id).values(last_webhook_at=at))


async def defer_key(session: AsyncSession, *, key_id: str, until: datetime) -> None:
    """No connection of this key polls before `until` (WhatConverts' limits are the key's)."""
    of_key = select(Connection.id).where(Connection.key_id == key_id).scalar_subquery()
    await session.execute(
        update(PollState)
        .where(PollState.connection_id.in_(of_key), PollState.next_run_at < until)
        .values(next_run_at=until)
    )
