"""Lead to Slack: from a lead appearing to its `chat.postMessage` arriving, by webhook and by poll.

The app runs as one `whatconverts-slack serve` process (web and scheduler, the default layout)
against bench.fastfake. Webhook path: 200 leads posted at 10 per second by a load generator in its
own process, each for its own channel (target p99 ≤ 500 ms). Poll path: 100 keys polled every
10 s; 90 leads appear at random keys over 30 s (target p99 ≤ interval + 1 s).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench import seed
from bench.common import app_process, fake_call, fake_env, fast_fake, percentile, run_json, stack, table
from bench.poll import database
from bot.alerts import webhooks
from storage.models import Connection
from tests.support.workers import worker_env

WEBHOOKS = 200
WEBHOOK_RATE = 10.0
POLL_KEYS = 100
POLL_INTERVAL = 10
POLL_LEADS = 90
POLL_SPREAD = 30.0


async def scenario(engine: str = "sqlite") -> dict[str, list[float]]:
    async with database(engine) as url, stack(url) as s, fast_fake(100) as fake:
        services = s.app.state.services
        (hooked,) = await seed.connections(services.sessions, count=1, channels=1, sources=WEBHOOKS)
        polled = await seed.connections(services.sessions, count=POLL_KEYS, channels=10**5, first=WEBHOOKS)
        async with services.sessions() as session:
            connection = (await session.execute(select(Connection).where(Connection.id == hooked[0]))).scalar_one()
        token = await webhooks.ensure_token(services, connection)
        env = worker_env(url, s.slack, s.wc, POLL_TICK_SECONDS="0.5", DELIVERY_TICK_SECONDS="1")
        env = fake_env({**env, "POLL_MIN_INTERVAL_SECONDS": str(POLL_INTERVAL), "LOG_LEVEL": "WARNING"}, fake)
        with tempfile.TemporaryDirectory() as tmp:
            async with app_process(env, Path(tmp) / "app.log", scheduler=True) as base:
                await asyncio.sleep(2)
                await fake_call(fake, "reset", {})
                webhook = await webhook_path(base, token, fake)
                poll = await poll_path(services.sessions, polled, fake)
    return {"webhook": webhook, "poll": poll}


async def webhook_path(base: str, token: str, fake) -> list[float]:  # type: ignore[no-untyped-def]
    sample = json.loads((seed.FIXTURES / "webhook_chat_new.json").read_text())
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests = [
        {
            "body": json.dumps(
                {
                    **sample,
                    "lead_id": 5_000_000 + i,
                    "lead_source": f"src{i}",
                    "date_created": created,
                    "last_updated": created,
                }
            ),
            "content_type": "application/json",
        }
        for i in range(WEBHOOKS)
    ]
    batches = [{"name": str(i), "concurrency": 1, "requests": [r]} for i, r in enumerate(requests)]
    spec = {"url": f"{base}/whatconverts/webhook/{token}", "secret": None, "rounds": 1, "pause": 1 / WEBHOOK_RATE,
            "batches": batches}  # fmt: skip
    timings = await run_json("bench.loadgen", spec=spec)
    sent = {5_000_000 + int(name): started[0][0] for name, started in timings.items()}
    await wait_for(fake, set(sent), 30)
    posted = {p[1]: p[2] for p in (await fake_call(fake, "stats"))["posts"] if p[1] in sent}
    return [posted[lead] - at for lead, at in sent.items() if lead in posted]


async def poll_path(sessions, polled: list[tuple[int, str]], fake) -> list[float]:  # type: ignore[no-untyped-def]
    await seed.make_due(sessions)
    await asyncio.sleep(POLL_INTERVAL)  # the first cycle runs; from now on every key is polled every interval
    rng = random.Random(7)
    created: dict[int, float] = {}
    for i in range(POLL_LEADS):
        lead_id = 6_000_000 + i
        _, token = rng.choice(polled)
        created[lead_id] = time.time()
        lead = seed.lead(lead_id, created=datetime.now(UTC))
        await fake_call(fake, "leads", {"token": token, "leads": [lead]})
        await asyncio.sleep(POLL_SPREAD / POLL_LEADS)
    await wait_for(fake, set(created), POLL_INTERVAL * 3)
    posted = {p[1]: p[2] for p in (await fake_call(fake, "stats"))["posts"] if p[1] in created}
    return [posted[lead] - at for lead, at in created.items() if lead in posted]


async def wait_for(fake, leads: set[int], timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posted = {p[1] for p in (await fake_call(fake, "stats"))["posts"]}
        if leads <= posted:
            return
        await asyncio.sleep(0.5)


def run(engine: str = "sqlite") -> str:
    r = asyncio.run(scenario(engine))
    targets = {"webhook": "≤ 500", "poll": f"≤ {(POLL_INTERVAL + 1) * 1000}"}
    expected = {"webhook": WEBHOOKS, "poll": POLL_LEADS}
    rows = [
        (
            f"{name} path",
            f"{len(v)} of {expected[name]}",
            f"{percentile(v, 0.5) * 1000:.0f}",
            f"{percentile(v, 0.99) * 1000:.0f}",
            targets[name],
        )
        for name, v in r.items()
    ]
    return f"## Lead to Slack ({engine}; webhooks at {WEBHOOK_RATE:.0f}/s, polls every {POLL_INTERVAL} s)\n\n" + table(
        rows, ["path", "cards", "p50 ms", "p99 ms", "target p99 ms"]
    )


if __name__ == "__main__":
    print(run(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
