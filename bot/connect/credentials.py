"""A connection in use: its credentials, and the WhatConverts calls made with them.

OAuth tokens are refreshed ahead of expiry, once per connection however many callers ask; every
call is counted against its key's daily quota, whoever makes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from bot.errors import NotFound
from bot.services import Services
from bot.slack.notify import notify
from bot.whatconverts.client import (
    ApiKey,
    BearerToken,
    Credentials,
    WhatConvertsAuthError,
    WhatConvertsError,
    WhatConvertsUnavailable,
)
from bot.whatconverts.oauth import OAuthGrantError, OAuthUnavailable
from storage import connections as store
from storage.db import transaction
from storage.models import Connection
from storage.types import utcnow

REFRESH_AHEAD = timedelta(minutes=5)
T = TypeVar("T")


async def credentials_for(services: Services, connection: Connection, *, rejected: str | None = None) -> Credentials:
    """Credentials to call the API with; OAuth tokens are refreshed ahead of expiry or after a 401.

    `rejected` is the access token the API just refused: refresh unless someone already has.
    The refresh is single-flight: an in-process lock, then the row lock (PostgreSQL `FOR UPDATE`).
    A refused refresh token (`invalid_grant`) marks the connection `needs_reauth` and tells its owner.
    """
    if connection.kind == "api_key":
        assert connection.api_token and connection.api_secret
        return ApiKey(connection.api_token, connection.api_secret)

    def due(row: Connection) -> bool:
        if rejected is not None and row.oauth_access_token == rejected:
            return True
        return row.oauth_expires_at is not None and row.oauth_expires_at - REFRESH_AHEAD <= utcnow()

    if not due(connection):
        assert connection.oauth_access_token
        return BearerToken(connection.oauth_access_token)
    assert connection.id is not None and services.oauth is not None
    refused: str | None = None
    async with services.locks[f"connection:{connection.id}"], transaction(services.sessions) as session:
        row = await store.get_connection(session, connection_id=connection.id, for_update=True)
        if row is None:
            raise NotFound("That connection was removed.")
        if row.status == "needs_reauth":
            raise WhatConvertsAuthError("connection needs to be reconnected")
        if due(row):
            try:
                if not row.oauth_refresh_token:
                    raise OAuthGrantError("invalid_grant", "no refresh token stored")
                tokens = await services.oauth.refresh(row.oauth_refresh_token)
            except OAuthGrantError as exc:
                refused = exc.error
                await store.set_status(
                    session,
                    connection_id=connection.id,
                    status="needs_reauth",
                    error=f"WhatConverts refused the stored authorization ({exc.error})",
                )
            except OAuthUnavailable:
                raise WhatConvertsUnavailable("token refresh failed; will retry") from None
            else:
                await store.save_oauth_tokens(
                    session,
                    connection=row,
                    access_token=tokens.access_token,
                    refresh_token=tokens.refresh_token,
                    expires_at=tokens.expires_at,
                )
    if refused is not None:
        connection.status = "needs_reauth"
        await notify(
            services,
            team_id=row.team_id,
            user_ids=[row.owner_user_id],
            text=f":warning: WhatConverts connection `{row.label}` needs to be reconnected: "
            f"WhatConverts no longer accepts its authorization, so its leads have stopped. "
            f"Run `/whatconverts connect {row.label}` to reconnect it.",
            include_installer=True,
        )
        raise WhatConvertsAuthError("connection needs to be reconnected")
    connection.oauth_access_token = row.oauth_access_token
    connection.oauth_refresh_token = row.oauth_refresh_token
    connection.oauth_expires_at = row.oauth_expires_at
    assert row.oauth_access_token
    return BearerToken(row.oauth_access_token)


async def call_api(
    services: Services,
    connection: Connection,
    request: Callable[[Credentials], Awaitable[T]],
    *,
    requests: int | Callable[[T], int] = 1,
) -> T:
    """Run API requests for a connection, count them against its key's quota, retry once after a 401 on OAuth.

    `requests` is how many requests `request` makes (or a function of its result, for page walks).
    """
    assert connection.id is not None
    credentials = await credentials_for(services, connection)
    try:
        try:
            result = await request(credentials)
        except WhatConvertsAuthError:
            if not isinstance(credentials, BearerToken):
                raise
            await _count(services, connection.key_id, 1)
            credentials = await credentials_for(services, connection, rejected=credentials.access_token)
            result = await request(credentials)
    except WhatConvertsError:
        await _count(services, connection.key_id, 1)
        raise
    await _count(services, connection.key_id, requests(result) if callable(requests) else requests)
    return result


async def _count(services: Services, key_id: str, requests: int) -> None:
    await services.quota.submit((key_id, utcnow().date(), requests))
