"""`python -m bench` (and `make bench`): run every benchmark and print one report."""

from __future__ import annotations

import os
import platform

from bench import ack, webhook


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main() -> None:
    print(f"# Benchmarks\n\nMachine: {machine()}\n")
    for bench in (ack, webhook):
        print(bench.run())
        print()


if __name__ == "__main__":
    main()
