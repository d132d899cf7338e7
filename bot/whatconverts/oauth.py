"""OAuth 2.0 client for WhatConverts (authorization code + PKCE S256, refresh, revocation) on Authlib.

Used only when WHATCONVERTS_OAUTH_CLIENT_ID is set; the public API today uses API keys.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import authlib.deprecate  # noqa: F401  (installs an "always" filter of its own; ours must go in front of it)
import httpx

with warnings.catch_warnings():
    # Authlib >= 1.9.10 deprecates its httpx integration in favour of a package named `httpx2`.
    # This product is built on httpx, so keep it and silence exactly that notice.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from bot.config import Settings
from bot.ids import ROUTE_WC_OAUTH_CALLBACK
from storage.types import utcnow


class OAuthGrantError(Exception):
    """The provider refused a code or refresh token; `error` is the RFC 6749 code (e.g. invalid_grant)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


class OAuthUnavailable(Exception):
    """The token endpoint couldn't be reached or answered 5xx: try again later."""


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scope: str | None


def _tokens(token: dict[str, Any], *, previous_refresh: str | None = None) -> OAuthTokens:
    expires_in = token.get("expires_in")
    return OAuthTokens(
        access_token=str(token["access_token"]),
        # Without rotation the provider sends no new refresh token: keep the old one.
        refresh_token=token.get("refresh_token") or previous_refresh,
        expires_at=utcnow() + timedelta(seconds=int(expires_in)) if expires_in else None,
        scope=token.get("scope"),
    )


class WhatConvertsOAuth:
    """Builds authorization URLs and talks to the token and revocation endpoints."""

    def __init__(self, settings: Settings) -> None:
        assert settings.whatconverts_oauth_client_id and settings.whatconverts_oauth_client_secret
        self._settings = settings
        self.redirect_uri = settings.app_base_url + ROUTE_WC_OAUTH_CALLBACK

    def _client(self) -> AsyncOAuth2Client:
        secret = self._settings.whatconverts_oauth_client_secret
        return AsyncOAuth2Client(
            client_id=self._settings.whatconverts_oauth_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scope=self._settings.whatconverts_oauth_scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=20.0,
        )

    def authorization_url(self, *, state: str, code_verifier: str) -> str:
        client = self._client()
        url, _ = client.create_authorization_url(
            self._settings.whatconverts_oauth_authorize_url, state=state, code_verifier=code_verifier
        )
        return str(url)

    async def exchange_code(self, *, code: str, code_verifier: str) -> OAuthTokens:
        async with self._client() as client:
            token = await self._call(
                client.fetch_token(
                    self._settings.whatconverts_oauth_token_url,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=self.redirect_uri,
                )
            )
        return _tokens(token)

    async def refresh(self, refresh_token: str) -> OAuthTokens:
        async with self._client() as client:
            token = await self._call(
                client.refresh_token(self._settings.whatconverts_oauth_token_url, refresh_token=refresh_token)
            )
        return _tokens(token, previous_refresh=refresh_token)

    async def revoke(self, token: str) -> None:
        """RFC 7009 revocation, when a revocation URL is configured; failures are not fatal."""
        url = self._settings.whatconverts_oauth_revocation_url
        if not url:
            return
        async with self._client() as client:
            try:
                await client.revoke_token(url, token=token)
            except (OAuthError, httpx.HTTPError):
                return

    @staticmethod
    async def _call(awaitable: Any) -> dict[str, Any]:
        try:
            return dict(await awaitable)
        except OAuthError as exc:
            raise OAuthGrantError(exc.error or "invalid_grant", exc.description) from None
        except httpx.HTTPError:
            raise OAuthUnavailable("the WhatConverts token endpoint is unreachable") from None
