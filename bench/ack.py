"""Time to ack: 50 concurrent signed slash commands, 50 concurrent block actions ("Quotable") and 50
concurrent claim presses ("I'll take it" on one card: one wins, the others are told who has it)
(target p99 ≤ 200 ms each).

The app runs as `whatconverts-slack serve` in its own process, against the loopback fakes; the
load generator (in this process) measures from sending each signed request to its HTTP answer.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.common import app_process, percentile, run_json, stack, summary, table
from bot import ids
from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from tests.fakes.signing import command_body, interaction_body
from tests.support.constants import SIGNING_SECRET
from tests.support.payloads import message_press
from tests.support.workers import worker_env

CONCURRENCY = 50
ROUNDS = 5
COMMANDS = ["help", "list", "status", "unknown-thing", "list all"]


async def main() -> list[tuple[str, list[float]]]:
    async with stack() as s:
        await s.client.ask("subscribe")
        s.wc.add_lead(lead_type="phone_call")
        poller, sender = Poller(s.app.state.services), Sender(s.app.state.services, spacing=0)
        await poller.tick()
        await sender.tick()
        await poller.aclose()
        await sender.aclose()
        (post,) = [c for c in s.slack.calls_to("chat.postMessage") if c.params["channel"] == "C1"]
        (message,) = s.slack.messages("C1")
        press = message_press(
            post.params, ids.ACTION_LEAD_QUOTABLE, user_id="U2", message_ts=message["ts"],
            response_url=s.slack.response_url(),
        )  # fmt: skip
        claim = message_press(
            post.params, ids.ACTION_LEAD_CLAIM, user_id="U2", message_ts=message["ts"],
            response_url=s.slack.response_url(),
        )  # fmt: skip
        env = worker_env(s.database_url, s.slack, s.wc, LOG_LEVEL="WARNING")
        commands = [
            dict(
                zip(
                    ("body", "content_type"),
                    command_body(t, user_id="U2", response_url=s.slack.response_url()),
                    strict=True,
                )
            )
            for t in COMMANDS
        ]
        action = dict(zip(("body", "content_type"), interaction_body(press), strict=True))
        claims = dict(zip(("body", "content_type"), interaction_body(claim), strict=True))
        with tempfile.TemporaryDirectory() as tmp:
            async with app_process(env, Path(tmp) / "app.log") as base:
                spec = {
                    "url": f"{base}/slack/events",
                    "secret": SIGNING_SECRET,
                    "rounds": ROUNDS,
                    "pause": 1.0,  # let each batch's work after the ack drain
                    "batches": [
                        {"name": "warm-up", "concurrency": 10, "requests": commands},
                        {"name": "slash commands", "concurrency": CONCURRENCY, "requests": commands},
                        {"name": "block actions", "concurrency": CONCURRENCY, "requests": [action]},
                        {"name": "claim presses", "concurrency": CONCURRENCY, "requests": [claims]},
                    ],
                }
                results = await run_json("bench.loadgen", spec=spec)
        return [(name, [seconds for _, seconds in values]) for name, values in results.items() if name != "warm-up"]


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
