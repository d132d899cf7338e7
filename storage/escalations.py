"""Escalations: a posted card's reminders when nobody takes its lead, claimed with SKIP LOCKED like deliveries.

A row is written when a card of a `+sla` subscription is posted, due at the post time plus the
SLA. Sweeps (every process runs them) claim the due open rows: a row whose lead is claimed
(`lead_claims.claimed_by` set) is closed there and then, the others are leased to the sweep by
moving `due_at` to the end of the lease. So the partial index on the open rows' `due_at` is all
a sweep reads, however many cards wait for their deadline; a sweep that dies leaves its rows to
come due again when the lease ends (marked `uncertain`: its reply may have gone out).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, Escalation, LeadClaim
from storage.sql import dialect_insert

OPEN = "open"


async def schedule(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Start escalations (`delivery_id`, `team_id`, `lead_id`, `posted_at`, `due_at`); a card's first post wins."""
    if not rows:
        return
    table = Escalation.__table__  # type: ignore[attr-defined]
    defaults = {"state": OPEN, "step": 0, "attempts": 0, "uncertain": False}
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["delivery_id"])
    await session.execute(stmt, [{**defaults, **row} for row in rows])


def _lead_claimed() -> Any:
    """Someone has the escalation's lead now (a released claim keeps its row with `claimed_by` NULL)."""
    return exists().where(
        LeadClaim.team_id == Escalation.team_id,
        LeadClaim.lead_id == Escalation.lead_id,
        LeadClaim.claimed_by.is_not(None),
    )


def due(*, now: datetime, limit: int) -> Any:
    """The sweep's query: the first `limit` open escalations due by `now`, each with whether its lead
    is claimed, locked (PostgreSQL) and skipping rows another sweep holds. Reads the partial index
    on the open rows' `due_at` and the claims' primary key, nothing else."""
    return (
        select(Escalation.delivery_id, _lead_claimed().label("taken"))
        .where(Escalation.state == OPEN, Escalation.due_at <= now)
        .order_by(Escalation.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Escalation)
    )


async def claim(
    session: AsyncSession, *, owner: str, now: datetime, limit: int, lease_until: datetime
) -> tuple[list[tuple[Escalation, Delivery]], int]:
    """Take up to `limit` due escalations, oldest first: those whose lead is claimed are closed
    (`claimed`), the rest leased to `owner` until `lease_until`. Returns the leased ones with their
    card's delivery, and how many were closed."""
    found = (await session.execute(due(now=now, limit=limit))).all()
    taken = [row.delivery_id for row in found if row.taken]
    wanted = [row.delivery_id for row in found if not row.taken]
    # Each update re-checks that the row is still open and due: without row locks (SQLite), a sweep
    # that read the same rows first has moved them on, and this one gets none of them.
    still_due = and_(Escalation.state == OPEN, Escalation.due_at <= now)
    closed = 0
    if taken:
        result = await session.execute(
            update(Escalation)
            .where(Escalation.delivery_id.in_(taken), still_due)
            .values(state="claimed", lease_owner=None, hold=None)
            .returning(Escalation.delivery_id)
        )
        closed = len(result.all())
    if not wanted:
        return [], closed
    leased = await session.execute(
        update(Escalation)
        .where(Escalation.delivery_id.in_(wanted), still_due)
        .values(
            # Due with a lease on it: the sweep that held it died, maybe mid-send.
            uncertain=case((Escalation.lease_owner.is_not(None), True), else_=Escalation.uncertain),
            lease_owner=owner,
            due_at=lease_until,
        )
        .returning(Escalation.delivery_id)
    )
    wanted = [row[0] for row in leased.all()]
    if not wanted:
        return [], closed
    stmt = (
        select(Escalation, Delivery)
        .join(Delivery, Delivery.id == Escalation.delivery_id)
        .where(Escalation.delivery_id.in_(wanted))
        .order_by(Escalation.delivery_id)
        .execution_options(populate_existing=True)
    )
    return [(e, d) for e, d in (await session.execute(stmt)).all()], closed


async def extend_leases(session: AsyncSession, *, owner: str, until: dict[int, datetime]) -> None:
    """Keep each leased escalation ours until its send slot has passed (one executemany)."""
    if not until:
        return
    table = Escalation.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.delivery_id == bindparam("e_id"), table.c.lease_owner == bindparam("e_owner"))
        .values(due_at=bindparam("e_until"))
    )
    await session.execute(stmt, [{"e_id": i, "e_owner": owner, "e_until": t} for i, t in sorted(until.items())])


def _leased(delivery_ids: Sequence[int], owner: str) -> Any:
    """The open escalations among these that `owner` still holds (a lost lease writes nothing)."""
    return and_(
        Escalation.delivery_id.in_(list(delivery_ids)), Escalation.lease_owner == owner, Escalation.state == OPEN
    )


async def mark_sent(
    session: AsyncSession, *, delivery_id: int, owner: str, step: int, at: datetime, next_due: datetime | None
) -> None:
    """Reply `step` (1 or 2) is posted; the next is due at `next_due`, or none is left (done)."""
    sent = {"first_sent_at": at} if step == 1 else {"second_sent_at": at}
    await session.execute(
        update(Escalation)
        .where(_leased([delivery_id], owner))
        .values(
            step=step,
            state=OPEN if next_due is not None else "done",
            due_at=next_due if next_due is not None else Escalation.due_at,
            lease_owner=None,
            hold=None,
            attempts=0,
            uncertain=False,
            last_error=None,
            **sent,
        )
    )


async def reschedule(
    session: AsyncSession,
    *,
    delivery_ids: Sequence[int],
    owner: str,
    at: datetime,
    error: str | None = None,
    hold: str | None = None,
    failed: bool = False,
) -> None:
    """Put leased escalations back, due at `at`: held (quiet hours), waiting (a rate limit, a token),
    or after a failed send (`failed` counts an attempt)."""
    if not delivery_ids:
        return
    await session.execute(
        update(Escalation)
        .where(_leased(delivery_ids, owner))
        .values(
            due_at=at,
            lease_owner=None,
            hold=hold,
            last_error=error[:255] if error else None,
            attempts=Escalation.attempts + 1 if failed else Escalation.attempts,
        )
    )


async def close(session: AsyncSession, *, delivery_ids: Sequence[int], owner: str, state: str, error: str) -> None:
    """Stop leased escalations for good (`stopped`, `failed`), saying why."""
    if not delivery_ids:
        return
    await session.execute(
        update(Escalation)
        .where(_leased(delivery_ids, owner))
        .values(state=state, lease_owner=None, hold=None, last_error=error[:255])
    )
