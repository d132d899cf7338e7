"""The floor for a poll cycle: a bare aiohttp loop making the same requests, nothing else.

Run as its own process, like the app: `python -m bench.floor URL COUNT IN_FLIGHT` prints
{"wall": s, "cpu": s, "errors": n} as JSON. Each request uses its own key, as the app's would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time

import aiohttp


async def main(url: str, count: int, in_flight: int) -> dict[str, float]:
    errors = 0
    params = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-01T00:10:00Z", "order": "asc"}

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        auth = "Basic " + base64.b64encode(f"floor-{i}:secret".encode()).decode()
        async with session.get(url, params=params, headers={"Authorization": auth}) as response:
            await response.json()
            errors += response.status != 200

    cpu, wall = time.process_time(), time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        await asyncio.gather(*(one(session, i) for i in range(count)))
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))))
