"""Column types: encrypted text and timezone-aware UTC datetimes on both SQLite and PostgreSQL.

The cipher is not a global: `storage.db.make_engine` attaches it to the engine's dialect, so the
column type finds it through the `dialect` argument SQLAlchemy passes on every bind and load.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.crypto import Cipher

CIPHER_ATTRIBUTE = "whatconverts_cipher"


def dialect_cipher(dialect: Dialect) -> Cipher:
    cipher = getattr(dialect, CIPHER_ATTRIBUTE, None)
    if cipher is None:
        # Refuse rather than store plaintext (the failure Sentry's EncryptedField allows).
        raise RuntimeError("no encryption keys configured for this engine; refusing to store secrets")
    return cipher


class EncryptedString(TypeDecorator[str]):
    """Text stored as a Fernet token; plaintext only ever exists in Python."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dialect_cipher(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dialect_cipher(dialect).decrypt(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Always-aware UTC datetimes (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
