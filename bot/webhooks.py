"""The instant path: WhatConverts posts new and updated leads to a per-connection URL.

The URL's token (≥128 random bits) is the only authentication WhatConverts offers, so it is
looked up by its SHA-256 (no comparison of secrets in Python), kept out of logs, and checked
against what the connection can see: a lead from an account or profile the key can't see is
refused. Accepted leads go through the same routing as polled ones, so the two paths dedupe.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import connections, routing
from bot.ids import ROUTE_WC_WEBHOOK
from bot.leads import Lead, integer, mapping
from bot.services import Services
from storage import connections as connection_store
from storage import outbox, polling
from storage import subscriptions as subscription_store
from storage.batching import GroupCommit
from storage.db import transaction
from storage.models import Connection, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
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
    services.forget_webhooks()
    return token


def _in_scope(connection: Connection, lead: Lead) -> bool:
    """Only leads of the accounts/profiles this key can see (a profile key's scope may not be known yet)."""
    scope = connections.scope_of(connection)
    accounts = {integer(a.get("account_id")) for a in scope} - {None}
    profiles = {integer(p.get("profile_id")) for a in scope for p in (a.get("profiles") or [])} - {None}
    if lead.account_id is not None and accounts and lead.account_id not in accounts:
        return False
    return not (lead.profile_id is not None and profiles and lead.profile_id not in profiles)


@dataclass(frozen=True)
class Incoming:
    """One accepted webhook post, waiting for its batch."""

    connection: Connection
    trigger: str
    data: dict


def batcher(services: Services) -> GroupCommit[Incoming, Outcome]:
    """Group commit for webhooks: a burst of posts is written in ONE transaction, each still answered."""
    return GroupCommit(
        services.sessions, functools.partial(write_batch, services), linger=0.002, max_linger=0.02, max_items=500
    )


async def write_batch(services: Services, session: AsyncSession, items: Sequence[Incoming]) -> list[Outcome]:
    now = utcnow()
    outcomes: list[Outcome] = []
    by_connection: dict[int, list[Lead]] = {}
    subs = await subscription_store.active_for_connections(
        session, connection_ids=sorted({i.connection.id or 0 for i in items})
    )
    subs_of: dict[int, list[Subscription]] = {}
    for sub in subs:
        subs_of.setdefault(sub.connection_id, []).append(sub)
    for item in items:
        conn_subs = subs_of.get(item.connection.id or 0, [])
        fields = {k: v for k, v in item.data.items() if k != "trigger"}
        if item.trigger == "update":
            # Updates carry the changed fields plus common ones: complete them from the stored copy.
            stored = await outbox.latest_lead_json(
                session, subscription_ids=[s.id or 0 for s in conn_subs], lead_id=int(fields["lead_id"])
            )
            fields = {**(mapping(json.loads(stored)) if stored else {}), **fields}
        fields.setdefault("last_updated", item.data.get("last_updated") or now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        lead = Lead.from_api(fields)
        if not _in_scope(item.connection, lead):
            outcomes.append(Outcome(403, "lead is not from an account this connection can see"))
            continue
        by_connection.setdefault(item.connection.id or 0, []).append(lead)
        outcomes.append(Outcome(200, "ok"))
    new = 0
    for connection_id, leads in by_connection.items():
        new += (await routing.route(session, subs=subs_of.get(connection_id, []), leads=leads, now=now)).new
        await polling.webhook_received(session, connection_id=connection_id, at=now)
    services.metrics.deliveries_enqueued.labels("webhook").inc(new)
    if new:
        services.nudge_sender()
    return outcomes


async def receive(services: Services, *, token: str, body: bytes) -> Outcome:
    """Handle one webhook POST; every refusal has no side effect."""
    if len(token) > 200:
        return Outcome(404, "unknown webhook")
    connection = await services.webhook_connection(connection_store.hash_token(token))
    if connection is None or connection.id is None:
        return Outcome(404, "unknown webhook")
    if len(body) > MAX_BODY:
        return Outcome(413, "body too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Outcome(400, "body is not JSON")
    if not isinstance(data, dict):
        return Outcome(400, "body is not a JSON object")
    trigger = str(data.get("trigger") or "new").lower()
    if trigger not in TRIGGERS:
        return Outcome(400, "unknown trigger")
    lead_id = integer(data.get("lead_id"))
    if lead_id is None or lead_id <= 0:
        return Outcome(422, "lead_id is missing")
    assert services.webhooks is not None
    try:
        outcome = await services.webhooks.submit(Incoming(connection, trigger, {**data, "lead_id": lead_id}))
    except SQLAlchemyError:
        return Outcome(503, "try again")  # WhatConverts retries; nothing was written
    assert outcome is not None
    services.metrics.webhooks.labels(trigger if outcome.status == 200 else f"refused_{outcome.status}").inc()
    return outcome
