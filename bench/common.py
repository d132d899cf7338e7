"""Shared set-up for benchmarks: fakes, a database, the app on a real port, an installed workspace."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from starlette.applications import Starlette

from bot.app import create_app
from storage import migrate
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, PROFILE_SECRET, PROFILE_TOKEN, SIGNING_SECRET
from tests.support.install import install
from tests.support.server import serve
from tests.support.settings import make_settings
from tests.support.workers import SCRIPT


@dataclass
class Stack:
    app: Starlette
    url: str
    slack: FakeSlack
    wc: FakeWhatConverts
    client: SlackClient
    database_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Process:
    """A process the benchmark started: where it listens (if it does) and its pid, for /proc readings."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@asynccontextmanager
async def fast_fake(delay_ms: float = 100.0) -> AsyncIterator[Process]:
    """bench.fastfake in its own process: WhatConverts and Slack fast enough for 10,000-scale runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fastfake", "--port", "0", "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line.startswith("PORT "):
            raise RuntimeError(f"bench.fastfake did not start: {line!r}")
        yield Process(f"http://127.0.0.1:{int(line.split()[1])}", proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


async def run_json(module: str, *args: str, spec: object = None) -> Any:
    """`python -m <module> args…` in its own process (spec as JSON on stdin); its stdout read as JSON."""
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", module, *args],
        input=None if spec is None else json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def fake_env(env: dict[str, str], fake: Process) -> dict[str, str]:
    """Point an app environment at bench.fastfake for both APIs."""
    return {**env, "SLACK_API_URL": f"{fake.base}/api/", "WHATCONVERTS_API_URL": f"{fake.base}/api/v1/"}


async def fake_call(fake: Process, path: str, body: dict | None = None) -> dict:
    async with httpx.AsyncClient(timeout=60) as http:
        if body is None:
            response = await http.get(f"{fake.base}/_bench/{path}")
        else:
            response = await http.post(f"{fake.base}/_bench/{path}", json=body)
        response.raise_for_status()
        return dict(response.json())


@asynccontextmanager
async def workers(env: dict[str, str], count: int, logs: Path) -> AsyncIterator[list[Process]]:
    """`count` `whatconverts-slack worker` processes (scheduler only, no web), as the Procfile runs them."""
    procs: list[subprocess.Popen] = []
    try:
        for i in range(count):
            with (logs / f"worker-{i}.log").open("ab") as out:
                procs.append(subprocess.Popen([SCRIPT, "worker"], env=env, stdout=out, stderr=out))
        spies = [_profiler(p.pid, suffix=f".{i}" if i else "") for i, p in enumerate(procs)]
        try:
            yield [Process("", p.pid) for p in procs]
        finally:
            for spy in spies:
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=30)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)


@dataclass
class Measured:
    """Worker processes under measurement: the clock and CPU start when the block starts."""

    procs: list[Process]
    started: float
    cpu: float = 0.0
    rss: float = 0.0
    _cpu_at_start: list[float] = field(default_factory=list)


@asynccontextmanager
async def measured_workers(env: dict[str, str], count: int, fake: Process) -> AsyncIterator[Measured]:
    """`count` workers, started and settled, the fake's counters reset; on leaving the block, their
    CPU seconds and peak RSS are recorded in the result, and ERROR lines of their logs printed."""
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(os.environ.get("BENCH_LOGS", tmp))
        async with workers(env, count, logs) as procs:
            await asyncio.sleep(3)  # started, migrated, scheduler ticking
            await fake_call(fake, "reset", {})
            run = Measured(procs, time.time(), _cpu_at_start=[p.cpu_seconds() for p in procs])
            yield run
            run.cpu = sum(p.cpu_seconds() - c for p, c in zip(procs, run._cpu_at_start, strict=True))
            run.rss = max(p.peak_rss_mb() for p in procs)
        errors = [line for f in logs.glob("*.log") for line in f.read_text().splitlines() if " ERROR " in line]
    if errors:
        print("\n".join(errors[:10]), file=sys.stderr)


async def wait_healthy(base: str) -> None:
    """Until `base/healthz` answers 200 (at most ~30 s: the caller's requests then say what is wrong)."""
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)


@asynccontextmanager
async def app_process(env: dict[str, str], log: Path, *, scheduler: bool = False) -> AsyncIterator[str]:
    """`whatconverts-slack serve` in its own process (so the load generator doesn't share its CPU)."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [SCRIPT, "serve", *([] if scheduler else ["--no-scheduler"]), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base)
            spy = _profiler(proc.pid)
            try:
                yield base
            finally:
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _profiler(pid: int, suffix: str = "") -> subprocess.Popen | None:
    """With BENCH_PROFILE=path, py-spy samples the app process into `path` (collapsed stacks)."""
    target = os.environ.get("BENCH_PROFILE")
    if not target:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--nonblocking"]
    command += ["-o", target + suffix]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def load_client(base: str, slack: FakeSlack) -> SlackClient:
    """A signed-request client on aiohttp's transport: httpx's own pool would cost more CPU than the app."""
    return SlackClient(
        base, SIGNING_SECRET, response_url=slack.response_url(), transport=AiohttpTransport(), timeout=60
    )


@asynccontextmanager
async def stack(database_url: str | None = None, **overrides: object) -> AsyncIterator[Stack]:
    """Fakes + the app (SQLite in a temporary folder unless a URL is given), installed and connected."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as slack,
        FakeWhatConverts() as wc,
    ):
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        slack.add_team("T1")
        for user, admin in (("U1", True), ("U2", False)):
            slack.add_user("T1", user, is_admin=admin)
        wc.add_profile_key(PROFILE_TOKEN, PROFILE_SECRET)
        wc.set_daily_limit(PROFILE_TOKEN, None)
        wc.add_lead(date_created="2020-01-01T00:00:00Z")
        app = create_app(
            make_settings(url, slack, wc, whatconverts_daily_quota=10**7, **overrides), run_scheduler=False
        )
        async with (
            serve(app) as base,
            SlackClient(base, SIGNING_SECRET, response_url=slack.response_url(), replies=slack) as client,
        ):
            assert (await install(base, slack)).status_code == 200
            await connect_key(base, client, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
            yield Stack(app=app, url=base, slack=slack, wc=wc, client=client, database_url=url)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(values: Sequence[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 0.5) * 1000:.1f} ms p99={percentile(values, 0.99) * 1000:.1f} ms "
        f"max={max(values) * 1000:.1f} ms mean={statistics.mean(values) * 1000:.1f} ms"
    )


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"  # noqa: E731
    return "\n".join([line(header), "| " + " | ".join("-" * w for w in widths) + " |", *(line(r) for r in rows)])
