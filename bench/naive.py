"""The naive baseline: what a hand-built, zap-style loop does, for the ratio.

One `GET /leads` per subscription per cycle (each subscription is its own zap, with its own
filter step), then one `chat.postMessage` per matching lead, straight away, no pacing; a 429 is
retried after its Retry-After, as Zapier's auto-replay would. Run as its own process:
`python -m bench.naive` with a JSON spec on stdin {"base", "subscriptions": [{"token", "source",
"channel"}], "since"}; prints {"wall", "cpu", "wc_requests", "posts", "retries"}.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time

import aiohttp

IN_FLIGHT = 200


async def main(spec: dict) -> dict[str, float]:
    counts = {"wc_requests": 0, "posts": 0, "retries": 0}
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def post(http: aiohttp.ClientSession, channel: str, lead: dict) -> None:
        body = {"channel": channel, "text": f"New lead: Lead #{lead['lead_id']} · {lead.get('contact_name')}"}
        while True:
            async with (
                gate,
                http.post(
                    f"{spec['base']}/api/chat.postMessage", json=body, headers={"Authorization": "Bearer xoxb-zap"}
                ) as response,
            ):
                await response.read()
                counts["posts"] += 1
                if response.status != 429:
                    return
                counts["retries"] += 1
                wait = float(response.headers.get("Retry-After", "1"))
            await asyncio.sleep(wait)

    async def zap(http: aiohttp.ClientSession, sub: dict) -> None:
        auth = "Basic " + base64.b64encode(f"{sub['token']}:secret".encode()).decode()
        params = {"start_date": spec["since"], "end_date": spec["until"], "leads_per_page": "2500"}
        async with (
            gate,
            http.get(f"{spec['base']}/api/v1/leads", params=params, headers={"Authorization": auth}) as response,
        ):
            page = await response.json()
            counts["wc_requests"] += 1
        for lead in page.get("leads") or []:
            if lead.get("lead_source") == sub["source"]:  # the zap's filter step
                await post(http, sub["channel"], lead)

    cpu, wall = time.process_time(), time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
        await asyncio.gather(*(zap(http, sub) for sub in spec["subscriptions"]))
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, **counts}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
