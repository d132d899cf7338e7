"""Scale-out on PostgreSQL: the poll cycle and the delivery burst with 1, 2 and 4 worker processes.

Throughput and duplicates (which must stay 0); the machine has 2 cores, so past two processes
the extra ones share them with the fake and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bench import burst, poll
from bench.common import table

PROCESSES = tuple(int(n) for n in os.environ.get("BENCH_PROCESSES", "1,2,4").split(","))


async def measure(processes: tuple[int, ...]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for n in processes:
        p = await poll.cycle("postgres", n)
        b = await burst.burst("postgres", n)
        rows.append(
            (
                n,
                f"{p['wall']:.2f} s ({p['polled'] / p['wall']:,.0f}/s)",
                f"{p['requests']:,} (max {p['max per key']}/key)",
                f"{b['wall']:.2f} s ({b['posted'] / b['wall']:,.0f}/s)",
                f"{b['429']}",
                f"{b['duplicates']}",
                f"{b['cpu'] / max(1, b['posted']) * 1000:.2f} ms",
            )
        )
    return rows


def run(processes: tuple[int, ...] = PROCESSES) -> str:
    rows = asyncio.run(measure(processes))
    header = ["workers", "poll cycle (10,000 keys)", "requests", "burst (10,000 cards)", "429s", "duplicates"]
    header.append("CPU/card")
    return "## Scale-out on PostgreSQL\n\n" + table(rows, header)


if __name__ == "__main__":
    print(run(tuple(int(n) for n in sys.argv[1].split(",")) if len(sys.argv) > 1 else PROCESSES))
