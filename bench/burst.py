"""Delivery burst: 10,000 leads waiting for 1,000 channels; Slack (bench.fastfake) allows 1 post/s/channel.

The floor is set by Slack, not by us: 10 messages per channel at one per second is ~10 s. The
app runs as `whatconverts-slack worker` processes; every delivery is a real outbox row. Reported:
wall time from the leads becoming due to the last card, 429s received, duplicate cards, the
workers' CPU per delivered lead.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from bench import seed
from bench.common import fake_call, fake_env, fast_fake, measured_workers, stack, table
from bench.poll import database
from storage.models import Delivery
from tests.support.workers import worker_env

LEADS = int(os.environ.get("BENCH_LEADS", "10000"))
CHANNELS = int(os.environ.get("BENCH_CHANNELS", "1000"))


async def unsent(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int((await session.execute(select(func.count()).where(Delivery.status != "sent"))).scalar_one())


async def burst(engine: str = "sqlite", processes: int = 1, leads: int = LEADS) -> dict[str, float]:
    async with database(engine) as url, stack(url) as s, fast_fake(0) as fake:
        sessions = s.app.state.services.sessions
        await seed.connections(sessions, count=CHANNELS, channels=CHANNELS)
        await seed.deliveries(sessions, count=leads)
        env = fake_env(worker_env(url, s.slack, s.wc, DELIVERY_TICK_SECONDS="0.2", POLL_TICK_SECONDS="3600"), fake)
        async with measured_workers(env, processes, fake) as run:
            await seed.release_deliveries(sessions)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stats = await fake_call(fake, "stats?brief=1")
                if stats["slack_posts"] >= leads:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1)  # marks are written after the posts
        stats = await fake_call(fake, "stats")
        left = await unsent(sessions)
    if os.environ.get("BENCH_DUMP"):
        Path(os.environ["BENCH_DUMP"]).write_text(json.dumps(stats))
    posts = stats["posts"]
    last = max((p[2] for p in posts), default=run.started)
    return {
        "leads": leads,
        "posted": stats["slack_posts"],
        "wall": last - run.started,
        "429": stats["slack_429"],
        "duplicates": stats["duplicates"],
        "unsent": left,
        "cpu": run.cpu,
        "rss": run.rss,
    }


def floor(leads: int = LEADS, channels: int = CHANNELS) -> float:
    """Slack's bound: the busiest channel's posts at one per second (the first at once)."""
    return float(-(-leads // channels))


def run(engine: str = "sqlite", processes: int = 1) -> str:
    r = asyncio.run(burst(engine, processes))
    rows = [
        ("cards posted", f"{r['posted']:,} of {r['leads']:,} (unsent rows left: {r['unsent']})", "all"),
        ("wall time", f"{r['wall']:.2f} s", f"≤ {1.2 * floor():.0f} s"),
        ("floor (busiest channel at 1/s)", f"{floor():.0f} s", ""),
        ("ratio to the floor", f"{r['wall'] / floor():.2f}", "≤ 1.2"),
        ("429s received", f"{r['429']}", "0"),
        ("duplicate cards", f"{r['duplicates']}", "0"),
        ("worker CPU", f"{r['cpu']:.2f} s ({r['cpu'] / max(1, r['posted']) * 1000:.2f} ms per card)", ""),
        ("worker peak RSS", f"{r['rss']:.0f} MB", ""),
    ]
    title = f"## Delivery burst ({engine}, {processes} worker{'s' if processes > 1 else ''}, {LEADS:,} leads"
    return title + f" over {CHANNELS:,} channels)\n\n" + table(rows, ["measure", "value", "target"])


if __name__ == "__main__":
    print(run(sys.argv[1] if len(sys.argv) > 1 else "sqlite", int(sys.argv[2]) if len(sys.argv) > 2 else 1))
