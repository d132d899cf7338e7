"""Ctrl-C while the CLI starts: noted, and raised where the CLI handles it.

Raised at an arbitrary point of an import, a KeyboardInterrupt can turn into another error inside
a C extension (pydantic-core panics with PanicException) or be swallowed by a library that
catches too much, leaving a process that ignores Ctrl-C. So while Python imports and builds the
app, Ctrl-C only takes note; it is raised as KeyboardInterrupt when that block ends. Once an
event loop runs, asyncio and uvicorn handle it themselves.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def deferred() -> Iterator[None]:
    """Inside the block Ctrl-C is noted, not raised; when the block ends, a noted one is raised."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if noted:
        raise KeyboardInterrupt
