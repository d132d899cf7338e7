"""The delivery outbox: enqueue once per (subscription, lead), claim with SKIP LOCKED, pace per channel.

A lead several subscriptions of one channel match has one row that posts its card and a `merged`
row for each other subscription (bot.alerts.routing): merged rows are never claimed, they record which
subscriptions' options the card carries and take the card over if its subscription goes.

Senders claim a few due deliveries per channel, reserve send slots for them in `channel_pace`
(shared by every process, so a channel gets about one message per second in all), and record
each outcome. A row left `sending` past its claim (a crashed sender) is claimed again and marked
uncertain: Slack has no idempotency key, so that resend may duplicate the message.

Why one module: every function is about the outbox table and its pacing rows; claiming, pacing and
recording share the claim's SQL for both dialects, and are read together when one changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelPace, Connection, Delivery, Escalation, Subscription
from storage.sql import dialect_insert


async def enqueue(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert deliveries in one statement; an existing (subscription, lead) is left alone."""
    if not rows:
        return 0
    table = Delivery.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect_insert(session, table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["subscription_id", "lead_id"])
        .returning(table.c.id)
    )
    return len((await session.execute(stmt)).all())


_ROW_DEFAULTS = {"hold": None, "claimed_by": None, "claim_until": None, "message_ts": None, "last_error": None,
                 "sent_at": None, "shown_json": None, "notes_json": "[]", "card_channel_id": None}  # fmt: skip


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """executemany needs every row to name every column the statement sets."""
    return {**_ROW_DEFAULTS, **row}


async def upsert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Enqueue new leads and record newer versions of known ones, in one statement.

    A newer version (a later `lead_updated_at`) replaces the stored lead and, if its card is
    already posted, flags the row for an in-place edit. Returns how many rows were written.
    """
    if not rows:
        return 0
    table = Delivery.__table__  # type: ignore[attr-defined]
    # Rows go as executemany parameters, not inline VALUES: the statement then compiles once and is
    # cached, whatever the batch size (SQLAlchemy's "insertmanyvalues" still sends few round trips).
    stmt = dialect_insert(session, table)
    existing = table.c.lead_updated_at
    stmt = stmt.on_conflict_do_update(
        index_elements=["subscription_id", "lead_id"],
        set_={
            "lead_json": stmt.excluded.lead_json,
            "lead_updated_at": stmt.excluded.lead_updated_at,
            # Spelled out: executemany can't expand an IN list.
            "needs_update": or_(table.c.needs_update, table.c.status == "sent", table.c.status == "updating"),
            "next_attempt_at": stmt.excluded.next_attempt_at,
        },
        # Newer, or the same second with different content (WhatConverts' timestamps have whole seconds).
        where=or_(
            existing.is_(None),
            stmt.excluded.lead_updated_at > existing,
            and_(stmt.excluded.lead_updated_at == existing, stmt.excluded.lead_json != table.c.lead_json),
        ),
    )
    # Counted from RETURNING: a driver's rowcount for executemany is -1 on asyncpg (an unknown count
    # read as "no update": the poll's report then said no card was edited).
    result = await session.execute(stmt.returning(table.c.id), [_complete(row) for row in rows])
    return len(result.all())


async def known_leads(
    session: AsyncSession, *, subscription_ids: list[int], lead_ids: list[int]
) -> set[tuple[int, int]]:
    """Which (subscription, lead) pairs already have a delivery."""
    if not subscription_ids or not lead_ids:
        return set()
    stmt = select(Delivery.subscription_id, Delivery.lead_id).where(
        Delivery.subscription_id.in_(subscription_ids), Delivery.lead_id.in_(lead_ids)
    )
    return {(a, b) for a, b in (await session.execute(stmt)).all()}


async def merged_leads(
    session: AsyncSession, *, subscription_ids: list[int], lead_ids: list[int]
) -> list[tuple[int, str, str, int]]:
    """(subscription, team, channel, lead) of the `merged` rows among these: leads another row posts."""
    if not subscription_ids or not lead_ids:
        return []
    stmt = select(Delivery.subscription_id, Delivery.team_id, Delivery.channel_id, Delivery.lead_id).where(
        Delivery.subscription_id.in_(subscription_ids), Delivery.lead_id.in_(lead_ids), Delivery.status == "merged"
    )
    return [(s, t, c, lead) for s, t, c, lead in (await session.execute(stmt)).all()]


# The rows that are (or will be) a channel's card for a lead, or its line in a summary.
_HANDED_OVER = ("pending", "sending", "held", "sent", "updating")


async def hand_over(
    session: AsyncSession, *, leaving: Sequence[int], heirs: Sequence[Subscription], now: datetime
) -> int:
    """Give the cards of subscriptions that stop (removed or paused) to subscriptions merged into them.

    When several subscriptions of a channel match a lead, one row posts the card and the others
    are `merged` rows (see bot.alerts.routing). If the posting subscription goes, the card is handed to
    the first heir (by id) with a merged row for that lead: the row itself moves (its message_ts,
    claim and notes with it) and the heir's merged row is dropped, so later edits still find the
    one card, and a lead still waiting (pending, or held) is posted for the heir. A lead held for
    a digest stays held only if the heir has a digest too; any other held lead becomes due and
    the sender applies the heir's quiet hours afresh. Returns how many rows moved.
    """
    leaving_ids = set(leaving)
    heir_by_id = {h.id: h for h in heirs if h.id is not None and h.id not in leaving_ids}
    if not leaving_ids or not heir_by_id:
        return 0
    stmt = select(Delivery.id, Delivery.team_id, Delivery.channel_id, Delivery.lead_id, Delivery.status, Delivery.hold)
    owned = (
        await session.execute(
            stmt.where(Delivery.subscription_id.in_(sorted(leaving_ids)), Delivery.status.in_(_HANDED_OVER))
        )
    ).all()
    if not owned:
        return 0
    merged: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
    for lead_ids in _chunks(sorted({row.lead_id for row in owned})):
        found = select(Delivery.id, Delivery.subscription_id, Delivery.team_id, Delivery.channel_id, Delivery.lead_id)
        found = found.where(
            Delivery.subscription_id.in_(sorted(heir_by_id)),
            Delivery.lead_id.in_(lead_ids),
            Delivery.status == "merged",
        )
        for row_id, sub_id, team_id, channel_id, lead_id in (await session.execute(found)).all():
            merged.setdefault((team_id, channel_id, lead_id), []).append((sub_id, row_id))
    dropped: list[int] = []
    moves: list[dict[str, Any]] = []
    for row in owned:
        candidates = sorted(merged.get((row.team_id, row.channel_id, row.lead_id), []))
        if not candidates:
            continue
        heir_id, merged_row = candidates[0]
        dropped.append(merged_row)
        status, hold = row.status, row.hold
        if status == "held" and not (hold == "digest" and _has_digest(heir_by_id[heir_id].filters_json)):
            status, hold = "pending", None
        moves.append({"h_id": row.id, "h_sub": heir_id, "h_status": status, "h_hold": hold, "h_at": now})
    if not moves:
        return 0
    await session.execute(delete(Delivery).where(Delivery.id.in_(dropped)))
    table = Delivery.__table__  # type: ignore[attr-defined]
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("h_id"))
        .values(
            subscription_id=bindparam("h_sub"),
            status=bindparam("h_status"),
            hold=bindparam("h_hold"),
            # A held row made due by the move goes out now (the time of a held row means nothing).
            next_attempt_at=case((table.c.status == "held", bindparam("h_at")), else_=table.c.next_attempt_at),
        ),
        moves,
    )
    return len(moves)


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


async def latest_lead_json(session: AsyncSession, *, subscription_ids: list[int], lead_id: int) -> str | None:
    """The most recent stored copy of a lead (to complete a partial `update` webhook)."""
    if not subscription_ids:
        return None
    stmt = (
        select(Delivery.lead_json)
        .where(Delivery.subscription_id.in_(subscription_ids), Delivery.lead_id == lead_id)
        .order_by(Delivery.lead_updated_at.desc().nulls_last(), Delivery.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


CLAIM_LOCK = 0x57435344  # "WCSD": the advisory lock delivery claims take turns on (PostgreSQL)


def _due(now: datetime, *, inactive: Sequence[int] | None = None) -> Any:
    """Deliveries ready to send (or to edit, or to take over from a dead sender) of active subscriptions.

    With `inactive` (the ids of subscriptions not active, read first), the test touches only the
    deliveries table: joined to subscriptions, PostgreSQL with statistics older than a burst drove
    the plan from subscriptions and rescanned the due index once per subscription (seconds).
    """
    if inactive is None:
        active: Any = Delivery.subscription_id.in_(
            select(Subscription.id).where(Subscription.status == "active").scalar_subquery()
        )
    else:
        active = Delivery.subscription_id.not_in(inactive) if inactive else true()
    return and_(
        active,
        or_(
            and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
            and_(Delivery.status.in_(("sending", "updating")), Delivery.claim_until < now),
            # A posted card whose lead changed: edit it in place.
            and_(Delivery.status == "sent", Delivery.needs_update.is_(True), Delivery.next_attempt_at <= now),
        ),
    )


async def claim(
    session: AsyncSession, *, owner: str, now: datetime, limit: int, per_channel: int, ttl: timedelta
) -> list[Delivery]:
    """Claim up to `limit` due deliveries, at most `per_channel` per channel, oldest first.

    A channel another sender is posting to is left to it: pacing within a process is exact (it
    knows when its last post was answered), across processes it is only as good as their clocks
    and their lateness, and two processes sharing a burst's channels drew 429s.
    """
    if session.bind.dialect.name == "postgresql":
        # Claims take turns (for milliseconds), so each sees the channels the others have claimed.
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    # The channels other senders have in flight: few rows, read once, rather than a correlated
    # NOT EXISTS that PostgreSQL ran once per candidate row.
    busy_stmt = (
        select(Delivery.team_id, Delivery.channel_id)
        .where(Delivery.status.in_(("sending", "updating")), Delivery.claim_until >= now, Delivery.claimed_by != owner)
        .distinct()
    )
    busy = [tuple(row) for row in (await session.execute(busy_stmt)).all()]
    inactive = list((await session.execute(select(Subscription.id).where(Subscription.status != "active"))).scalars())
    ranked = (
        select(
            Delivery.id,
            func.row_number()
            .over(partition_by=(Delivery.team_id, Delivery.channel_id), order_by=Delivery.id)
            .label("rank"),
        )
        .where(
            _due(now, inactive=inactive),
            *([tuple_(Delivery.team_id, Delivery.channel_id).not_in(busy)] if busy else []),
        )
        .subquery()
    )
    # Rank first: every channel's next post before any channel's second, so a limit smaller than
    # the backlog serves all channels a little rather than a few channels fully (the busiest
    # channel sets the burst's length; a starved one would double it).
    candidates = (
        select(ranked.c.id).where(ranked.c.rank <= per_channel).order_by(ranked.c.rank, ranked.c.id).limit(limit)
    )
    # Three plain statements rather than one nested one: PostgreSQL planned the nested form badly
    # under a growing backlog (0.3 s to 9 s per claim); each of these has one obvious plan.
    ids = list((await session.execute(candidates)).scalars())
    if not ids:
        return []
    locked = select(Delivery.id).where(Delivery.id.in_(ids)).with_for_update(skip_locked=True)
    ids = list((await session.execute(locked)).scalars())
    if not ids:
        return []
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(ids), _due(now, inactive=inactive))
        .values(
            # Claimed again while `sending`: the previous sender died mid-send, the outcome is unknown.
            uncertain=case((Delivery.status == "sending", True), else_=Delivery.uncertain),
            # Edits keep their own state so a crash mid-edit is retried as an edit, never a repost.
            status=case((Delivery.status.in_(("sent", "updating")), "updating"), else_="sending"),
            claimed_by=owner,
            claim_until=now + ttl,
            # A new edit of a posted card (each claim, release or change of the lead) counts its own
            # attempts; a retried one (its last try left an error) goes on counting toward the bound.
            attempts=case(
                (and_(Delivery.status == "sent", Delivery.last_error.is_(None)), 1), else_=Delivery.attempts + 1
            ),
            # The send draws the card as it is now; whoever asks for a redraw from here on (a claim
            # taken mid-send) sets this again, and the mark keeps it for one more edit.
            needs_update=False,
        )
        .returning(Delivery)
    )
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


async def reserve_slots(
    session: AsyncSession, *, counts: dict[tuple[str, str], int], now: float, spacing: float
) -> dict[tuple[str, str], float]:
    """Reserve `count` consecutive send slots per (team, channel) in one statement; returns each first slot."""
    if not counts:
        return {}
    table = ChannelPace.__table__  # type: ignore[attr-defined]
    rows = [{"team_id": t, "channel_id": c, "next_slot": now + n * spacing} for (t, c), n in counts.items()]
    stmt = dialect_insert(session, table).values(rows)
    # excluded.next_slot - now carries this row's count * spacing through the upsert.
    start = case((table.c.next_slot > now, table.c.next_slot), else_=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "channel_id"], set_={"next_slot": start + (stmt.excluded.next_slot - now)}
    ).returning(table.c.team_id, table.c.channel_id, table.c.next_slot)
    result = (await session.execute(stmt)).all()
    return {(t, c): end - counts[(t, c)] * spacing for t, c, end in result}


async def extend_claims(session: AsyncSession, *, owner: str, until: dict[int, float]) -> None:
    """Set each claimed delivery's claim expiry (epoch seconds), as one executemany."""
    if not until:
        return
    table = Delivery.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("c_id"), table.c.claimed_by == bindparam("c_owner"))
        .values(claim_until=bindparam("c_until"))
    )
    params = [
        {"c_id": i, "c_owner": owner, "c_until": datetime.fromtimestamp(t, UTC)} for i, t in sorted(until.items())
    ]
    await session.execute(stmt, params)


async def push_back_channel(session: AsyncSession, *, team_id: str, channel_id: str, until: float) -> None:
    """Slack said 429 for this channel (or a post went out late): no sender may post there before `until`."""
    await push_back_channels(session, [(team_id, channel_id, until)])


async def push_back_channels(session: AsyncSession, pushes: Sequence[tuple[str, str, float]]) -> None:
    """`push_back_channel` for a batch, as one executemany."""
    if not pushes:
        return
    table = ChannelPace.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(
            table.c.team_id == bindparam("p_team"),
            table.c.channel_id == bindparam("p_channel"),
            table.c.next_slot < bindparam("p_until"),
        )
        .values(next_slot=bindparam("p_until"))
    )
    await session.execute(stmt, [{"p_team": t, "p_channel": c, "p_until": u} for t, c, u in pushes])


async def mark_sent(
    session: AsyncSession, *, delivery_id: int, owner: str, ts: str | None, now: datetime, shown_json: str
) -> None:
    """The card is posted (or edited) and shows `shown_json`; a newer version arriving meanwhile stays due."""
    await mark_many_sent(
        session, [{"delivery_id": delivery_id, "ts": ts, "now": now, "shown_json": shown_json}], owner=owner
    )


async def mark_many_sent(session: AsyncSession, marks: Sequence[dict[str, Any]], *, owner: str) -> None:
    """`mark_sent` for a batch, as one executemany of a statement compiled once; a mark's optional
    `card_channel` is the conversation Slack said the card was posted in (a DM's `D…` id)."""
    if not marks:
        return
    table = Delivery.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("m_id"), table.c.claimed_by == bindparam("m_owner"))
        .values(
            status="sent",
            message_ts=func.coalesce(bindparam("m_ts", type_=table.c.message_ts.type), table.c.message_ts),
            card_channel_id=func.coalesce(
                bindparam("m_card", type_=table.c.card_channel_id.type), table.c.card_channel_id
            ),
            sent_at=func.coalesce(table.c.sent_at, bindparam("m_now", type_=table.c.sent_at.type)),
            claimed_by=None,
            claim_until=None,
            last_error=None,
            shown_json=bindparam("m_shown"),
            # Due again if the lead changed meanwhile, or a redraw was asked for during the send.
            needs_update=or_(table.c.needs_update, table.c.lead_json != bindparam("m_shown")),
        )
    )
    params = [
        {"m_id": m["delivery_id"], "m_owner": owner, "m_ts": m["ts"], "m_card": m.get("card_channel"),
         "m_now": m["now"], "m_shown": m["shown_json"]}
        for m in marks
    ]  # fmt: skip
    await session.execute(stmt, params)


async def hold(session: AsyncSession, *, delivery_id: int, owner: str, reason: str) -> None:
    """Keep a lead back (quiet hours) for the summary posted when they end."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claimed_by == owner)
        .values(status="held", hold=reason, claimed_by=None, claim_until=None)
    )


async def claim_held(
    session: AsyncSession, *, subscription_id: int, reason: str, owner: str, until: datetime, now: datetime
) -> list[Delivery]:
    """Take the subscription's held leads for a summary (one instance wins; a crashed one's expire)."""
    stmt = (
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription_id,
            Delivery.status == "held",
            Delivery.hold == reason,
            or_(Delivery.claimed_by.is_(None), Delivery.claim_until < now),
        )
        .values(claimed_by=owner, claim_until=until)
        .returning(Delivery)
    )
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


async def mark_summarized(session: AsyncSession, *, delivery_ids: Sequence[int], owner: str, now: datetime) -> None:
    if delivery_ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)), Delivery.claimed_by == owner)
            .values(status="summarized", sent_at=now, claimed_by=None, claim_until=None)
        )


async def held_subscriptions(session: AsyncSession, *, reason: str) -> list[int]:
    stmt = select(Delivery.subscription_id).where(Delivery.status == "held", Delivery.hold == reason).distinct()
    return [row[0] for row in (await session.execute(stmt)).all()]


async def mark_retry(
    session: AsyncSession,
    *,
    delivery_id: int,
    owner: str,
    at: datetime,
    error: str,
    uncertain: bool = False,
    refund_attempt: bool = False,
) -> None:
    """Try again at `at`; a rate-limit wait (`refund_attempt`) doesn't use up one of the bounded attempts.

    An edit stays an edit (its card is posted: back to `sent`, due for an update), never a new post.
    """
    editing = Delivery.status == "updating"
    values: dict[str, Any] = {
        "status": case((editing, "sent"), else_="pending"),
        "needs_update": case((editing, True), else_=Delivery.needs_update),
        "next_attempt_at": at,
        "claimed_by": None,
        "claim_until": None,
        "last_error": error[:255],
    }
    if uncertain:
        values["uncertain"] = True
    if refund_attempt:
        values["attempts"] = Delivery.attempts - 1
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.claimed_by == owner).values(**values)
    )


async def mark_failed(session: AsyncSession, *, delivery_ids: Sequence[int], error: str) -> None:
    if delivery_ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)))
            .values(status="failed", claimed_by=None, claim_until=None, last_error=error[:255])
        )


async def defer(session: AsyncSession, *, delivery_ids: Sequence[int], owner: str, at: datetime, error: str) -> None:
    """The workspace has no usable token yet: put claimed deliveries back, due at `at`, without
    using up an attempt. An edit stays an edit (its card is already posted)."""
    if not delivery_ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.claimed_by == owner)
        .values(
            status=case((Delivery.status == "updating", "sent"), else_="pending"),
            needs_update=case((Delivery.status == "updating", True), else_=Delivery.needs_update),
            next_attempt_at=at,
            claimed_by=None,
            claim_until=None,
            attempts=Delivery.attempts - 1,
            last_error=error[:255],
        )
    )


async def resume_team(session: AsyncSession, *, team_id: str, now: datetime) -> int:
    """Everything of the workspace that waits (for a reinstall, or a retry) is due now."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.team_id == team_id,
            Delivery.next_attempt_at > now,
            or_(Delivery.status == "pending", and_(Delivery.status == "sent", Delivery.needs_update.is_(True))),
        )
        .values(next_attempt_at=now)
    )
    return int(result.rowcount or 0)


async def fail_team(session: AsyncSession, *, team_id: str, error: str) -> int:
    """Park every waiting delivery of a workspace that can no longer post."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.team_id == team_id, Delivery.status.in_(("pending", "sending")))
        .values(status="failed", claimed_by=None, claim_until=None, last_error=error[:255])
    )
    return int(result.rowcount or 0)


async def counts_by_subscription(
    session: AsyncSession, *, subscription_ids: list[int], since: datetime
) -> dict[int, dict[str, int]]:
    """Per subscription: sent since `since`, and pending / failed now."""
    if not subscription_ids:
        return {}
    stmt = (
        select(Delivery.subscription_id, Delivery.status, func.count())
        .where(
            Delivery.subscription_id.in_(subscription_ids),
            or_(Delivery.status != "sent", Delivery.sent_at >= since),
        )
        .group_by(Delivery.subscription_id, Delivery.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for sub_id, status, n in (await session.execute(stmt)).all():
        counts.setdefault(sub_id, {})[status] = int(n)
    return counts


async def purge_sent(session: AsyncSession, *, before: datetime) -> int:
    """Forget delivered rows older than the retention (which must exceed the poll lookback)."""
    # A card whose reminders (+sla, up to 2 x 7 days) are still to come is kept until they are done.
    escalating = exists().where(Escalation.delivery_id == Delivery.id, Escalation.state == "open")
    result = await session.execute(
        delete(Delivery).where(
            or_(
                and_(Delivery.status.in_(("sent", "summarized")), Delivery.sent_at < before, ~escalating),
                # A merged row stands for a card another row posted: it goes when that one does.
                and_(Delivery.status == "merged", Delivery.created_at < before),
            )
        )
    )
    return int(result.rowcount or 0)


def _card_at(channel_id: str, message_ts: str) -> Any:
    """The card posted at `message_ts` in `channel_id`: the conversation Slack named (a DM's `D…` id for
    a personal alert), or for cards from before that was kept, the channel it was posted to."""
    return and_(
        Delivery.message_ts == message_ts,
        or_(Delivery.card_channel_id == channel_id, Delivery.channel_id == channel_id),
    )


async def find_by_message(session: AsyncSession, *, channel_id: str, message_ts: str) -> Delivery | None:
    """The delivery behind a posted card (for its buttons)."""
    stmt = select(Delivery).where(_card_at(channel_id, message_ts))
    return (await session.execute(stmt.limit(1).execution_options(populate_existing=True))).scalar_one_or_none()


async def get_delivery(session: AsyncSession, *, delivery_id: int, for_update: bool = False) -> Delivery | None:
    stmt = select(Delivery).where(Delivery.id == delivery_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_card(session: AsyncSession, *, delivery_id: int, lead_json: str, notes_json: str) -> None:
    """Remember the lead as last shown and the card's notes, so later edits keep them."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(lead_json=lead_json, shown_json=lead_json, notes_json=notes_json)
    )


async def card_owner(
    session: AsyncSession, *, channel_id: str, message_ts: str
) -> tuple[Delivery, Subscription, Connection] | None:
    """The delivery behind a posted card, with its subscription and connection, in one query."""
    stmt = (
        select(Delivery, Subscription, Connection)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .join(Connection, Connection.id == Subscription.connection_id)
        .where(_card_at(channel_id, message_ts))
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1], row[2]) if row else None


def _has_digest(filters_json: str) -> bool:
    """Whether stored filters set a digest (storage reads the one field it needs, not the grammar)."""
    try:
        stored = json.loads(filters_json)
    except ValueError:
        return False
    return isinstance(stored, dict) and isinstance(stored.get("digest"), str)
