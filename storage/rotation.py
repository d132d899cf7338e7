"""Key rotation: re-encrypt every stored secret under the newest key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, column, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from storage.crypto import Cipher
from storage.types import EncryptedString


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0


def encrypted_columns() -> list[tuple[str, str, list[str]]]:
    """(table, column, primary key columns) for every encrypted column in the schema."""
    found = []
    for tbl in SQLModel.metadata.sorted_tables:
        pk = [c.name for c in tbl.primary_key.columns]
        for col in tbl.columns:
            if isinstance(col.type, EncryptedString):
                found.append((tbl.name, col.name, pk))
    return found


async def rotate_all(session: AsyncSession, *, cipher: Cipher) -> RotationReport:
    """Rewrite each ciphertext under the newest key; reads raw text so no plaintext is bound."""
    report = RotationReport()
    for table_name, column_name, pk in encrypted_columns():
        raw = table(table_name, column(column_name, Text), *(column(k) for k in pk))
        rows = (await session.execute(select(raw).where(raw.c[column_name].is_not(None)))).all()
        for row in rows:
            ciphertext = row._mapping[column_name]
            if cipher.is_current(ciphertext):
                report.already_current += 1
                continue
            where = [raw.c[k] == row._mapping[k] for k in pk]
            await session.execute(update(raw).where(*where).values({column_name: cipher.rotate(ciphertext)}))
            report.rotated += 1
    await session.flush()
    return report
