"""The instant path: WhatConverts posts new and updated leads to a per-connection URL.

The URL's token (≥128 random bits) is the only authentication WhatConverts offers, so it is
looked up by its SHA-256 (no comparison of secrets in Python), kept out of logs, and checked
against what the connection can see: a lead from an account or profile the key can't see is
refused. Accepted leads go through the same routing as polled ones, so the two paths dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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


@dataclass
class _Item:
    connection: Connection
    trigger: str
    data: dict
    done: asyncio.Future[Outcome]


class Batcher:
    """Group commit for webhooks: whatever arrived in the last few milliseconds is written in ONE transaction.

    A transaction costs about a millisecond of CPU (and SQLite serialises them), so a burst of
    posts written one by one queues up; written together they each answer within one batch.
    Each post still gets its own answer, and only after its batch has committed.
    """

    def __init__(self, services: Services, *, max_items: int = 500, linger: float = 0.002) -> None:
        self.services = services
        self.max_items = max_items
        self.linger = linger
        self._queue: asyncio.Queue[_Item] | None = None
        self._worker: asyncio.Task | None = None

    async def submit(self, connection: Connection, trigger: str, data: dict) -> Outcome:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        item = _Item(connection, trigger, data, asyncio.get_running_loop().create_future())
        await self._queue.put(item)
        return await item.done

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            await asyncio.sleep(self.linger)
            while not self._queue.empty() and len(items) < self.max_items:
                items.append(self._queue.get_nowait())
            try:
                outcomes = await self._write(items)
            except Exception as exc:
                log.exception("webhook batch failed: %s", type(exc).__name__)
                outcomes = [Outcome(503, "try again")] * len(items)
            for item, outcome in zip(items, outcomes, strict=True):
                if not item.done.done():
                    item.done.set_result(outcome)

    async def _write(self, items: list[_Item]) -> list[Outcome]:
        now = utcnow()
        outcomes: list[Outcome] = []
        by_connection: dict[int, list[Lead]] = {}
        async with transaction(self.services.sessions) as session:
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
                routed = await routing.route(session, subs=subs_of.get(connection_id, []), leads=leads, now=now)
                new += routed.new
                await polling.webhook_received(session, connection_id=connection_id, at=now)
        self.services.metrics.deliveries_enqueued.labels("webhook").inc(new)
        if new:
            self.services.nudge_sender()
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
    outcome = await services.webhooks.submit(connection, trigger, {**data, "lead_id": lead_id})
    services.metrics.webhooks.labels(trigger if outcome.status == 200 else f"refused_{outcome.status}").inc()
    return outcome
