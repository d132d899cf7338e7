"""Key identity: which connections use one WhatConverts API key, and so share its daily quota.

WhatConverts counts its quota per key, across every account and every tool using it, so the app
counts and plans per key too. A key is known by `key:` + HMAC-SHA256(secret, API token), never by
the token itself (the token is stored encrypted, and lets anyone read recordings).

Why this secret: the identity must stay the same across restarts, processes and key rotation,
and a database dump alone must not let anyone test guessed tokens against it (a plain SHA-256
would). Nothing in the configuration fits: `TOKEN_ENCRYPTION_KEYS` change on rotation by design,
and the Slack client and signing secrets can be regenerated in Slack at any time. So the app makes
a random 256-bit secret the first time it needs one and keeps it in `app_secrets`, encrypted like
every other secret (`rotate-keys` re-encrypts it; its value never changes).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import app_secrets
from storage import connections as store
from storage.db import transaction

log = logging.getLogger(__name__)

SECRET_NAME = "key_identity"
PREFIX = "key:"
ADOPT_BATCH = 500


class KeyIdentities:
    """Computes key identities; loads (or makes) the secret once per process."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._secret: bytes | None = None
        self._lock = asyncio.Lock()

    async def _key(self) -> bytes:
        if self._secret is None:
            async with self._lock:
                if self._secret is None:
                    async with transaction(self._sessions) as session:
                        value = await app_secrets.get_or_create(
                            session, name=SECRET_NAME, candidate=secrets.token_urlsafe(32)
                        )
                    self._secret = value.encode()
        return self._secret

    async def of(self, api_token: str) -> str:
        """The identity of the key with this API token (the secret half plays no part: one key, one quota).

        Don't call it inside a write transaction: the first call may write the secret in one of its own.
        """
        return _identity(await self._key(), api_token)

    async def adopt(self) -> int:
        """Give API-key connections still counted on a budget of their own (from before key identities)
        their key's identity, merging what was counted; returns how many. Cheap when there are none."""
        async with self._sessions() as session:
            if not await store.unidentified_keys(session, limit=1):
                return 0
        key = await self._key()  # before the transaction below: making it writes in a transaction of its own
        adopted = 0
        while True:
            async with transaction(self._sessions) as session:
                rows = await store.unidentified_keys(session, limit=ADOPT_BATCH)
                for row in rows:
                    assert row.id is not None and row.api_token
                    await store.rekey(session, connection_id=row.id, old=row.key_id, new=_identity(key, row.api_token))
            adopted += len(rows)
            if len(rows) < ADOPT_BATCH:
                break
        if adopted:
            log.info("%d connection(s) now share their API key's daily quota with its other connections", adopted)
        return adopted


def _identity(key: bytes, api_token: str) -> str:
    return PREFIX + hmac.new(key, api_token.strip().encode(), hashlib.sha256).hexdigest()
