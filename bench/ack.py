"""Time to ack: 50 concurrent signed slash commands and 50 concurrent block actions (target p99 ≤ 200 ms).

The app runs as `whatconverts-slack serve` in its own process, against the loopback fakes; the
load generator (in this process) measures from sending each signed request to its HTTP answer.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import app_process, load_client, percentile, stack, summary, table
from bot import ids
from bot.delivery import Sender
from bot.poller import Poller
from tests.support.payloads import message_press
from tests.support.workers import worker_env

CONCURRENCY = 50
ROUNDS = 5


async def timed(coro: object) -> float:
    start = time.perf_counter()
    response = await coro  # type: ignore[misc]
    assert response.status_code == 200, response.text
    return time.perf_counter() - start


async def main() -> list[tuple[str, list[float]]]:
    async with stack() as s:
        await s.client.command("subscribe")
        s.wc.add_lead(lead_type="phone_call")
        await Poller(s.app.state.services).tick()
        await Sender(s.app.state.services, spacing=0).tick()
        (post,) = [c for c in s.slack.calls_to("chat.postMessage") if c.params["channel"] == "C1"]
        (message,) = s.slack.messages("C1")
        press = message_press(
            post.params, ids.ACTION_LEAD_QUOTABLE, user_id="U2", message_ts=message["ts"],
            response_url=s.slack.response_url(),
        )  # fmt: skip
        env = worker_env(s.database_url, s.slack, s.wc, LOG_LEVEL="WARNING")
        with tempfile.TemporaryDirectory() as tmp:
            async with app_process(env, Path(tmp) / "app.log") as base, load_client(base, s.slack) as client:
                results: dict[str, list[float]] = {"slash commands": [], "block actions": []}
                texts = ["help", "list", "status", "unknown-thing", "list all"]
                await asyncio.gather(*(client.command("help", user_id="U2") for _ in range(10)))  # warm up
                for _ in range(ROUNDS):
                    results["slash commands"] += await asyncio.gather(
                        *(timed(client.command(texts[i % len(texts)], user_id="U2")) for i in range(CONCURRENCY))
                    )
                    results["block actions"] += await asyncio.gather(
                        *(timed(client.interaction(press)) for _ in range(CONCURRENCY))
                    )
                    await asyncio.sleep(1.0)  # let the work after each ack drain between rounds
        return list(results.items())


def run() -> str:
    results = asyncio.run(main())
    rows = [
        (name, len(v), f"{percentile(v, 0.5) * 1000:.1f}", f"{percentile(v, 0.99) * 1000:.1f}", "≤ 200")
        for name, v in results
    ]
    lines = [f"{name}: {summary(v)}" for name, v in results]
    return (
        f"## Ack latency ({CONCURRENCY} concurrent, {ROUNDS} rounds)\n\n"
        + table(rows, ["request", "n", "p50 ms", "p99 ms", "target p99 ms"])
        + "\n\n"
        + "\n".join(lines)
    )


if __name__ == "__main__":
    print(run())
