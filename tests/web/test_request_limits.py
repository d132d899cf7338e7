"""A hostile upload is refused at the door: fast, in bounded memory, with nothing logged, and
`/healthz` answers all the while.

The app runs as `whatconverts-slack serve` in its own process, so its memory (/proc/PID/status)
and its log (the process's output) are measured the way an operator would see them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.fakes.signing import FORM, SlackSigner
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.processes import Served, clean_env, serving
from tests.support.raw_signing import signed_headers

MB = 1024 * 1024
UPLOAD = 50 * MB
CHUNK = 64 * 1024
# What a refused upload may cost the server, and how long the sender may wait for it.
MAX_SECONDS = 2.0
MAX_MEMORY_GROWTH = 50 * MB
MAX_LOG_GROWTH = 1024
# /healthz must stay quick while an upload is being refused.
MAX_HEALTH_SECONDS = 0.5
# What a client reports when the server answered and closed before the upload was all sent.
CLOSED_EARLY = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("limits")
    env = clean_env(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        TOKEN_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'app.db'}",
    )
    with serving(env, tmp / "serve.log") as served:
        yield served


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _reset_peak_memory(pid: int) -> None:
    # From here on VmHWM is the peak RSS of this request alone, however briefly the memory was held.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Cost:
    """What one request cost the server, measured from outside it."""

    seconds: float = 0.0
    memory_growth: int = 0
    log: str = ""
    health: list[tuple[int, float]] = field(default_factory=list)


async def _measure(server: Served, send: Callable[[], Awaitable[T]]) -> tuple[T, Cost]:
    """Run `send` while polling /healthz; what it cost the server comes back with its result."""
    cost = Cost()
    log_before = server.log.stat().st_size
    pid = server.proc.pid
    _reset_peak_memory(pid)
    rss_before = _memory(pid, "VmRSS")
    done = asyncio.Event()

    async def watch() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            while not done.is_set():
                started = time.monotonic()
                try:
                    status = (await http.get("/healthz")).status_code
                except httpx.HTTPError:
                    status = 0
                cost.health.append((status, time.monotonic() - started))
                await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    try:
        result = await send()
    finally:
        cost.seconds = time.monotonic() - started
        await asyncio.sleep(0.2)  # let a slow log line or a late allocation show up
        done.set()
        await watcher
    cost.memory_growth = _memory(pid, "VmHWM") - rss_before
    cost.log = server.log.read_bytes()[log_before:].decode(errors="replace")
    return result, cost


class Upload:
    """`size` bytes of `chunk` repeated, counting what the client actually handed over; at most 10 s of it."""

    def __init__(self, size: int, chunk: bytes = b"x" * CHUNK) -> None:
        self.size = size
        self.chunk = chunk
        self.sent = 0

    def chunks(self) -> Iterator[bytes]:
        deadline = time.monotonic() + 10
        while self.sent < self.size and time.monotonic() < deadline:
            self.sent += len(self.chunk)
            yield self.chunk

    async def async_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


def _forged() -> dict[str, str]:
    """Signature headers that look right (a current, all-digit timestamp) and aren't."""
    return {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=" + "0" * 64}


async def _declared_slack_event(server: Served) -> tuple[int | None, int]:
    # The synchronous client reads the answer even after the server stopped reading the upload.
    body = b"x" * UPLOAD

    def post() -> int:
        # The status line is the answer; its short body can be lost when the server closes on the
        # unread upload (the kernel then resets the connection), so it isn't read.
        with httpx.stream("POST", f"{server.url}/slack/events", content=body, headers=_forged(), timeout=10) as r:
            return r.status_code

    return await asyncio.to_thread(post), UPLOAD


async def _chunked_slack_event(server: Served) -> tuple[int | None, int]:
    upload = Upload(UPLOAD)
    async with httpx.AsyncClient(timeout=10) as http:
        try:
            response = await http.post(f"{server.url}/slack/events", content=upload.async_chunks(), headers=_forged())
        except CLOSED_EARLY:
            # httpx's async transport drops the 413 once the server closes mid-upload (the sync one
            # still reads it; see the other cases); a fast close that left the rest unread is a refusal too.
            return None, upload.sent
    return response.status_code, upload.sent


async def _chunked_connect_form(server: Served) -> tuple[int | None, int]:
    # Many fields just under Starlette's 1 MB per-field limit: without a cap on the whole form, all are kept.
    upload = Upload(UPLOAD, chunk=b"&f=" + b"x" * (CHUNK - 3))
    response = await asyncio.to_thread(
        httpx.post,
        f"{server.url}/whatconverts/connect",
        content=upload.chunks(),
        headers={"content-type": FORM},
        timeout=10,
    )
    return response.status_code, upload.sent


UPLOADS: dict[str, Callable[[Served], Awaitable[tuple[int | None, int]]]] = {
    "slack event with a Content-Length": _declared_slack_event,
    "chunked slack event": _chunked_slack_event,
    "chunked connect form": _chunked_connect_form,
}


@pytest.mark.parametrize("case", list(UPLOADS))
async def test_a_50_mb_upload_is_refused_fast_in_bounded_memory_and_silently(server: Served, case: str) -> None:
    (status, sent), cost = await _measure(server, lambda: UPLOADS[case](server))

    if case == "chunked slack event":
        assert status in (413, None)
        assert sent < UPLOAD / 2, f"the server read {sent} bytes of the upload"
    else:
        assert status == 413
    assert cost.seconds < MAX_SECONDS
    assert cost.memory_growth < MAX_MEMORY_GROWTH, f"{cost.memory_growth / MB:.0f} MB"
    assert len(cost.log.encode()) < MAX_LOG_GROWTH, cost.log[:2000]
    assert cost.health, "/healthz was never polled"
    assert all(status == 200 and seconds < MAX_HEALTH_SECONDS for status, seconds in cost.health), cost.health
    assert server.proc.poll() is None


CANARY = "canary-unverified-body-2b9e"


def _unverified_requests() -> dict[str, tuple[bytes, dict[str, str | bytes], int]]:
    text = f"token=x&team_id=T1&command=/whatconverts&text={CANARY}".encode()
    not_utf8 = text + b"\xff\xfe" + CANARY.encode()
    signer = SlackSigner(SIGNING_SECRET)
    # A current timestamp and no signature: enough to get a body past a digits-only check.
    unsigned = {"content-type": FORM, "x-slack-request-timestamp": str(int(time.time()))}
    return {
        "unsigned": (text, unsigned, 401),
        "wrong secret": (text, SlackSigner("not-the-secret").headers(text, content_type=FORM), 401),
        "not UTF-8, unsigned": (not_utf8, unsigned, 401),
        "not UTF-8, signed": (not_utf8, signed_headers(not_utf8, SIGNING_SECRET, content_type=FORM), 400),
        # "²³" passes str.isdigit(); sent as latin-1, which is how the server decodes header bytes.
        "superscript timestamp": (
            text,
            {**signer.headers(text, content_type=FORM), "x-slack-request-timestamp": "²³".encode("latin-1")},
            401,
        ),
    }


@pytest.mark.parametrize("case", list(_unverified_requests()))
async def test_an_unverified_or_undecodable_body_is_refused_and_never_logged(server: Served, case: str) -> None:
    body, headers, expected = _unverified_requests()[case]

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.post(f"{server.url}/slack/events", content=body, headers=headers)

    response, cost = await _measure(server, send)

    assert response.status_code == expected
    assert CANARY not in cost.log and "Traceback" not in cost.log, cost.log[:2000]
    assert len(cost.log.encode()) < MAX_LOG_GROWTH, cost.log[:2000]
