"""Waiting for what the app does after it has answered: Bolt acks an event first, then runs its listener."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 10.0, every: float = 0.05) -> T:
    """`probe()` once it is truthy; its last value when `timeout` passes (the caller's assert then says why)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)
