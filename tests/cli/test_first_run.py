"""The first hour of someone deploying the app, each step as its own process: a busy port, missing
settings, a `.env` file, Ctrl-C at any moment, `--help`, `migrate` and what `serve` says at start."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.processes import SCRIPT, clean_env, free_port, run, serving, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(p.name[:4] for p in (ROOT / "storage" / "migrations" / "versions").glob("0*.py"))
SLACK_ENV = {
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "TOKEN_ENCRYPTION_KEYS": ENCRYPTION_KEY,
}
READY = "WhatConverts for Slack demo: open http://127.0.0.1:"


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'first-run.db'}"


@contextmanager
def _busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


# --- A busy port: one line naming it, not uvicorn's traceback ---


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_is_one_line_naming_it(command: str, tmp_path: Path) -> None:
    env = clean_env(**SLACK_ENV, DATABASE_URL=_sqlite(tmp_path)) if command == "serve" else clean_env()
    with _busy_port() as port:
        result = run(command, *(["--host", "127.0.0.1"] if command == "serve" else []), "--port", str(port), env=env)

    assert result.returncode == 1
    assert result.stderr == f"port {port} is in use: set PORT or pass --port\n"


def test_a_busy_port_from_the_environment_is_named_too(tmp_path: Path) -> None:
    with _busy_port() as port:
        result = run("demo", env=clean_env(PORT=str(port)))

    assert result.returncode == 1
    assert result.stderr == f"port {port} is in use: set PORT or pass --port\n"


# --- Settings: everything missing or malformed in one run ---


def test_every_missing_setting_is_listed_in_one_run(tmp_path: Path) -> None:
    result = run("serve", env=clean_env(DATABASE_URL=_sqlite(tmp_path)))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "configuration error: SLACK_SIGNING_SECRET",
        "configuration error: SLACK_CLIENT_ID",
        "configuration error: SLACK_CLIENT_SECRET",
        "configuration error: TOKEN_ENCRYPTION_KEYS",
    ]
    # Each line says what the variable is for and where to get it.
    assert "(proves requests come from Slack) is not set: copy it from your Slack app's Basic Information" in lines[0]
    assert "gen-key" in lines[3]
    assert "Traceback" not in result.stderr


def test_malformed_and_missing_settings_are_listed_together(tmp_path: Path) -> None:
    env = clean_env(
        DATABASE_URL="sqlite:///sync.db",
        PORT="eighty",
        APP_BASE_URL="leads.example.com",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
    )
    result = run("worker", env=env)

    assert result.returncode == 2
    named = [re.match(r"configuration error: (\w+)", line) for line in result.stderr.strip().splitlines()]
    assert [m.group(1) for m in named if m] == [
        "DATABASE_URL",
        "APP_BASE_URL",
        "PORT",
        "SLACK_SIGNING_SECRET",
        "TOKEN_ENCRYPTION_KEYS",
    ]


# --- .env ---


def _without_env_file_override(**extra: str) -> dict[str, str]:
    env = clean_env()
    for name in ("ENV_FILE", "PORT", "APP_BASE_URL"):  # the suite turns .env off; these tests are about the default
        env.pop(name, None)
    return {**env, **extra}


def test_serve_reads_dot_env_and_the_environment_wins(tmp_path: Path) -> None:
    file_port, env_port = free_port(), free_port()
    lines = [f"{name}={value}" for name, value in SLACK_ENV.items()]
    lines += [f"DATABASE_URL={_sqlite(tmp_path)}", f"PORT={file_port}", "APP_BASE_URL=https://from-dotenv.example.com"]
    (tmp_path / ".env").write_text("# as copied from .env.example\n" + "\n".join(lines) + "\n")
    log = tmp_path / "serve.log"

    with log.open("w") as out:
        proc = subprocess.Popen(
            [SCRIPT, "serve", "--host", "127.0.0.1"],
            cwd=tmp_path,
            env=_without_env_file_override(PORT=str(env_port)),
            stdout=out,
            stderr=out,
        )
    try:
        health = wait_healthy(env_port, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)

    assert health.status_code == 200  # the Slack settings came from .env; PORT from the environment
    assert code == 0, log.read_text()
    assert "install at https://from-dotenv.example.com/slack/install" in log.read_text()


def test_without_dot_env_the_settings_are_missing(tmp_path: Path) -> None:
    """The same run from a folder without the file: so the test above is the file's doing."""
    result = subprocess.run(
        [SCRIPT, "serve"],
        cwd=tmp_path,
        env=_without_env_file_override(DATABASE_URL=_sqlite(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "SLACK_SIGNING_SECRET" in result.stderr


# --- Ctrl-C at any moment ---


def _quiet(err: str) -> bool:
    """Nothing but the normal log: no traceback, no error logged on the way out."""
    return "Traceback" not in err and " ERROR " not in err and "Error:" not in err


@pytest.mark.parametrize(
    ("command", "after"),
    [("demo", 0.2), ("demo", 1.0), ("demo", 2.0), ("serve", 0.2), ("serve", 1.0), ("worker", 0.2), ("worker", 1.0)],
)
def test_ctrl_c_while_starting_exits_0_quietly(command: str, after: float, tmp_path: Path) -> None:
    """The first seconds: Python importing, the demo installing and connecting itself, migrations."""
    args = {"demo": ["--port", str(free_port())], "serve": ["--host", "127.0.0.1", "--port", str(free_port())]}
    env = clean_env() if command == "demo" else clean_env(**SLACK_ENV, DATABASE_URL=_sqlite(tmp_path))
    proc = subprocess.Popen(
        [SCRIPT, command, *args.get(command, [])], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, err
    assert _quiet(err), err


def test_ctrl_c_once_the_demo_is_ready_exits_0_quietly_and_port_comes_from_the_environment() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [SCRIPT, "demo"], env=clean_env(PORT=str(port)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # blocks until the demo has set itself up
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)

    assert banner.startswith(f"{READY}{port}/sandbox"), banner + err
    assert health.status_code == 200
    assert proc.returncode == 0, err
    assert _quiet(err), err


# --- What serve says at start ---


def test_serve_logs_the_install_url_without_a_warning_for_https(tmp_path: Path) -> None:
    env = clean_env(**SLACK_ENV, DATABASE_URL=_sqlite(tmp_path), APP_BASE_URL="https://leads.example.com/")
    with serving(env, tmp_path / "serve.log") as served:
        pass

    output = served.output()
    assert "install at https://leads.example.com/slack/install" in output
    assert "Slack needs https" not in output


@pytest.mark.parametrize("base_url", ["http://localhost:3000", "http://leads.example.com"])
def test_serve_warns_when_app_base_url_is_not_https(base_url: str, tmp_path: Path) -> None:
    env = clean_env(**SLACK_ENV, DATABASE_URL=_sqlite(tmp_path), APP_BASE_URL=base_url)
    with serving(env, tmp_path / "serve.log") as served:
        pass

    output = served.output()
    assert f"install at {base_url}/slack/install" in output
    warning = next(line for line in output.splitlines() if "Slack needs https" in line)
    assert "WARNING" in warning and f"APP_BASE_URL is {base_url}, not https" in warning


# --- migrate says what it did ---


def test_migrate_names_what_it_applied_then_says_up_to_date(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=_sqlite(tmp_path))

    first = run("migrate", env=env)
    again = run("migrate", env=env)

    assert first.returncode == 0, first.stderr
    applied = first.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in applied[:-1]] == [f"applied {rev}" for rev in MIGRATIONS]
    assert applied[0] == "applied 0001: initial schema"
    assert applied[-1] == f"database is up to date at {MIGRATIONS[-1]}"
    assert again.returncode == 0
    assert again.stdout == f"already up to date at {MIGRATIONS[-1]}\n"


def test_migrate_from_an_older_release_names_only_the_new_migrations(tmp_path: Path) -> None:
    from storage import migrate

    url = _sqlite(tmp_path)
    migrate.upgrade(url, "0004")

    result = run("migrate", env=clean_env(DATABASE_URL=url))

    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:-1]] == [
        f"applied {rev}" for rev in MIGRATIONS if rev > "0004"
    ]


# --- --help for every command ---

HELP = {
    "serve": ["DATABASE_URL", "APP_BASE_URL", "PORT", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
              "SLACK_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS", "PRIVACY_POLICY_URL", "SUPPORT_URL",
              "WHATCONVERTS_QUOTA_SHARE", "LOG_LEVEL"],
    "worker": ["DATABASE_URL", "SLACK_SIGNING_SECRET", "TOKEN_ENCRYPTION_KEYS", "POLL_MIN_INTERVAL_SECONDS",
               "WHATCONVERTS_QUOTA_SHARE"],
    "demo": ["PORT"],
    "migrate": ["DATABASE_URL"],
    "rotate-keys": ["DATABASE_URL", "TOKEN_ENCRYPTION_KEYS"],
    "manifest": [],
    "gen-key": [],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(HELP))
def test_every_command_help_describes_it_and_lists_the_variables_it_reads(command: str) -> None:
    result = run(command, "--help", env=clean_env())

    assert result.returncode == 0
    text = result.stdout
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 15, text  # says what the command does, not just its name
    listed = re.findall(r"^  ([A-Z][A-Z0-9_]+) ", text, flags=re.MULTILINE)
    assert set(HELP[command]) <= set(listed), text
    if not HELP[command]:
        assert "Reads no settings" in text


def test_serve_help_lists_every_setting_and_worker_no_web_only_one() -> None:
    from bot.config import variables

    serve = run("serve", "--help", env=clean_env()).stdout
    worker = run("worker", "--help", env=clean_env()).stdout

    assert set(re.findall(r"^  ([A-Z][A-Z0-9_]+) ", serve, flags=re.MULTILINE)) == set(variables())
    assert "SLACK_SIGNING_SECRET" in serve and "(required)" in serve
    assert not re.search(r"^  PORT ", worker, flags=re.MULTILINE)


# --- make passes the port through ---


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
@pytest.mark.parametrize("target", ["demo", "run"])
def test_make_passes_port_through(target: str) -> None:
    # Run as `make test` does in CI: a make inside make, whose MAKEFLAGS would add its own lines.
    outer = {k: v for k, v in clean_env().items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def command(*args: str, **env: str) -> str:
        done = subprocess.run(
            ["make", "-n", target, *args], cwd=ROOT, env={**outer, **env}, capture_output=True, text=True,
            timeout=30, check=True,
        )  # fmt: skip
        (line,) = [line for line in done.stdout.splitlines() if "whatconverts-slack" in line]
        return line

    assert command("PORT=3100").endswith("--port 3100")
    assert command(PORT="3200").endswith("--port 3200")
