"""`whatconverts-slack demo` as its own process, for the tests that look at its page."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import SCRIPT, clean_env, free_port


@dataclass
class Demo:
    """A running demo: its base URL, its process and the file its stderr goes to."""

    url: str
    proc: subprocess.Popen[str]
    errors: Path

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person would; returns the exit code and what it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code, self.errors.read_text(errors="replace")


@contextmanager
def running_demo() -> Iterator[Demo]:
    """The demo on a free port, set up (its banner printed) before the block starts."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="demo-test-") as tmp:
        errors = Path(tmp) / "stderr.txt"
        with errors.open("w") as err:
            proc = subprocess.Popen(
                [SCRIPT, "demo", "--port", str(port)], env=clean_env(), stdout=subprocess.PIPE, stderr=err, text=True
            )
        demo = Demo(f"http://127.0.0.1:{port}", proc, errors)
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()  # blocks until the demo has set itself up
            assert banner.startswith(f"WhatConverts for Slack demo: open {demo.url}"), banner + errors.read_text()
            yield demo
        finally:
            demo.stop()


def wait_for_card(base: str, cards: int = 1, timeout: float = 60) -> dict:
    """The page's state once #leads shows `cards` lead cards (a new lead arrives every 3 to 6 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/sandbox/state", timeout=5).json()
        if state["channels"]["C0LEADS"].count("Lead #") >= cards:
            return state
        time.sleep(0.5)
    raise AssertionError(f"fewer than {cards} lead cards in #leads within {timeout} s")
