"""Which (account, profile) of a connection sent webhooks, and when last.

WhatConverts sets webhooks up per profile (an agency key sees many profiles, each with its own
webhook), so freshness is kept per (account, profile); 0 stands for an id the lead didn't give.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
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


async def fresh(session: AsyncSession, *, connection_ids: list[int], since: datetime) -> dict[int, set[Source]]:
    """The pairs of each connection that sent a webhook at or after `since`."""
    if not connection_ids:
        return {}
    stmt = select(WebhookSource.connection_id, WebhookSource.account_id, WebhookSource.profile_id).where(
        WebhookSource.connection_id.in_(connection_ids), WebhookSource.last_at >= since
    )
    result: dict[int, set[Source]] = {}
    for connection_id, account_id, profile_id in (await session.execute(stmt)).all():
        result.setdefault(connection_id, set()).add((account_id, profile_id))
    return result
