"""Poll scale: 10,000 connections due at once; WhatConverts (bench.fastfake) answers after 100 ms.

The app runs as `whatconverts-slack worker` processes (the Procfile's worker), the connections
are real rows (encrypted keys, a subscription each). Reported: one full cycle's wall time, requests
made (exactly one per connection when nothing is new), the workers' CPU seconds and peak RSS, and
the floor: a bare aiohttp loop making the same number of requests to the same fake in the same run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import seed
from bench.common import fake_call, fake_env, fast_fake, measured_workers, run_json, stack, table
from storage.models import PollState
from tests.support.workers import worker_env

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "10000"))
DELAY_MS = 100.0
IN_FLIGHT = 200  # the app's global bound (bot.whatconverts.client.GLOBAL_IN_FLIGHT), given to the floor too


@asynccontextmanager
async def database(engine: str) -> AsyncIterator[str]:
    """A fresh database: SQLite in a temporary folder, or a new PostgreSQL database (dropped after)."""
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "sqlite":
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            return
        admin = make_url(os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
        dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"wcs_bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
            try:
                yield admin.set(database=name).render_as_string(hide_password=False)
            finally:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def finished(sessions, cycle_start_version: int = 1) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        stmt = select(func.count()).where(
            PollState.lease_version >= cycle_start_version, PollState.lease_owner.is_(None)
        )
        return int((await session.execute(stmt)).scalar_one())


async def cycle(engine: str = "sqlite", processes: int = 1, connections: int = CONNECTIONS) -> dict[str, float]:
    async with database(engine) as url, stack(url) as s, fast_fake(DELAY_MS) as fake:
        sessions = s.app.state.services.sessions
        await seed.connections(sessions, count=connections, channels=1000)
        env = fake_env(worker_env(url, s.slack, s.wc, POLL_TICK_SECONDS="0.2", POLL_MIN_INTERVAL_SECONDS="3600"), fake)
        async with measured_workers(env, processes, fake) as run:
            await seed.make_due(sessions)
            deadline = time.monotonic() + 300
            while await finished(sessions) < connections and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            wall = time.time() - run.started
            done = await finished(sessions)
            stats = await fake_call(fake, "stats")
        await fake_call(fake, "reset", {})
        floor = await run_json("bench.floor", f"{fake.base}/api/v1/leads", str(connections), str(IN_FLIGHT))
    per_key = stats["wc_requests_by_key"].values()
    return {
        "connections": connections,
        "polled": done,
        "wall": wall,
        "requests": stats["wc_requests"],
        "max per key": max(per_key, default=0),
        "cpu": run.cpu,
        "rss": run.rss,
        "floor": floor["wall"],
        "floor cpu": floor["cpu"],
    }


def run(engine: str = "sqlite") -> str:
    r = asyncio.run(cycle(engine))
    rows = [
        ("connections polled", f"{r['polled']:,} of {r['connections']:,}", ""),
        ("cycle wall time", f"{r['wall']:.2f} s", "≤ 15 s"),
        ("floor (bare aiohttp, same requests)", f"{r['floor']:.2f} s ({r['floor cpu']:.2f} s CPU)", ""),
        ("ratio to the floor", f"{r['wall'] / r['floor']:.2f}", "≤ 2.5"),
        ("requests", f"{r['requests']:,} (max {r['max per key']} per key)", "1 per connection"),
        ("worker CPU", f"{r['cpu']:.2f} s ({r['cpu'] / max(1, r['polled']) * 1000:.2f} ms per poll)", ""),
        ("worker peak RSS", f"{r['rss']:.0f} MB", "≤ 300 MB"),
    ]
    return f"## Poll scale ({engine}, 1 worker, WhatConverts answers after {DELAY_MS:.0f} ms)\n\n" + table(
        rows, ["measure", "value", "target"]
    )


if __name__ == "__main__":
    print(run(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
