"""Webhooks under load: 100 concurrent posts, time to 200 (target p99 ≤ 100 ms) and to the card (≤ 1 s).

The app runs as `whatconverts-slack serve` (web and scheduler in one process) against the
fakes; 100 leads go to 100 channels (one subscription each), so channel pacing isn't what is
measured. Webhook-to-card is from sending the webhook to the fake Slack receiving the post.
The floor, in the same run: bare Starlette on uvicorn (`bench.webhook_floor`) answering the
same posts from the same load generator, since this machine's speed varies from run to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.common import app_process, free_port, percentile, run_json, stack, table, wait_healthy
from tests.support.workers import worker_env

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "whatconverts"
POSTS = 100
ROUNDS = 3
SCHEDULER = True


@contextlib.asynccontextmanager
async def floor_process() -> AsyncIterator[str]:
    """`bench.webhook_floor` in its own process, like the app; its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.webhook_floor", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def main() -> dict[str, list[float]]:
    async with stack() as s:
        for i in range(POSTS):
            s.slack.add_channel("T1", f"C{i:03d}", name=f"leads-{i}")
            await s.client.ask(f"subscribe +source:src{i}", channel_id=f"C{i:03d}")
        token = (await s.client.ask("webhook"))["text"].split("```")[1].rsplit("/", 1)[1]
        env = worker_env(s.database_url, s.slack, s.wc, LOG_LEVEL="WARNING", DELIVERY_TICK_SECONDS="0.5")
        del env["POLL_TICK_SECONDS"]  # polling isn't measured here
        leads: list[int] = []
        batches = []
        sample = json.loads((FIXTURES / "webhook_chat_new.json").read_text())
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
        warmup = [
            {"body": json.dumps({**sample, "lead_id": 800_000 + i, "lead_source": "warm-up", "account_id": 1,
                                 "profile_id": 10, "date_created": created, "last_updated": created}),
             "content_type": "application/json"}
            for i in range(20)
        ]  # fmt: skip
        batches.append({"name": "warm-up", "concurrency": 20, "requests": warmup})
        for r in range(ROUNDS):
            requests = []
            for i in range(POSTS):
                # Only the webhook knows these leads (the fake API doesn't), so polling can't deliver them first.
                lead_id = 900_000 + r * POSTS + i
                payload = {
                    **sample,
                    "lead_id": lead_id,
                    "lead_source": f"src{i}",
                    "account_id": 1,
                    "profile_id": 10,
                    "date_created": created,
                    "last_updated": created,
                    "contact_name": f"Round {r} lead {i}",
                }
                leads.append(lead_id)
                requests.append({"body": json.dumps(payload), "content_type": "application/json"})
            batches.append({"name": f"round {r}", "concurrency": POSTS, "requests": requests})
        with tempfile.TemporaryDirectory() as tmp:
            async with app_process(env, Path(tmp) / "app.log", scheduler=SCHEDULER) as base:
                spec = {"url": f"{base}/whatconverts/webhook/{token}", "secret": None, "rounds": 1, "pause": 3.0,
                        "batches": batches}  # fmt: skip
                try:
                    timings = await run_json("bench.loadgen", spec=spec)
                except RuntimeError as exc:
                    raise RuntimeError(f"{exc}\n{(Path(tmp) / 'app.log').read_text()[-3000:]}") from exc
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and len(s.slack.calls_to("chat.postMessage")) < len(leads):
                    await asyncio.sleep(0.2)
                errors = [line for line in (Path(tmp) / "app.log").read_text().splitlines() if "ERROR" in line]
                if errors:
                    print("\n".join(errors[:20]), file=sys.stderr)
        async with floor_process() as floor:
            spec = {"url": f"{floor}/whatconverts/webhook/{token}", "secret": None, "rounds": 1, "pause": 3.0,
                    "batches": batches}  # fmt: skip
            floor_timings = await run_json("bench.loadgen", spec=spec)
        sent = {
            int(m): call.at
            for call in s.slack.calls_to("chat.postMessage")
            for m in re.findall(r"Lead #(\d+) · ", json.dumps(call.params.get("blocks"), ensure_ascii=False))
        }
        to_200: list[float] = []
        to_card: list[float] = []
        floor_200: list[float] = []
        for r in range(ROUNDS):
            floor_200.extend(seconds for _, seconds in floor_timings[f"round {r}"])
            for i, (wall, seconds) in enumerate(timings[f"round {r}"]):
                to_200.append(seconds)
                lead_id = leads[r * POSTS + i]
                if lead_id in sent:
                    to_card.append(sent[lead_id] - wall)
        missing = len(leads) - len(to_card)
        return {
            "time to 200": to_200,
            "floor: bare Starlette, same posts": floor_200,
            "webhook to chat.postMessage": to_card,
            "missing": [float(missing)],
        }


def run() -> str:
    results = asyncio.run(main())
    missing = int(results.pop("missing")[0])
    targets = {"time to 200": "≤ 100", "webhook to chat.postMessage": "≤ 1000"}
    rows = [
        (name, len(v), f"{percentile(v, 0.5) * 1000:.1f}", f"{percentile(v, 0.99) * 1000:.1f}", targets.get(name, ""))
        for name, v in results.items()
    ]
    ratio = percentile(results["time to 200"], 0.99) / percentile(results["floor: bare Starlette, same posts"], 0.99)
    return (
        f"## Webhooks ({POSTS} concurrent posts, {ROUNDS} rounds)\n\n"
        + table(rows, ["measure", "n", "p50 ms", "p99 ms", "target p99 ms"])
        + f"\n\ntime to 200, p99 over the floor's p99 (same run): {ratio:.2f}"
        + f"\nleads without a card after 60 s: {missing}"
    )


if __name__ == "__main__":
    print(run())
