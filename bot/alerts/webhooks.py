"""The instant path: WhatConverts posts new and updated leads to a per-connection URL.

The URL's token (≥128 random bits) is the only authentication WhatConverts offers, so it is
looked up by its SHA-256 (no comparison of secrets in Python), kept out of logs, and checked
against what the connection can see: a lead from an account or profile the key can't see is
refused (after re-reading an agency key's accounts, which may have grown since). Accepted
leads go through the same routing as polled ones, so the two paths dedupe.

Each post is parsed and checked on its own before it joins a group-commit batch, and a batch
that fails is written again post by post: one odd post is never another post's 500.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import lead_problems, routing
from bot.connect import scope_refresh
from bot.ids import ROUTE_WC_WEBHOOK
from bot.services import Services
from bot.whatconverts import json_bodies, scopes
from bot.whatconverts.leads import Lead, mapping
from storage import connections as connection_store
from storage import outbox, polling, problems, webhook_sources
from storage import subscriptions as subscription_store
from storage.batching import UNAVAILABLE, GroupCommit
from storage.db import transaction
from storage.models import Connection, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
# A lead nests 3 deep (additional_fields, lead_analysis); far deeper is junk or an attack, and
# json.loads recurses per level.
MAX_DEPTH = 32
TRIGGERS = ("new", "update")


@dataclass(frozen=True)
class Outcome:
    """What to answer WhatConverts: a status code and a short reason (never echoing the request)."""

    status: int
    reason: str


def webhook_url(services: Services, token: str) -> str:
    return services.settings.app_base_url + ROUTE_WC_WEBHOOK.replace("{token}", token)


async def ensure_token(services: Services, connection: Connection, *, rotate: bool = False) -> str:
    """The connection's webhook token, creating (or with `rotate`, replacing) it."""
    if connection.webhook_token and not rotate:
        return connection.webhook_token
    token = secrets.token_urlsafe(32)
    async with transaction(services.sessions) as session:
        await connection_store.set_webhook_token(session, connection_id=connection.id or 0, token=token)
    connection.webhook_token = token
    services.webhooks.forget()
    return token


@dataclass(frozen=True)
class Incoming:
    """One webhook post, parsed and checked before it joins a batch (so it can't fail the others)."""

    connection: Connection
    trigger: str
    fields: dict  # the body without `trigger`, dated
    lead: Lead
    arrived: str  # the arrival time, in the API's format


def batcher(services: Services) -> GroupCommit[Incoming, Outcome]:
    """Group commit for webhooks: a burst of posts is written in ONE transaction, each still answered."""
    return GroupCommit(
        services.sessions, functools.partial(write_batch, services), linger=0.002, max_linger=0.02, max_items=500
    )


async def write_batch(services: Services, session: AsyncSession, items: Sequence[Incoming]) -> list[Outcome]:
    """Write the posts together; if that fails, each on its own, so one post's fault is never another's."""
    unreadable: Counter[str] = Counter()
    try:
        async with session.begin_nested():
            outcomes, new = await _write(session, items, unreadable)
    except Exception as exc:  # whatever it is, each post is retried alone below and answered for itself
        unreadable.clear()
        if len(items) == 1:
            outcomes, new = [await _failed(session, items[0], exc)], 0
        else:
            log.warning("writing %d webhooks together failed (%s); writing each alone", len(items), type(exc).__name__)
            alone = [await _alone(session, item, unreadable) for item in items]
            outcomes, new = [outcome for outcome, _ in alone], sum(added for _, added in alone)
    for name, count in unreadable.items():
        services.metrics.lead_fields_unreadable.labels(name).inc(count)
    services.metrics.deliveries_enqueued.labels("webhook").inc(new)
    if new:
        services.nudge_sender()
    return outcomes


async def _write(
    session: AsyncSession, items: Sequence[Incoming], unreadable: Counter[str]
) -> tuple[list[Outcome], int]:
    now = utcnow()
    by_connection: dict[int, list[Lead]] = {}
    connection_of: dict[int, Connection] = {}
    subs = await subscription_store.active_for_connections(
        session, connection_ids=sorted({i.connection.id or 0 for i in items})
    )
    subs_of: dict[int, list[Subscription]] = {}
    for sub in subs:
        subs_of.setdefault(sub.connection_id, []).append(sub)
    announced: dict[int, list[Lead]] = {}  # by new-lead webhooks, which alone show new leads arrive this way
    for item in items:
        connection_id = item.connection.id or 0
        lead = item.lead
        if item.trigger == "update":
            lead = await _completed(session, item, subs_of.get(connection_id, []))
        else:
            announced.setdefault(connection_id, []).append(lead)
        by_connection.setdefault(connection_id, []).append(lead)
        connection_of[connection_id] = item.connection
    new = 0
    for connection_id, leads in by_connection.items():
        new += (await routing.route(session, subs=subs_of.get(connection_id, []), leads=leads, now=now)).new
        await polling.webhook_received(session, connection_id=connection_id, at=now)
        # Freshness per (account, profile): WhatConverts sets webhooks up profile by profile. An
        # update-only webhook would leave new leads to the poll, so only new-lead webhooks count.
        await webhook_sources.record(
            session,
            connection_id=connection_id,
            sources=[scopes.source_of(lead) for lead in announced.get(connection_id, [])],
            at=now,
        )
        connection = connection_of[connection_id]
        unreadable.update(
            await lead_problems.record_unreadable(
                session, team_id=connection.team_id, label=connection.label, leads=leads
            )
        )
    return [Outcome(200, "ok") for _ in items], new


async def _completed(session: AsyncSession, item: Incoming, subs: list[Subscription]) -> Lead:
    """An update carries the changed fields plus common ones: the rest comes from the stored copy."""
    stored = await outbox.latest_lead_json(
        session, subscription_ids=[s.id or 0 for s in subs], lead_id=item.lead.lead_id
    )
    if not stored and not _blank(item.fields.get("date_created")):
        return item.lead
    fields = {**(mapping(json.loads(stored)) if stored else {}), **item.fields}
    if _blank(fields.get("date_created")):
        fields["date_created"] = item.arrived
    return Lead.from_api(fields)  # can't raise: the body's own lead_id was checked before the batch


async def _alone(session: AsyncSession, item: Incoming, unreadable: Counter[str]) -> tuple[Outcome, int]:
    """One post written in its own savepoint: (its answer, how many deliveries it enqueued)."""
    counted: Counter[str] = Counter()
    try:
        async with session.begin_nested():
            (outcome,), new = await _write(session, [item], counted)
    except Exception as exc:  # this post's own fault, answered for it alone
        return await _failed(session, item, exc), 0
    unreadable.update(counted)
    return outcome, new


async def _failed(session: AsyncSession, item: Incoming, exc: Exception) -> Outcome:
    if isinstance(exc, UNAVAILABLE):
        return Outcome(503, "try again")  # the database's trouble, not the post's: WhatConverts retries
    log.error("couldn't store lead %s from a webhook", item.lead.lead_id, exc_info=exc)
    await problems.record_once(
        session,
        team_id=item.connection.team_id,
        subject=f"lead #{item.lead.lead_id} from {item.connection.label}",
        message=f"A webhook for this lead couldn't be stored (unexpected error, {type(exc).__name__}).",
        fix="WhatConverts may send it again, and polling picks it up otherwise. The app's log has the details.",
    )
    return Outcome(500, "the lead couldn't be stored")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


async def receive(services: Services, *, token: str, body: bytes) -> Outcome:
    """Handle one webhook POST; every refusal has no side effect, and is decided before any batch."""
    if len(token) > 200:
        return Outcome(404, "unknown webhook")
    connection = await services.webhooks.connection(connection_store.hash_token(token))
    if connection is None or connection.id is None:
        return Outcome(404, "unknown webhook")
    if len(body) > MAX_BODY:
        return Outcome(413, "body too large")
    try:
        data = json_bodies.loads(body, max_depth=MAX_DEPTH)
    except ValueError:
        return Outcome(400, "body is not JSON (or nests too deeply)")
    if not isinstance(data, dict):
        return Outcome(400, "body is not a JSON object")
    trigger = data.get("trigger") or "new"
    if not isinstance(trigger, str) or trigger.lower() not in TRIGGERS:
        return Outcome(400, "unknown trigger")
    trigger = trigger.lower()
    arrived = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {k: v for k, v in data.items() if k != "trigger"}
    # WhatConverts dates every lead; one that isn't dated is dated by its arrival, not dropped.
    if _blank(fields.get("last_updated")):
        fields["last_updated"] = arrived
    if trigger == "new" and _blank(fields.get("date_created")):
        fields["date_created"] = arrived
    try:
        lead = Lead.from_api(fields)
    except ValueError:
        return Outcome(422, "lead_id is missing")
    if not routing.storable(lead):
        return Outcome(422, "lead_id is out of range")
    # Only leads of the accounts/profiles this key can see; an agency may have added one since we last looked.
    try:
        admitted = await scope_refresh.admit(services, connection, lead, now=utcnow())
    except UNAVAILABLE:  # the database is away while the scope is learned or re-read: WhatConverts retries
        return Outcome(503, "try again")
    if not admitted:
        return Outcome(403, "lead is not from an account this connection can see")
    fields["lead_id"] = lead.lead_id
    assert services.webhooks.batch is not None
    try:
        outcome = await services.webhooks.batch.submit(Incoming(connection, trigger, fields, lead, arrived))
    except UNAVAILABLE:  # the database is away, not the post's fault
        return Outcome(503, "try again")  # WhatConverts retries; nothing was written
    assert outcome is not None
    services.metrics.webhooks.labels(trigger if outcome.status == 200 else f"refused_{outcome.status}").inc()
    return outcome
