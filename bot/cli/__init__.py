"""The `whatconverts-slack` console script: `main` here, the subcommands in `commands`, their `--help`
text in `help`, binding the port before the app is built in `listen`.

Only `bot.cli.interrupts` is imported before `main` runs: a Ctrl-C in the first instant of start-up
(Python still importing asyncio or pydantic) ends quietly, like one at any later moment.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.cli.interrupts import deferred


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with deferred():
            from bot.cli.commands import run
        return run(argv)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
