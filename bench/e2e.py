"""End to end: new leads in WhatConverts → polled → cards in Slack, all in; and the naive baseline.

An agency's shape: 100 keys, each routing its leads by source to 10 channels (1,000
subscriptions, 1,000 channels); 100 new leads per key (10 per channel, 10,000 in all) appear in
bench.fastfake (WhatConverts answers after 100 ms; Slack allows 1 post/s/channel). The app runs as
`whatconverts-slack worker` processes. Reported: wall time from the keys falling due to the last
card, requests per delivered lead, 429s, duplicates, and the workers' CPU per delivered lead (poll
share, routing, card, post, bookkeeping). Then, against the same fake, a zap-style loop
(bench.naive): one request per subscription, one post per lead, no pacing.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta

from bench import seed
from bench.common import fake_call, fake_env, fast_fake, measured_workers, run_json, stack, table
from bench.poll import database
from storage.types import utcnow
from tests.support.workers import worker_env

KEYS = 100
SOURCES = 10
PER_CHANNEL = 10
LEADS = KEYS * SOURCES * PER_CHANNEL


async def wait_for_posts(fake, count: int, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (await fake_call(fake, "stats?brief=1"))["slack_posts"] < count:
        await asyncio.sleep(0.5)


async def scenario(engine: str = "sqlite", processes: int = 1) -> dict[str, dict[str, float]]:
    async with database(engine) as url, stack(url) as s, fast_fake(100) as fake:
        sessions = s.app.state.services.sessions
        await seed.connections(sessions, count=KEYS, channels=KEYS * SOURCES, sources=SOURCES)
        created = utcnow() - timedelta(minutes=1)
        for i in range(KEYS):
            leads = [
                seed.lead(1_000_000 + i * 1000 + k, created=created, source=f"src{k % SOURCES}")
                for k in range(SOURCES * PER_CHANNEL)
            ]
            await fake_call(fake, "leads", {"token": f"key-{i}", "leads": leads})
        env = worker_env(url, s.slack, s.wc, POLL_TICK_SECONDS="0.2", DELIVERY_TICK_SECONDS="0.2")
        env = fake_env({**env, "POLL_MIN_INTERVAL_SECONDS": "3600"}, fake)
        async with measured_workers(env, processes, fake) as run:
            await seed.make_due(sessions)
            await wait_for_posts(fake, LEADS, 120)
            await asyncio.sleep(1)  # the last marks
        stats = await fake_call(fake, "stats")
        ours = {
            "wall": max((p[2] for p in stats["posts"]), default=run.started) - run.started,
            "delivered": len({p[1] for p in stats["posts"]}),
            "wc": stats["wc_requests"],
            "slack": stats["slack_posts"] + stats["slack_429"],
            "429": stats["slack_429"],
            "duplicates": stats["duplicates"],
            "cpu": run.cpu,
        }
        await fake_call(fake, "reset", {})
        now = utcnow()
        spec = {
            "base": fake.base,
            "since": (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subscriptions": [
                {"token": f"key-{i}", "source": f"src{j}", "channel": seed.channel(i * SOURCES + j)}
                for i in range(KEYS)
                for j in range(SOURCES)
            ],
        }
        zap = await run_json("bench.naive", spec=spec)
        stats = await fake_call(fake, "stats")
        naive = {
            "wall": zap["wall"],
            "delivered": len({p[1] for p in stats["posts"]}),
            "wc": stats["wc_requests"],
            "slack": stats["slack_posts"] + stats["slack_429"],
            "429": stats["slack_429"],
            "duplicates": stats["duplicates"],
            "cpu": zap["cpu"],
        }
    return {"ours": ours, "naive": naive}


def run(engine: str = "sqlite", processes: int = 1) -> str:
    r = asyncio.run(scenario(engine, processes))
    ours, naive = r["ours"], r["naive"]

    def per_lead(x: dict[str, float]) -> str:
        return f"{(x['wc'] + x['slack']) / max(1, x['delivered']):.2f}"

    rows = [
        ("leads delivered", f"{ours['delivered']:,} of {LEADS:,}", f"{naive['delivered']:,} of {LEADS:,}", "all"),
        ("wall time", f"{ours['wall']:.2f} s", f"{naive['wall']:.2f} s", ""),
        ("WhatConverts requests", f"{ours['wc']:,}", f"{naive['wc']:,}", ""),
        ("Slack requests (incl. refused)", f"{ours['slack']:,}", f"{naive['slack']:,}", ""),
        ("requests per delivered lead", per_lead(ours), per_lead(naive), ""),
        ("429s received", f"{ours['429']:,}", f"{naive['429']:,}", "0 (ours)"),
        ("duplicate cards", f"{ours['duplicates']}", f"{naive['duplicates']}", "0"),
        (
            "CPU per delivered lead",
            f"{ours['cpu'] / max(1, ours['delivered']) * 1000:.2f} ms",
            f"{naive['cpu'] / max(1, naive['delivered']) * 1000:.2f} ms (posts text only, stores nothing)",
            "≤ 1 ms (ours)",
        ),
    ]
    title = (
        f"## End to end ({engine}, {processes} worker{'s' if processes > 1 else ''}): {KEYS} keys x {SOURCES} "
        f"channels, {LEADS:,} new leads, vs a zap-style loop"
    )
    return title + "\n\n" + table(rows, ["measure", "this app", "naive loop", "target"])


if __name__ == "__main__":
    print(run(sys.argv[1] if len(sys.argv) > 1 else "sqlite", int(sys.argv[2]) if len(sys.argv) > 2 else 1))
