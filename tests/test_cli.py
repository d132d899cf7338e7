"""The console script as an operator runs it: clear configuration errors, and a server that starts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(Path(sys.executable).parent / "whatconverts-slack")
SLACK_ENV = {
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "TOKEN_ENCRYPTION_KEYS": ENCRYPTION_KEY,
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOKEN_", "WHATCONVERTS_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not answer /healthz within 30 s")


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({}, "SLACK_SIGNING_SECRET"),
        ({**SLACK_ENV, "TOKEN_ENCRYPTION_KEYS": ""}, "TOKEN_ENCRYPTION_KEYS"),
        ({**SLACK_ENV, "TOKEN_ENCRYPTION_KEYS": "not-a-key"}, "TOKEN_ENCRYPTION_KEYS"),
        ({**SLACK_ENV, "PORT": "eighty"}, "PORT"),
        ({**SLACK_ENV, "DATABASE_URL": "sqlite:///sync.db"}, "DATABASE_URL"),
        ({**SLACK_ENV, "APP_BASE_URL": "leads.example.com"}, "APP_BASE_URL"),
        ({**SLACK_ENV, "LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(tmp_path: Path, extra: dict[str, str], variable: str) -> None:
    result = subprocess.run(
        [SCRIPT, "serve"], env=_env(tmp_path, **extra), capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and "Traceback" not in result.stderr
    assert "not-a-key" not in result.stderr


def test_serve_answers_healthz_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path, **SLACK_ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _wait_healthy(port, proc)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert health.status_code == 200
    assert ready.status_code == 200  # SQLite was migrated at start-up
    assert proc.returncode == 0, err


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_run_serves_healthz(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        env=_env(tmp_path, **SLACK_ENV, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait_healthy(port, proc).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=30)


def test_migrate_and_gen_key(tmp_path: Path) -> None:
    migrated = subprocess.run(
        [SCRIPT, "migrate"], env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    key = subprocess.run([SCRIPT, "gen-key"], capture_output=True, text=True, timeout=30, check=False)

    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "cli.db").exists()
    assert key.returncode == 0
    Fernet(key.stdout.strip())  # a valid key
