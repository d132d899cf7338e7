"""Who took which lead from its card ("I'll take it"), and the records speed to lead is measured from.

`lead_claims` holds one row per (workspace, lead): `claimed_by` is who has it now (None once
released), `first_claimed_*` never change, `arrived_at` is when its first card was posted. Anything
else that asks "is this lead claimed?" (escalation, Home) reads `claimed_by IS NOT NULL`.

Every change is one conditional statement, so presses made at the same instant, in any number of
processes, on SQLite or PostgreSQL, leave exactly one holder: taking is an upsert that only touches
a row nobody holds, and a release or hand-over applies only while the holder is still the one the
caller read (compare and set). The caller owns the transaction.

A lead's arrival is its first posted card: a delivery with `sent_at`, not a summary line
(`summarized`) nor a row another card stands for (`merged`). Deliveries are forgotten after the
retention (`purge_sent`), so anything measured from them covers that window at most.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, LeadClaim, Subscription
from storage.sql import dialect_insert

CHUNK = 500


def _posted() -> Any:
    """A delivery whose card is in Slack (or was): posted once, not a summary line nor a merged row."""
    return and_(Delivery.sent_at.is_not(None), Delivery.status.not_in(("summarized", "merged")))


def _of_lead(team_id: str, lead_id: int) -> Any:
    # Through the team's subscriptions: (subscription_id, lead_id) is the outbox's unique index,
    # so this finds a lead's rows without reading the workspace's whole outbox.
    team_subs = select(Subscription.id).where(Subscription.team_id == team_id).scalar_subquery()
    return and_(Delivery.subscription_id.in_(team_subs), Delivery.lead_id == lead_id, Delivery.team_id == team_id)


@dataclass(frozen=True)
class Taken:
    """The outcome of pressing "I'll take it": `won`, and the claim as it now stands (whoever holds it)."""

    won: bool
    claim: LeadClaim


async def first_card_at(session: AsyncSession, *, team_id: str, lead_id: int) -> datetime | None:
    """When the lead's first card in the workspace was posted; None if none is on record."""
    stmt = select(func.min(Delivery.sent_at)).where(_of_lead(team_id, lead_id), _posted())
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, *, team_id: str, lead_id: int) -> LeadClaim | None:
    stmt = select(LeadClaim).where(LeadClaim.team_id == team_id, LeadClaim.lead_id == lead_id)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def take(
    session: AsyncSession, *, team_id: str, lead_id: int, user_id: str, arrived_at: datetime, now: datetime
) -> Taken:
    """Claim the lead for `user_id` unless someone holds it: a first claim, or a new one after a release.

    One statement: concurrent presses queue on the row (PostgreSQL) or the write lock (SQLite), and
    only a row with no holder is taken, so exactly one of them wins.
    """
    table = LeadClaim.__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(session, table).values(
        team_id=team_id,
        lead_id=lead_id,
        claimed_by=user_id,
        claimed_at=now,
        first_claimed_by=user_id,
        first_claimed_at=now,
        arrived_at=arrived_at,
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "lead_id"],
        set_={"claimed_by": user_id, "claimed_at": now, "updated_at": now},
        where=table.c.claimed_by.is_(None),
    ).returning(table.c.team_id)
    won = (await session.execute(stmt)).first() is not None
    claim = await get(session, team_id=team_id, lead_id=lead_id)
    assert claim is not None  # inserted, updated, or held by someone else: the row exists
    return Taken(won=won, claim=claim)


async def _change_holder(
    session: AsyncSession, *, team_id: str, lead_id: int, holder: str, to: str | None, now: datetime
) -> LeadClaim | None:
    stmt = (
        update(LeadClaim)
        .where(LeadClaim.team_id == team_id, LeadClaim.lead_id == lead_id, LeadClaim.claimed_by == holder)
        .values(claimed_by=to, claimed_at=now if to is not None else None, updated_at=now)
        .returning(LeadClaim.team_id)
    )
    if (await session.execute(stmt)).first() is None:
        return None
    return await get(session, team_id=team_id, lead_id=lead_id)


async def release(session: AsyncSession, *, team_id: str, lead_id: int, holder: str, now: datetime) -> LeadClaim | None:
    """Nobody holds the lead any more, if `holder` still did; None (nothing changed) otherwise."""
    return await _change_holder(session, team_id=team_id, lead_id=lead_id, holder=holder, to=None, now=now)


async def hand_over(
    session: AsyncSession, *, team_id: str, lead_id: int, holder: str, to: str, now: datetime
) -> LeadClaim | None:
    """`to` holds the lead from now, if `holder` still did; None (nothing changed) otherwise."""
    return await _change_holder(session, team_id=team_id, lead_id=lead_id, holder=holder, to=to, now=now)


async def of_leads(session: AsyncSession, *, leads: Collection[tuple[str, int]]) -> dict[tuple[str, int], LeadClaim]:
    """The claims (held or released) of these (team, lead) pairs, for drawing their cards."""
    by_team: dict[str, list[int]] = {}
    for team_id, lead_id in sorted(set(leads)):
        by_team.setdefault(team_id, []).append(lead_id)
    found: dict[tuple[str, int], LeadClaim] = {}
    for team_id, lead_ids in by_team.items():
        for i in range(0, len(lead_ids), CHUNK):
            stmt = select(LeadClaim).where(LeadClaim.team_id == team_id, LeadClaim.lead_id.in_(lead_ids[i : i + CHUNK]))
            for claim in (await session.execute(stmt)).scalars():
                found[(claim.team_id, claim.lead_id)] = claim
    return found


async def refresh_cards(session: AsyncSession, *, team_id: str, lead_id: int, now: datetime) -> int:
    """Have the sender redraw every card of the lead in the workspace (its claim changed); how many.

    Posted cards become due edits; a card being posted or edited right now is flagged too, so the
    sender draws it once more after the send it is in (which may have read the claim before this).
    """
    result = await session.execute(
        update(Delivery)
        .where(_of_lead(team_id, lead_id), Delivery.status.in_(("sent", "sending", "updating")))
        .values(needs_update=True, next_attempt_at=now)
        .returning(Delivery.id)
    )
    return len(result.all())


@dataclass(frozen=True)
class Posted:
    """A lead whose card was posted, and when its first card was."""

    lead_id: int
    arrived_at: datetime


async def posted_leads(
    session: AsyncSession, *, team_id: str, since: datetime, until: datetime, connection_id: int | None = None
) -> list[Posted]:
    """Leads whose first card in the workspace was posted in [since, until), oldest first; with
    `connection_id`, only that connection's leads."""
    stmt = select(Delivery.lead_id, func.min(Delivery.sent_at)).where(Delivery.team_id == team_id, _posted())
    if connection_id is not None:
        subs = select(Subscription.id).where(Subscription.connection_id == connection_id).scalar_subquery()
        stmt = stmt.where(Delivery.subscription_id.in_(subs))
    first = func.min(Delivery.sent_at)
    stmt = stmt.group_by(Delivery.lead_id).having(first >= since, first < until).order_by(first, Delivery.lead_id)
    return [Posted(lead_id, arrived) for lead_id, arrived in (await session.execute(stmt)).all()]


async def of_team(session: AsyncSession, *, team_id: str, lead_ids: Collection[int]) -> dict[int, LeadClaim]:
    """The claims (held or released) of these leads of one workspace, by lead id."""
    found = await of_leads(session, leads=[(team_id, lead_id) for lead_id in lead_ids])
    return {lead_id: claim for (_, lead_id), claim in found.items()}


@dataclass(frozen=True)
class Waiting:
    """A lead whose card is posted and nobody holds: its first card (channel, ts), and the lead as last known."""

    lead_id: int
    arrived_at: datetime
    channel_id: str
    message_ts: str | None
    lead_json: str


async def unclaimed(session: AsyncSession, *, team_id: str, limit: int) -> tuple[int, list[Waiting]]:
    """How many posted leads of the workspace nobody holds right now, and the `limit` oldest of them."""
    held = exists().where(
        LeadClaim.team_id == Delivery.team_id, LeadClaim.lead_id == Delivery.lead_id, LeadClaim.claimed_by.is_not(None)
    )
    first = func.min(Delivery.sent_at).label("arrived")
    groups = (
        select(Delivery.lead_id, first).where(Delivery.team_id == team_id, _posted(), ~held).group_by(Delivery.lead_id)
    ).subquery()
    total = (await session.execute(select(func.count()).select_from(groups))).scalar_one()
    by_age = select(groups.c.lead_id, groups.c.arrived).order_by(groups.c.arrived, groups.c.lead_id)
    oldest = (await session.execute(by_age.limit(limit))).all()
    if not oldest:
        return int(total), []
    cards = select(Delivery.lead_id, Delivery.sent_at, Delivery.channel_id, Delivery.message_ts, Delivery.lead_json)
    cards = cards.where(Delivery.team_id == team_id, Delivery.lead_id.in_([row[0] for row in oldest]), _posted())
    first_card: dict[int, Any] = {}
    for row in (await session.execute(cards.order_by(Delivery.sent_at, Delivery.id))).all():
        first_card.setdefault(row.lead_id, row)
    waiting = [
        Waiting(lead_id, arrived, card.channel_id, card.message_ts, card.lead_json)
        for lead_id, arrived in oldest
        if (card := first_card.get(lead_id)) is not None
    ]
    return int(total), waiting


async def lead_copies(session: AsyncSession, *, team_id: str, lead_ids: Collection[int]) -> dict[int, str]:
    """The latest stored copy of each lead (its JSON), for sorting posted leads by source."""
    found: dict[int, tuple[Any, int, str]] = {}
    ids = sorted(set(lead_ids))
    for i in range(0, len(ids), CHUNK):
        stmt = select(Delivery.lead_id, Delivery.lead_updated_at, Delivery.id, Delivery.lead_json).where(
            Delivery.team_id == team_id, Delivery.lead_id.in_(ids[i : i + CHUNK])
        )
        for lead_id, updated, row_id, lead_json in (await session.execute(stmt)).all():
            key = (updated.timestamp() if updated else 0.0, row_id)
            if lead_id not in found or key > found[lead_id][:2]:
                found[lead_id] = (*key, lead_json)
    return {lead_id: value[2] for lead_id, value in found.items()}
