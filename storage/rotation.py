"""Key rotation: re-encrypt every stored secret under the newest key (`whatconverts-slack rotate-keys`).

`rotate_database` runs it in one transaction and refuses, with a `RotationError` whose text is one
line for the operator, whenever success would be a lie: the wrong or an unmigrated database, no
secrets at all, or a secret that no configured key decrypts (then nothing is changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Text, column, inspect, select, table, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import TableClause
from sqlmodel import SQLModel

# The tables must be registered before the schema is walked: a fresh `rotate-keys` process has
# imported nothing else, and an empty walk would report zero secrets as a successful rotation.
import storage.models  # noqa: F401
from storage.crypto import Cipher, DecryptionError
from storage.db import make_engine, make_sessionmaker, transaction
from storage.types import EncryptedString


class RotationError(Exception):
    """Rotation refused or failed; nothing was re-encrypted. The text is one line naming the database."""


class SchemaMissing(RotationError):
    """None of our tables exist: the wrong database, or one never migrated."""


class SchemaBehind(RotationError):
    """Some encrypted columns this version knows are not in the database yet."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class UndecryptableSecret(RotationError):
    """A stored value decrypts with none of the configured keys (its key was dropped too early)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    primary_key: tuple[str, ...]

    def raw(self) -> TableClause:
        """The table as plain text columns, so ciphertext is read and written without decrypting."""
        return table(self.table, column(self.column, Text), *(column(k) for k in self.primary_key))


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0

    @property
    def found(self) -> int:
        return self.rotated + self.already_current


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column in the schema, in a stable order."""
    return [
        EncryptedColumn(tbl.name, col.name, tuple(c.name for c in tbl.primary_key.columns))
        for tbl in SQLModel.metadata.sorted_tables
        for col in tbl.columns
        if isinstance(col.type, EncryptedString)
    ]


async def check_schema(session: AsyncSession) -> None:
    """Raise unless the database has every table and column that holds a secret."""
    connection = await session.connection()
    present = await connection.run_sync(_columns_present)
    if not present:
        raise SchemaMissing()
    missing = [f"{c.table}.{c.column}" for c in encrypted_columns() if c.column not in present.get(c.table, set())]
    if missing:
        raise SchemaBehind(missing)


def _columns_present(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    ours = set(SQLModel.metadata.tables)
    return {
        name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names() if name in ours
    }


async def rotate_all(session: AsyncSession, *, cipher: Cipher) -> RotationReport:
    """Rewrite each ciphertext under the newest key; reads raw text so no plaintext is bound."""
    report = RotationReport()
    for target in encrypted_columns():
        raw = target.raw()
        value = raw.c[target.column]
        # Row locks (PostgreSQL; SQLite's write lock already excludes everyone): a token the running
        # app refreshes meanwhile must not be overwritten by the rotated copy of the spent one.
        query = select(raw).where(value.is_not(None)).with_for_update()
        for row in (await session.execute(query)).all():
            ciphertext = row._mapping[target.column]
            if cipher.is_current(ciphertext):
                report.already_current += 1
                continue
            key = {k: row._mapping[k] for k in target.primary_key}
            rotated = _rotate(cipher, ciphertext, target, key)
            await session.execute(update(raw).where(*(raw.c[k] == v for k, v in key.items())).values({value: rotated}))
            report.rotated += 1
    await session.flush()
    return report


def _rotate(cipher: Cipher, ciphertext: str, target: EncryptedColumn, key: Mapping[str, Any]) -> str:
    try:
        return cipher.rotate(ciphertext)
    except DecryptionError:
        # Names the row by its primary key only; the value itself stays out of messages.
        row = ", ".join(f"{k}={v}" for k, v in key.items())
        raise UndecryptableSecret(f"{target.table}.{target.column} ({row})") from None


async def rotate_database(url: str, *, cipher: Cipher) -> RotationReport:
    """Rotate every secret in the database at `url` in one transaction, or change nothing and raise."""
    where = shown(url)
    _refuse_missing_sqlite_file(url)
    engine = make_engine(url, cipher=cipher)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await check_schema(session)
            report = await rotate_all(session, cipher=cipher)
    except SchemaMissing:
        raise RotationError(
            f"no whatconverts-slack tables in {where} — is DATABASE_URL right? run `whatconverts-slack migrate` first"
        ) from None
    except SchemaBehind as exc:
        raise RotationError(f"{where} has no column {exc} yet — run `whatconverts-slack migrate` first") from None
    except UndecryptableSecret as exc:
        raise RotationError(
            f"the secret in {exc.where} in {where} decrypts with none of the keys in TOKEN_ENCRYPTION_KEYS; "
            "put the key it was written with back in the list (newest first). Nothing was changed."
        ) from None
    except (OSError, SQLAlchemyError) as exc:
        raise RotationError(f"can't rotate secrets in {where}: {_reason(exc)}. Nothing was changed.") from None
    finally:
        await engine.dispose()
    if report.found == 0:
        # Success here would tell the operator to drop keys, though nothing was checked against them.
        raise RotationError(f"no stored secrets found in {where}; nothing to rotate")
    return report


def shown(url: str) -> str:
    """The database URL as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _refuse_missing_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    # Connecting would create an empty file at a mistyped path and leave it behind.
    if not Path(parsed.database).exists():
        raise RotationError(f"no database file at {shown(url)} — is DATABASE_URL right?")


def _reason(exc: BaseException) -> str:
    # SQLAlchemy's own text quotes the statement and its parameters (ciphertexts); the driver's doesn't.
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__
