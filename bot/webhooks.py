"""The instant path: WhatConverts posts new and updated leads to a per-connection URL.

The URL's token (≥128 random bits) is the only authentication WhatConverts offers, so it is
looked up by its SHA-256 (no comparison of secrets in Python), kept out of logs, and checked
against what the connection can see: a lead from an account or profile the key can't see is
refused. Accepted leads go through the same routing as polled ones, so the two paths dedupe.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from bot import connections, routing
from bot.ids import ROUTE_WC_WEBHOOK
from bot.leads import Lead, integer, mapping
from bot.services import Services
from storage import connections as connection_store
from storage import outbox, polling
from storage import subscriptions as subscription_store
from storage.db import transaction
from storage.models import Connection
from storage.types import utcnow

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
    return token


def _in_scope(connection: Connection, lead: Lead) -> bool:
    """Only leads of the accounts/profiles this key can see (a profile key's scope may not be known yet)."""
    scope = connections.scope_of(connection)
    accounts = {integer(a.get("account_id")) for a in scope} - {None}
    profiles = {integer(p.get("profile_id")) for a in scope for p in (a.get("profiles") or [])} - {None}
    if lead.account_id is not None and accounts and lead.account_id not in accounts:
        return False
    return not (lead.profile_id is not None and profiles and lead.profile_id not in profiles)


async def receive(services: Services, *, token: str, body: bytes) -> Outcome:
    """Handle one webhook POST; every refusal has no side effect."""
    if len(token) > 200:
        return Outcome(404, "unknown webhook")
    async with services.sessions() as session:
        connection = await connection_store.find_by_webhook(session, token_hash=connection_store.hash_token(token))
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
    now = utcnow()
    async with transaction(services.sessions) as session:
        subs = await subscription_store.active_for_connections(session, connection_ids=[connection.id])
        fields = {k: v for k, v in data.items() if k != "trigger"}
        if trigger == "update":
            # Updates carry the changed fields plus common ones: complete them from the stored copy.
            stored = await outbox.latest_lead_json(session, subscription_ids=[s.id or 0 for s in subs], lead_id=lead_id)
            fields = {**(mapping(json.loads(stored)) if stored else {}), **fields}
        fields.setdefault("last_updated", data.get("last_updated") or now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        lead = Lead.from_api(fields)
        if not _in_scope(connection, lead):
            return Outcome(403, "lead is not from an account this connection can see")
        routed = await routing.route(session, subs=subs, leads=[lead], now=now)
        await polling.webhook_received(session, connection_id=connection.id, at=now)
    services.metrics.webhooks.labels(trigger).inc()
    services.metrics.deliveries_enqueued.labels("webhook").inc(routed.new)
    return Outcome(200, "ok")
