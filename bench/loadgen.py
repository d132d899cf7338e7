"""A load generator in its own process: fires requests in concurrent rounds, prints timings as JSON.

Kept apart from the fakes and the app so that none of them steals the other's CPU (or GIL) and
skews the measured latency. Input (stdin, JSON): {"url", "secret" (null: unsigned), "rounds",
"pause", "batches": [{"name", "concurrency", "requests": [{"body", "content_type", "url"?}]}]}.
Output: {batch name: [[wall-clock start, seconds to answer], …]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

from tests.fakes.signing import SlackSigner


async def fire(
    session: aiohttp.ClientSession, url: str, signer: SlackSigner | None, request: dict
) -> tuple[float, float]:
    headers = (
        signer.headers(request["body"], content_type=request["content_type"])
        if signer
        else {"content-type": request["content_type"]}
    )
    wall, start = time.time(), time.perf_counter()
    async with session.post(request.get("url") or url, data=request["body"].encode(), headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return wall, time.perf_counter() - start


async def main(spec: dict) -> dict[str, list[tuple[float, float]]]:
    signer = SlackSigner(spec["secret"]) if spec.get("secret") else None
    results: dict[str, list[tuple[float, float]]] = {b["name"]: [] for b in spec["batches"]}
    # A new connection per request, as webhook senders do (and no stale keep-alive between rounds).
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(spec["rounds"]):
            for batch in spec["batches"]:
                requests = batch["requests"]
                results[batch["name"]] += await asyncio.gather(
                    *(
                        fire(session, spec["url"], signer, requests[i % len(requests)])
                        for i in range(batch["concurrency"])
                    )
                )
                await asyncio.sleep(spec["pause"])
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
