"""The console script as its own process, the way an operator runs it (no app code imported first)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SCRIPT = str(Path(sys.executable).parent / "whatconverts-slack")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any app setting, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TOKEN_", "WHATCONVERTS_", "POLL_", "DELIVERY_", "DATABASE_"))
    }
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"server exited early with {proc.returncode}: {said}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"server did not answer /healthz within {timeout} s")


class Served:
    """A running `whatconverts-slack serve`: its URL, its process and the file its output goes to."""

    def __init__(self, url: str, proc: subprocess.Popen, log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[Served]:
    """`serve` on a free loopback port until the block ends, then Ctrl-C; it must exit 0."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        try:
            wait_healthy(port, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{served.output()}") from None
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0, served.output()
