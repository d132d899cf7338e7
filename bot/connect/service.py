"""Connecting WhatConverts accounts: connect links, API-key and OAuth completion, credentials, disconnect.

A connect link is a random state (stored hashed, one-time, 10 minutes, bound to team, user
and channel). With an OAuth client configured the link starts a PKCE authorization-code
flow; without one it shows a form for an API token and secret. Either way the credentials
are checked against the API, stored encrypted, and the user is told in Slack.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.connect.errors import InvalidCredentials, KeyAlreadyConnected, LabelTaken, LinkExpired
from bot.errors import NotFound, UserFacingError
from bot.ids import ROUTE_WC_CONNECT
from bot.services import Services
from bot.slack.notify import notify
from bot.slack.payloads import Command
from bot.whatconverts import paths as wc_paths
from bot.whatconverts import scopes
from bot.whatconverts.client import (
    ApiKey,
    BearerToken,
    Credentials,
    WhatConvertsAuthError,
    WhatConvertsBadResponse,
    WhatConvertsError,
    WhatConvertsQuotaExceeded,
    WhatConvertsUnavailable,
)
from bot.whatconverts.oauth import OAuthGrantError, OAuthTokens, OAuthUnavailable
from storage import connections as store
from storage.db import transaction
from storage.models import Connection, ConnectState, own_key_id
from storage.types import utcnow

__all__ = ["Connection", "InvalidCredentials", "KeyAlreadyConnected", "LabelTaken", "LinkExpired"]

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=10)
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
QUOTA = {"profile": 1000, "master": 10000}


@dataclass(frozen=True)
class PendingLink:
    """What the connect page needs to know about a valid link."""

    label: str | None
    oauth_url: str | None  # set in OAuth mode


def normalize_label(label: str | None) -> str | None:
    if label is None or not label.strip():
        return None
    cleaned = label.strip().lower()
    if not LABEL_RE.match(cleaned):
        raise UserFacingError(
            "A label is 1 to 32 characters: letters, digits, dot, dash or underscore, starting with a letter or digit."
        )
    return cleaned


def _slug(name: str | None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")[:28]
    return slug or "whatconverts"


def _unique(label: str, taken: set[str]) -> str:
    if label not in taken:
        return label
    n = 2
    while f"{label[:28]}-{n}" in taken:
        n += 1
    return f"{label[:28]}-{n}"


def scope_of(connection: Connection) -> list[dict]:
    """The accounts and profiles the connection can see (as last read; `scope_refresh` keeps it current)."""
    try:
        value = json.loads(connection.scope_json or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


# --------------------------------------------------------------------------- starting


async def start_connect(
    services: Services, *, command: Command, label: str | None, reconnect_id: int | None = None
) -> str:
    """Create a one-time connect link for the user who ran the command.

    With `reconnect_id` the link can only give that connection new credentials, so the caller
    must have checked that the user may configure it; without, it can only make a new connection.
    """
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)[:96] if services.oauth else None
    async with transaction(services.sessions) as session:
        await store.create_connect_state(
            session,
            state=state,
            team_id=command.team_id,
            enterprise_id=command.enterprise_id,
            user_id=command.user_id,
            channel_id=command.channel_id or None,
            label=label,
            reconnect_id=reconnect_id,
            code_verifier=verifier,
            expires_at=utcnow() + LINK_TTL,
        )
    return f"{services.settings.app_base_url}{ROUTE_WC_CONNECT}?state={state}"


async def open_link(services: Services, *, state: str) -> PendingLink:
    """The connect page for `state`: where to redirect (OAuth) or what the form needs."""
    async with services.sessions() as session:
        pending = await store.peek_connect_state(session, state=state, now=utcnow())
    if pending is None:
        raise LinkExpired()
    if services.oauth is None:
        return PendingLink(label=pending.label, oauth_url=None)
    assert pending.code_verifier
    return PendingLink(
        label=pending.label,
        oauth_url=services.oauth.authorization_url(state=state, code_verifier=pending.code_verifier),
    )


# --------------------------------------------------------------------------- checking keys


@dataclass(frozen=True)
class KeyCheck:
    key_type: str
    scope: list[dict]
    requests: int


async def _check(services: Services, credentials: Credentials) -> KeyCheck:
    """Validate credentials (`GET /leads?leads_per_page=1`) and tell a master key by `GET /accounts`."""
    try:
        page = await services.wc.leads_page(credentials, leads_per_page=1)
    except WhatConvertsAuthError:
        raise InvalidCredentials(
            "WhatConverts didn't accept that API token and secret. Copy both again from "
            f"{wc_paths.PROFILE_API_KEYS} (or {wc_paths.MASTER_API_KEYS} for an agency key)."
        ) from None
    except WhatConvertsQuotaExceeded:
        raise InvalidCredentials(
            "This key has used up today's WhatConverts API limit, so it can't be checked now. "
            "The limit resets at midnight UTC; please connect it after that."
        ) from None
    except WhatConvertsError:
        raise InvalidCredentials(
            "We couldn't check those credentials: WhatConverts isn't answering properly right now. "
            "Please try again in a minute."
        ) from None
    try:
        accounts = await services.wc.accounts(credentials)
    except (WhatConvertsUnavailable, WhatConvertsBadResponse):
        raise InvalidCredentials("WhatConverts isn't answering properly right now. Please try again.") from None
    except WhatConvertsError as exc:
        if exc.status == 429 or isinstance(exc, WhatConvertsQuotaExceeded):
            # Busy, not a verdict on the key: guessing "profile" would give a master key a tenth of its quota.
            raise InvalidCredentials("WhatConverts is busy right now. Please try again in a minute.") from None
        # Any other refusal (401 in live probes, 403, 400, 404, whatever it says) is how WhatConverts
        # tells a profile key it can't list accounts: the key works, it just isn't a master key.
        # A key without leads yet learns its profile from its first one (`scope_refresh`).
        scope = scopes.from_lead(page.leads[0]) if page.leads else []
        return KeyCheck(key_type="profile", scope=scope, requests=2)
    return KeyCheck(key_type="master", scope=scopes.from_accounts(accounts), requests=2)


def _default_label(check: KeyCheck) -> str:
    first = check.scope[0] if check.scope else {}
    if check.key_type == "master":
        return _slug(first.get("account"))
    profiles = first.get("profiles") or [{}]
    return _slug(profiles[0].get("profile") or first.get("account"))


# --------------------------------------------------------------------------- completing


async def connect_api_key(services: Services, *, state: str, token: str, secret: str, label: str | None) -> Connection:
    """Check the key, then consume the link and store the connection, in that order."""
    token, secret = token.strip(), secret.strip()
    if not token or not secret or len(token) > 200 or len(secret) > 200:
        raise InvalidCredentials("Enter both the API token and the API secret.")
    await services.keys.adopt()  # connections from before key identities must be recognisable below
    key_id = await services.keys.of(token)
    async with services.sessions() as session:
        pending = await store.peek_connect_state(session, state=state, now=utcnow())
        if pending is None:
            raise LinkExpired()
        # Refuse a label the link can't use, or a key already here, before spending API requests on it.
        existing, _ = await _target(session, pending, label)
        await _refuse_second_connection(session, pending.team_id, key_id, existing)
    check = await _check(services, ApiKey(token, secret))
    return await _store(services, consume=state, check=check, label=label, api_key=ApiKey(token, secret), key_id=key_id)


async def _refuse_second_connection(
    session: AsyncSession, team_id: str, key_id: str, reconnecting: Connection | None
) -> None:
    """One key, one connection per workspace; other workspaces may connect it too (and share its quota)."""
    other = await store.find_by_key(session, team_id=team_id, key_id=key_id)
    if other is not None and (reconnecting is None or other.id != reconnecting.id):
        raise KeyAlreadyConnected(other.label)


async def connect_oauth(services: Services, *, state: str, code: str) -> Connection:
    """The OAuth callback: consume the link first (one of N concurrent callbacks wins), then exchange."""
    assert services.oauth is not None
    async with transaction(services.sessions) as session:
        pending = await store.consume_connect_state(session, state=state, now=utcnow())
    if pending is None or not pending.code_verifier:
        raise LinkExpired()
    async with services.sessions() as session:
        await _target(session, pending, pending.label)  # before a grant is made that nothing could use
    try:
        tokens = await services.oauth.exchange_code(code=code, code_verifier=pending.code_verifier)
    except (OAuthGrantError, OAuthUnavailable):
        raise UserFacingError(
            "WhatConverts didn't complete the authorization. Run /whatconverts connect in Slack to try again."
        ) from None
    check = await _check(services, BearerToken(tokens.access_token))
    return await _store(services, pending=pending, check=check, label=pending.label, oauth=tokens)


async def _target(
    session: AsyncSession, pending: ConnectState, typed: str | None
) -> tuple[Connection | None, str | None]:
    """What a link may complete: (the connection it reconnects, None), or (None, a free label or None).

    The label typed into the form never selects an existing connection: otherwise anyone with a
    link could put their own key under someone else's label, and that connection's subscriptions
    would post whatever that key sees.
    """
    wanted = normalize_label(typed) or pending.label
    if pending.reconnect_id is not None:
        existing = await store.get_connection(session, connection_id=pending.reconnect_id)
        if existing is None or existing.team_id != pending.team_id:
            raise NotFound(
                "The connection this link was for has been removed. "
                "Run /whatconverts connect in Slack to connect again."
            )
        if wanted != existing.label:
            raise UserFacingError(
                f'This link reconnects "{existing.label}" and can\'t connect anything else. Leave the label as '
                f'"{existing.label}", or run /whatconverts connect in Slack for a link that makes a new connection.'
            )
        return existing, None
    if wanted is not None and wanted in await store.labels_in_use(session, team_id=pending.team_id):
        raise LabelTaken(wanted)
    return None, wanted


async def _store(
    services: Services,
    *,
    check: KeyCheck,
    label: str | None,
    consume: str | None = None,
    pending: ConnectState | None = None,
    api_key: ApiKey | None = None,
    key_id: str | None = None,
    oauth: OAuthTokens | None = None,
) -> Connection:
    """Store the connection; with `consume`, the link is consumed in the same transaction.

    `key_id` is the API key's identity; an OAuth grant's key can't be known, so it keeps a budget
    of its own.
    """
    quota = services.settings.whatconverts_daily_quota or QUOTA[check.key_type]
    async with transaction(services.sessions) as session:
        if consume is not None:
            pending = await store.consume_connect_state(session, state=consume, now=utcnow())
        if pending is None:
            raise LinkExpired()
        team_id = pending.team_id
        existing, wanted = await _target(session, pending, label)
        if key_id is not None:
            # Again, in the transaction that writes. (Two links for one key submitted in the same instant
            # on PostgreSQL could still both pass; they would share the key's one budget all the same.)
            await _refuse_second_connection(session, team_id, key_id, existing)
        else:
            key_id = existing.key_id if existing is not None and existing.kind == "oauth" else own_key_id()
        values = {
            "kind": "oauth" if oauth else "api_key",
            "key_type": check.key_type,
            "daily_quota": quota,
            "key_id": key_id,
            # A key connected elsewhere already has a share (the key's, not a connection's); a new key
            # for an existing connection keeps the share its admin chose.
            "quota_share": await store.key_share(session, key_id=key_id)
            or (existing.quota_share if existing is not None else None),
            "api_token": api_key.token if api_key else None,
            "api_secret": api_key.secret if api_key else None,
            "oauth_access_token": oauth.access_token if oauth else None,
            "oauth_refresh_token": oauth.refresh_token if oauth else None,
            "oauth_expires_at": oauth.expires_at if oauth else None,
            "oauth_scopes": oauth.scope if oauth else None,
            "scope_json": json.dumps(check.scope),
            "status": "ok",
            "last_error": None,
            "updated_at": utcnow(),
        }
        if existing is not None:
            # Reconnecting a label (e.g. after needs_reauth) replaces its credentials in place.
            for key, value in values.items():
                setattr(existing, key, value)
            session.add(existing)
            connection = existing
        else:
            taken = await store.labels_in_use(session, team_id=team_id)
            connection = await store.create_connection(
                session,
                team_id=team_id,
                enterprise_id=pending.enterprise_id,
                label=wanted or _unique(_default_label(check), taken),
                owner_user_id=pending.user_id,
                channel_id=pending.channel_id,
                **values,
            )
        await session.flush()
        await store.count_requests(session, key_id=key_id, day=utcnow().date(), requests=check.requests)
    await notify(
        services,
        team_id=connection.team_id,
        user_ids=[connection.owner_user_id],
        text=f":white_check_mark: WhatConverts is connected as `{connection.label}` "
        f"({'agency/master' if connection.key_type == 'master' else 'profile'} "
        f"{'OAuth grant' if connection.kind == 'oauth' else 'API key'}). "
        f"Next: run `/whatconverts subscribe` in a channel that should get leads.",
    )
    return connection


# --------------------------------------------------------------------------- using credentials


# --------------------------------------------------------------------------- card settings


# --------------------------------------------------------------------------- disconnecting


async def disconnect(services: Services, *, connection_id: int) -> Connection:
    """Delete the credentials (revoking OAuth tokens where a revocation URL is configured)."""
    async with transaction(services.sessions) as session:
        row = await store.get_connection(session, connection_id=connection_id)
        if row is None:
            raise NotFound("That connection was already removed.")
        await store.delete_connection(session, connection_id=connection_id)
    if row.kind == "oauth" and services.oauth is not None:
        for token in (row.oauth_refresh_token, row.oauth_access_token):
            if token:
                await services.oauth.revoke(token)
    return row


# --------------------------------------------------------------------------- telling people
