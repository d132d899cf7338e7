"""Subscriptions: which channel gets which connection's leads, and their state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Delivery, PollState, Subscription
from storage.sql import dialect_insert
from storage.types import utcnow


async def create_subscription(session: AsyncSession, **values: Any) -> Subscription:
    """Add a subscription and make sure its connection is polled from now on."""
    subscription = Subscription(**values)
    session.add(subscription)
    await session.flush()
    await ensure_poll_state(session, connection_id=subscription.connection_id, cursor=subscription.start_at)
    return subscription


async def ensure_poll_state(session: AsyncSession, *, connection_id: int, cursor: datetime) -> None:
    """A connection with no poll state starts at `cursor`; an existing one keeps its place."""
    table = PollState.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect_insert(session, table)
        .values(connection_id=connection_id, cursor=cursor, next_run_at=utcnow(), lease_version=0)
        .on_conflict_do_nothing(index_elements=["connection_id"])
    )
    await session.execute(stmt)


async def list_subscriptions(
    session: AsyncSession, *, team_id: str, channel_id: str | None = None
) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.team_id == team_id)
    if channel_id is not None:
        stmt = stmt.where(Subscription.channel_id == channel_id)
    return list((await session.execute(stmt.order_by(Subscription.id))).scalars())


async def get_subscription(session: AsyncSession, *, subscription_id: int) -> Subscription | None:
    return await session.get(Subscription, subscription_id, populate_existing=True)


async def active_for_connections(session: AsyncSession, *, connection_ids: list[int]) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.connection_id.in_(connection_ids), Subscription.status == "active")
    return list((await session.execute(stmt.order_by(Subscription.id))).scalars())


async def in_channels(
    session: AsyncSession, *, channels: Sequence[tuple[str, str]], active_only: bool = False
) -> list[Subscription]:
    """Every subscription (of any connection) posting to these (team, channel) pairs, oldest first."""
    if not channels:
        return []
    wanted = set(channels)
    stmt = select(Subscription).where(Subscription.channel_id.in_(sorted({c for _, c in wanted})))
    if active_only:
        stmt = stmt.where(Subscription.status == "active")
    rows = (await session.execute(stmt.order_by(Subscription.id))).scalars()
    return [row for row in rows if (row.team_id, row.channel_id) in wanted]


async def _hand_over(session: AsyncSession, leaving: list[Subscription], *, active_heirs: bool) -> None:
    """Pass the cards of subscriptions that stop to the ones of their channel merged into them."""
    if not leaving:
        return
    channels = sorted({(s.team_id, s.channel_id) for s in leaving})
    heirs = await in_channels(session, channels=channels, active_only=active_heirs)
    await outbox.hand_over(session, leaving=[s.id or 0 for s in leaving], heirs=heirs, now=utcnow())


async def delete_subscriptions(session: AsyncSession, *, team_id: str, ids: list[int]) -> int:
    leaving = [s for s in (await get_many(session, ids=ids)).values() if s.team_id == team_id]
    await _hand_over(session, leaving, active_heirs=False)
    result = await session.execute(
        delete(Subscription).where(Subscription.team_id == team_id, Subscription.id.in_(ids))
    )
    return int(result.rowcount or 0)


async def set_status(
    session: AsyncSession, *, subscription_id: int, status: str, reason: str | None = None
) -> Subscription | None:
    """Change a subscription's state; a broken one's waiting deliveries are parked with the reason,
    a paused one's cards go to an active subscription of the channel that matched them too."""
    if status == "paused":
        current = await get_subscription(session, subscription_id=subscription_id)
        if current is not None and current.status == "active":
            await _hand_over(session, [current], active_heirs=True)
    await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id)
        .values(status=status, broken_reason=reason, updated_at=utcnow())
    )
    if status == "broken":
        await session.execute(
            update(Delivery)
            .where(Delivery.subscription_id == subscription_id, Delivery.status.in_(("pending", "sending")))
            .values(status="failed", last_error=(reason or "subscription broken")[:255], claimed_by=None)
        )
    return await get_subscription(session, subscription_id=subscription_id)


async def mark_broken(session: AsyncSession, *, subscription_id: int, reason: str) -> bool:
    """Break an active subscription (parking its deliveries); True only for the caller that changed it."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.status == "active")
        .values(status="broken", broken_reason=reason[:255], updated_at=utcnow())
    )
    if not result.rowcount:
        return False
    await set_status(session, subscription_id=subscription_id, status="broken", reason=reason)
    return True


async def get_many(session: AsyncSession, *, ids: list[int]) -> dict[int, Subscription]:
    if not ids:
        return {}
    rows = await session.execute(select(Subscription).where(Subscription.id.in_(ids)))
    return {row.id: row for row in rows.scalars() if row.id is not None}


async def update_subscription(
    session: AsyncSession, *, team_id: str, subscription_id: int, **values: Any
) -> Subscription | None:
    """Change an existing subscription (an edit from the Home tab); None if it is gone."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.team_id == team_id)
        .values(**values, updated_at=utcnow())
    )
    if not result.rowcount:
        return None
    return await get_subscription(session, subscription_id=subscription_id)


async def with_schedules(session: AsyncSession) -> list[Subscription]:
    """Active subscriptions that have a digest or quiet hours (their filters say so)."""
    stmt = select(Subscription).where(
        Subscription.status == "active",
        # Stored filters are canonical JSON: a set digest is a string, set quiet hours a list.
        or_(Subscription.filters_json.contains('"digest":"'), Subscription.filters_json.contains('"quiet":[')),
    )
    return list((await session.execute(stmt)).scalars())


async def claim_digest(session: AsyncSession, *, subscription_id: int, day: date) -> bool:
    """Record that `day`'s digest is being posted; True for exactly one instance."""
    result = await session.execute(
        update(Subscription)
        .where(
            Subscription.id == subscription_id,
            or_(Subscription.last_digest_on.is_(None), Subscription.last_digest_on < day),
        )
        .values(last_digest_on=day)
    )
    return bool(result.rowcount)
