"""WhatConverts connections, their pending connect links, their keys and the keys' daily request counts."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Connection, ConnectState, QuotaUsage, Subscription
from storage.sql import dialect_insert
from storage.types import utcnow


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --------------------------------------------------------------------------- connect links


async def create_connect_state(session: AsyncSession, *, state: str, **values: Any) -> None:
    session.add(ConnectState(state_hash=hash_token(state), **values))
    await session.flush()


async def peek_connect_state(session: AsyncSession, *, state: str, now: datetime) -> ConnectState | None:
    """The pending link if it exists and hasn't expired (not consumed)."""
    return (
        await session.execute(
            select(ConnectState).where(ConnectState.state_hash == hash_token(state), ConnectState.expires_at > now)
        )
    ).scalar_one_or_none()


async def consume_connect_state(session: AsyncSession, *, state: str, now: datetime) -> ConnectState | None:
    """Delete and return the link; exactly one of several concurrent callers gets it."""
    stmt = (
        delete(ConnectState)
        .where(ConnectState.state_hash == hash_token(state), ConnectState.expires_at > now)
        .returning(ConnectState)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    await session.flush()
    return row


async def purge_expired_connect_states(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(ConnectState).where(ConnectState.expires_at <= now))
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------- connections


async def create_connection(session: AsyncSession, **values: Any) -> Connection:
    connection = Connection(**values)
    session.add(connection)
    await session.flush()
    return connection


async def list_connections(session: AsyncSession, *, team_id: str) -> list[Connection]:
    stmt = select(Connection).where(Connection.team_id == team_id).order_by(Connection.label)
    return list((await session.execute(stmt)).scalars())


async def labels_in_use(session: AsyncSession, *, team_id: str) -> set[str]:
    return set((await session.execute(select(Connection.label).where(Connection.team_id == team_id))).scalars())


async def get_connection(session: AsyncSession, *, connection_id: int, for_update: bool = False) -> Connection | None:
    stmt = select(Connection).where(Connection.id == connection_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_connection(session: AsyncSession, *, connection_id: int) -> bool:
    result = await session.execute(delete(Connection).where(Connection.id == connection_id))
    await session.flush()
    return bool(result.rowcount)


async def delete_team_connections(session: AsyncSession, *, team_id: str) -> int:
    result = await session.execute(delete(Connection).where(Connection.team_id == team_id))
    return int(result.rowcount or 0)


async def set_status(session: AsyncSession, *, connection_id: int, status: str, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if error is not None:
        values.update(last_error=error[:500], last_error_at=utcnow())
    await session.execute(update(Connection).where(Connection.id == connection_id).values(**values))


async def save_oauth_tokens(
    session: AsyncSession,
    *,
    connection: Connection,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
) -> None:
    connection.oauth_access_token = access_token
    connection.oauth_refresh_token = refresh_token
    connection.oauth_expires_at = expires_at
    connection.updated_at = utcnow()
    session.add(connection)
    await session.flush()


# --------------------------------------------------------------------------- keys and quota


async def find_by_key(session: AsyncSession, *, team_id: str, key_id: str) -> Connection | None:
    """The workspace's connection of this key, if it has one."""
    stmt = select(Connection).where(Connection.team_id == team_id, Connection.key_id == key_id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def key_share(session: AsyncSession, *, key_id: str) -> float | None:
    """The quota share set for this key (on any of its connections), None when none was set."""
    stmt = select(func.min(Connection.quota_share)).where(Connection.key_id == key_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_key_share(session: AsyncSession, *, key_id: str, share: float | None) -> int:
    """Set the share on every connection of the key (its budget is one): how many there are."""
    result = await session.execute(
        update(Connection).where(Connection.key_id == key_id).values(quota_share=share, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class KeyMember:
    """One connection using a key, as far as the key's budget is concerned."""

    connection_id: int
    daily_quota: int
    quota_share: float | None
    polling: bool  # healthy or retrying, with an active subscription: its polls spend the key's budget


async def key_members(session: AsyncSession, *, key_ids: Collection[str]) -> dict[str, list[KeyMember]]:
    """Every connection (in any workspace) of each key."""
    if not key_ids:
        return {}
    subscribed = exists().where(Subscription.connection_id == Connection.id, Subscription.status == "active")
    polling = and_(Connection.status.in_(("ok", "error")), subscribed)
    stmt = select(
        Connection.key_id, Connection.id, Connection.daily_quota, Connection.quota_share, polling.label("polling")
    ).where(Connection.key_id.in_(sorted(key_ids)))
    members: dict[str, list[KeyMember]] = {}
    for key_id, *row in (await session.execute(stmt)).all():
        members.setdefault(key_id, []).append(KeyMember(row[0], row[1], row[2], bool(row[3])))
    return members


async def count_requests(session: AsyncSession, *, key_id: str, day: date, requests: int = 1) -> None:
    """Add `requests` to the key's count for `day` (UTC)."""
    await count_requests_many(session, [(key_id, day, requests)])


async def count_requests_many(session: AsyncSession, counts: Sequence[tuple[str, date, int]]) -> None:
    """`count_requests` for many (key, day, requests), summed per (key, day), as one executemany."""
    if not counts:
        return
    totals: dict[tuple[str, date], int] = {}
    for key_id, day, requests in counts:
        totals[(key_id, day)] = totals.get((key_id, day), 0) + requests
    table = QuotaUsage.__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key_id", "day"], set_={"requests": table.c.requests + stmt.excluded.requests}
    )
    # Sorted, so two processes counting the same keys take the rows' locks in the same order.
    params = [{"key_id": k, "day": d, "requests": n} for (k, d), n in sorted(totals.items())]
    await session.execute(stmt, params)


async def requests_on(session: AsyncSession, *, key_ids: Collection[str], day: date) -> dict[str, int]:
    """Requests counted for each key on `day` (UTC); keys with none are left out."""
    if not key_ids:
        return {}
    stmt = select(QuotaUsage.key_id, QuotaUsage.requests).where(
        QuotaUsage.key_id.in_(sorted(key_ids)), QuotaUsage.day == day
    )
    return {key_id: int(n or 0) for key_id, n in (await session.execute(stmt)).all()}


async def purge_quota_usage(session: AsyncSession, *, before: date) -> int:
    result = await session.execute(delete(QuotaUsage).where(QuotaUsage.day < before))
    return int(result.rowcount or 0)


async def unidentified_keys(session: AsyncSession, *, limit: int) -> list[Connection]:
    """API-key connections still counted on a budget of their own (`own:…`): their key is knowable."""
    stmt = (
        select(Connection)
        .where(Connection.kind == "api_key", Connection.key_id.like("own:%"), Connection.api_token.is_not(None))
        .order_by(Connection.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def rekey(session: AsyncSession, *, connection_id: int, old: str, new: str) -> None:
    """Give a connection its key identity; what was counted under the old one joins the key's count."""
    await session.execute(
        update(Connection).where(Connection.id == connection_id, Connection.key_id == old).values(key_id=new)
    )
    moved = (await session.execute(select(QuotaUsage.day, QuotaUsage.requests).where(QuotaUsage.key_id == old))).all()
    await count_requests_many(session, [(new, day, requests) for day, requests in moved])
    await session.execute(delete(QuotaUsage).where(QuotaUsage.key_id == old))


class CardSettings(NamedTuple):
    """What building a connection's cards needs, without decrypting its keys."""

    kind: str
    oauth_scopes: str | None  # with `kind`: whether the cards may carry write buttons
    currency: str
    country: str


async def card_settings(session: AsyncSession, *, connection_ids: list[int]) -> dict[int, CardSettings]:
    if not connection_ids:
        return {}
    stmt = select(
        Connection.id, Connection.kind, Connection.oauth_scopes, Connection.currency, Connection.country
    ).where(Connection.id.in_(connection_ids))
    return {cid: CardSettings(*rest) for cid, *rest in (await session.execute(stmt)).all()}


async def set_locale(session: AsyncSession, *, connection_id: int, currency: str, country: str) -> Connection | None:
    """Set the currency and country the connection's cards use; the row as it now is, None if it's gone."""
    await session.execute(
        update(Connection)
        .where(Connection.id == connection_id)
        .values(currency=currency, country=country, updated_at=utcnow())
    )
    return await get_connection(session, connection_id=connection_id)


async def get_connections(session: AsyncSession, *, connection_ids: list[int]) -> dict[int, Connection]:
    if not connection_ids:
        return {}
    rows = await session.execute(select(Connection).where(Connection.id.in_(connection_ids)))
    return {row.id: row for row in rows.scalars() if row.id is not None}


async def find_by_webhook(session: AsyncSession, *, token_hash: str) -> Connection | None:
    """The connection a webhook URL belongs to (looked up by the token's hash, never the token)."""
    stmt = select(Connection).where(Connection.webhook_token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_webhook_token(session: AsyncSession, *, connection_id: int, token: str) -> None:
    await session.execute(
        update(Connection)
        .where(Connection.id == connection_id)
        .values(webhook_token=token, webhook_token_hash=hash_token(token), updated_at=utcnow())
    )
