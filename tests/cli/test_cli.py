"""The console script as an operator runs it, every subcommand as its own process.

`demo` is run this way in tests/cli/test_demo.py and `rotate-keys` in tests/cli/test_key_rotation.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet

from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.processes import SCRIPT, clean_env, free_port, run, wait_healthy
from tests.support.workers import worker_env
from tests.support.workspace import UNMETERED, seed_workspace, wait_for_lead

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({**SLACK_ENV, "SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
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
    port = free_port()
    proc = subprocess.Popen(
        [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path, **SLACK_ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_healthy(port, proc)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert health.status_code == 200
    assert ready.status_code == 200  # SQLite was migrated at start-up
    assert proc.returncode == 0, err


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_run_serves_healthz(tmp_path: Path) -> None:
    port = free_port()
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
        assert wait_healthy(port, proc).status_code == 200
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


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_worker_delivers_a_lead_and_stops_cleanly(
    stop: signal.Signals, sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, tmp_path: Path
) -> None:
    asyncio.run(seed_workspace(sqlite_url, fake_slack, fake_wc))
    env = worker_env(sqlite_url, fake_slack, fake_wc, WHATCONVERTS_DAILY_QUOTA=str(UNMETERED))
    with (tmp_path / "worker.log").open("w+") as log:
        worker = subprocess.Popen([SCRIPT, "worker"], env=env, stdout=log, stderr=log)
        try:
            lead = fake_wc.add_lead()
            card = wait_for_lead(fake_slack, "C1", lead["lead_id"])
        finally:
            worker.send_signal(stop)
            code = worker.wait(timeout=30)
        log.seek(0)
        output = log.read()

    assert card["channel"] == "C1"
    assert code == 0, output
    assert "Traceback" not in output


def test_manifest_prints_yaml_for_the_base_url() -> None:
    result = run("manifest", "--base-url", "https://leads.example.com", env=clean_env())

    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    urls = _urls(manifest)
    assert urls and all(u.startswith("https://leads.example.com/") for u in urls), urls
    assert "https://leads.example.com/slack/events" in urls


@pytest.mark.parametrize(
    "base_url", ["leads.example.com", "ftp://leads.example.com", "http://leads.example.com", "https://"]
)
def test_manifest_refuses_a_base_url_slack_cant_reach(base_url: str) -> None:
    result = run("manifest", "--base-url", base_url, env=clean_env())

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--base-url" in result.stderr


def _urls(node: object) -> list[str]:
    if isinstance(node, dict):
        return [u for v in node.values() for u in _urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    return [node] if isinstance(node, str) and node.startswith(("http://", "https://")) else []
