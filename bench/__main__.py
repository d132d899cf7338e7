"""`python -m bench [name …]` (and `make bench`): run the benchmarks and print one report.

Names: ack, webhook, poll, burst, e2e, latency, scale, escalations (all of them, in that order, by
default). `e2e`, `scale` and `escalations` use PostgreSQL from TEST_POSTGRES_URL (default: the local
server's `test` database, where a fresh database is created and dropped); it takes ~10 minutes in all.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable

from bench import ack, burst, e2e, escalations, latency, poll, scale, webhook

BENCHMARKS: dict[str, Callable[[], str]] = {
    "ack": ack.run,
    "webhook": webhook.run,
    "poll": poll.run,
    "burst": burst.run,
    "e2e": lambda: e2e.run("sqlite") + "\n\n" + e2e.run("postgres"),
    "latency": latency.run,
    "scale": scale.run,
    "escalations": escalations.run,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print(f"# Benchmarks\n\nMachine: {machine()}\n", flush=True)
    for name in names or list(BENCHMARKS):
        print(BENCHMARKS[name](), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
