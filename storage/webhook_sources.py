"""Which (account, profile) of a connection sent new-lead webhooks, when last, and when one missed a lead.

WhatConverts sets webhooks up per profile (an agency key sees many profiles, each with its own
webhook), so freshness is kept per (account, profile); 0 stands for an id the lead didn't give.
A webhook may be set up for some lead types only, or for updates only: a poll that finds a lead
the webhook didn't bring marks the pair `missed_at`, and it isn't trusted again for a while.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebhookSource
from storage.sql import dialect_insert

Source = tuple[int, int]  # (account_id, profile_id)


async def record(session: AsyncSession, *, connection_id: int, sources: Iterable[Source], at: datetime) -> None:
    """Remember that these (account, profile) pairs sent a webhook at `at`."""
    rows = [
        {"connection_id": connection_id, "account_id": account_id, "profile_id": profile_id, "last_at": at}
        for account_id, profile_id in sorted(set(sources))  # sorted: concurrent writers lock rows in one order
    ]
    if not rows:
        return
    table = WebhookSource.__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["connection_id", "account_id", "profile_id"], set_={"last_at": stmt.excluded.last_at}
    )
    await session.execute(stmt, rows)


async def fresh(
    session: AsyncSession, *, connection_ids: list[int], since: datetime, missed_since: datetime | None = None
) -> dict[int, set[Source]]:
    """The pairs of each connection that sent a webhook at or after `since` and missed no lead since `missed_since`."""
    if not connection_ids:
        return {}
    stmt = select(WebhookSource.connection_id, WebhookSource.account_id, WebhookSource.profile_id).where(
        WebhookSource.connection_id.in_(connection_ids), WebhookSource.last_at >= since
    )
    if missed_since is not None:
        stmt = stmt.where(or_(WebhookSource.missed_at.is_(None), WebhookSource.missed_at < missed_since))
    result: dict[int, set[Source]] = {}
    for connection_id, account_id, profile_id in (await session.execute(stmt)).all():
        result.setdefault(connection_id, set()).add((account_id, profile_id))
    return result


async def missed(session: AsyncSession, *, connection_id: int, sources: Iterable[Source], at: datetime) -> None:
    """These pairs' webhooks didn't bring a lead a poll found: note when (pairs never heard from stay unknown)."""
    pairs = sorted(set(sources))
    if not pairs:
        return
    await session.execute(
        update(WebhookSource)
        .where(
            WebhookSource.connection_id == connection_id,
            tuple_(WebhookSource.account_id, WebhookSource.profile_id).in_(pairs),
        )
        .values(missed_at=at)
    )


async def last_missed(session: AsyncSession, *, connection_ids: list[int], since: datetime) -> dict[int, datetime]:
    """Each connection's latest miss at or after `since` (connections without one are left out)."""
    if not connection_ids:
        return {}
    stmt = select(WebhookSource.connection_id, WebhookSource.missed_at).where(
        WebhookSource.connection_id.in_(connection_ids), WebhookSource.missed_at >= since
    )
    result: dict[int, datetime] = {}
    for connection_id, at in (await session.execute(stmt)).all():
        if at is not None and (connection_id not in result or at > result[connection_id]):
            result[connection_id] = at
    return result
