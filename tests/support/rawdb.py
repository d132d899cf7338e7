"""Reads the database as stored, bypassing our column types, for "no plaintext" checks."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine


async def dump(url: str) -> dict[str, list[dict]]:
    """Every row of every table, as raw stored values."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            return {
                name: [dict(r._mapping) for r in (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()]
                for name in names
            }
    finally:
        await engine.dispose()


async def dump_text(url: str) -> str:
    return repr(await dump(url))
