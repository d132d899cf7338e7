"""Keeping a key's scope current: agencies add accounts and profiles after they connect (W4).

- An agency key re-reads `GET /accounts` (profiles embedded; one request for up to 250 accounts)
  once a day, and when a lead, polled or sent by webhook, names an account or profile its scope
  doesn't list: at most once an hour per connection, before a webhook is refused for it.
- A profile key can't call `/accounts`: it learns its account and profile from its leads. A
  polled lead is WhatConverts' own word and always wins; a webhook only fills a scope not known yet.

Re-reads are claimed in the database (`storage.scopes.claim`), so many processes or a burst of
webhooks make one request, and a re-read that fails just waits for its next turn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot.connect import credentials
from bot.connect import service as connections
from bot.services import Services
from bot.whatconverts import scopes
from bot.whatconverts.client import WhatConvertsError
from bot.whatconverts.leads import Lead
from storage import connections as connection_store
from storage import scopes as scope_store
from storage.db import transaction
from storage.models import Connection

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(days=1)
LOOKUP_EVERY = timedelta(hours=1)
ACCOUNTS_PER_PAGE = 250  # what `WhatConvertsClient.accounts` asks for


def _pages(accounts: Sequence[object]) -> int:
    return max(1, -(-len(accounts) // ACCOUNTS_PER_PAGE))


async def refresh(
    services: Services, connection: Connection, *, now: datetime, reason: Literal["refreshed_at", "lookup_at"]
) -> int:
    """Re-read an agency key's accounts if no re-read for `reason` is recent; the requests it made.

    The scope is replaced (accounts removed in WhatConverts go too), except by an empty list:
    an agency key without any account is more likely a passing fault than the truth.
    """
    assert connection.id is not None
    every = LOOKUP_EVERY if reason == "lookup_at" else REFRESH_EVERY
    async with transaction(services.sessions) as session:
        claimed = await scope_store.claim(
            session, connection_id=connection.id, reason=reason, unless_since=now - every, now=now
        )
    if not claimed:
        return 0
    try:
        accounts = await credentials.call_api(services, connection, services.wc.accounts, requests=_pages)
    except WhatConvertsError as exc:  # the next turn tries again; until then the old scope stands
        log.warning("re-reading the accounts of connection %s failed: %s", connection.id, exc.message)
        return 1
    scope = scopes.from_accounts(accounts)
    if scope:
        await _store(services, connection, scope)
    return _pages(accounts)


async def _store(services: Services, connection: Connection, scope: list[dict], *, only_if: str | None = None) -> bool:
    assert connection.id is not None
    value = json.dumps(scope)
    if value == connection.scope_json:
        return True
    async with transaction(services.sessions) as session:
        written = await scope_store.set_scope(session, connection_id=connection.id, scope_json=value, only_if=only_if)
    if written:
        connection.scope_json = value
        services.webhooks.forget()  # the cached connection of its webhook URL has the old scope
    return written


async def after_poll(
    services: Services, connection: Connection, leads: Sequence[Lead], *, now: datetime, refreshed_at: datetime | None
) -> int:
    """Keep the scope current with what a poll saw; the requests that took (0 for a profile key)."""
    scope = connections.scope_of(connection)
    if connection.key_type != "master":
        newest = leads[-1] if leads else None  # the walk is oldest first
        if newest is not None and (not scope or not scopes.covers(scope, newest)):
            learned = scopes.from_lead(newest)
            if learned:
                await _store(services, connection, learned)
        return 0
    if scopes.names_unknown(scope, leads):
        return await refresh(services, connection, now=now, reason="lookup_at")
    if (refreshed_at or connection.created_at) <= now - REFRESH_EVERY:
        return await refresh(services, connection, now=now, reason="refreshed_at")
    return 0


async def admit(services: Services, connection: Connection, lead: Lead, *, now: datetime) -> bool:
    """May this connection's webhook take `lead`? Learns or re-reads the scope first where it can."""
    scope = connections.scope_of(connection)
    if connection.key_type != "master":
        if scope:
            return scopes.covers(scope, lead)
        learned = scopes.from_lead(lead)
        if not learned or await _store(services, connection, learned, only_if=connection.scope_json):
            return True
        # Another webhook taught it first: judge by what it learned.
        async with services.sessions() as session:
            row = await connection_store.get_connection(session, connection_id=connection.id or 0)
        return row is not None and scopes.covers(connections.scope_of(row), lead)
    if scopes.covers(scope, lead):
        return True
    await refresh(services, connection, now=now, reason="lookup_at")
    return scopes.covers(connections.scope_of(connection), lead)
