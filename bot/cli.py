"""The `whatconverts-slack` console script. The commands are in `bot.cli_commands`.

Only `bot.interrupts` is imported before `main` runs: a Ctrl-C in the first instant of start-up
(Python still importing asyncio or pydantic) ends quietly, like one at any later moment.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.interrupts import deferred


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with deferred():
            from bot.cli_commands import run
        return run(argv)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
