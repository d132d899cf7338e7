"""bench/fastfake.py, the fast benchmark fake, run as the benchmarks run it: its own process."""

from __future__ import annotations

import base64
import json
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "whatconverts"
BOT = {"Authorization": "Bearer xoxb-1"}


def _launch(delay_ms: int = 50) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fastfake", "--port", "0", "--delay-ms", str(delay_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    # A fake that never comes up should fail the test, not hang it.
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        pytest.fail(f"fastfake did not print its port: {line!r}")
    return proc, int(line.split()[1])


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    proc, port = _launch()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture
async def http(fake_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(fake_url) as session:
        async with session.post("/_bench/reset") as resp:
            assert resp.status == 200
        async with session.post("/_bench/config", json={"strict_pacing": True, "delay_ms": 50}) as resp:
            assert resp.status == 200
        yield session


def _basic(token: str, secret: str = "s3cret") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:{secret}".encode()).decode()}


async def _stats(http: aiohttp.ClientSession) -> dict:
    async with http.get("/_bench/stats") as resp:
        return await resp.json()


async def _post(http: aiohttp.ClientSession, channel: str, text: str) -> aiohttp.ClientResponse:
    body = {"channel": channel, "text": "New lead", "blocks": [{"type": "section", "text": {"text": text}}]}
    async with http.post("/api/chat.postMessage", json=body, headers=BOT) as resp:
        await resp.read()
        return resp


async def test_leads_are_delayed_counted_per_key_and_filtered_by_key_and_window(http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    async with http.get("/api/v1/leads", params={"leads_per_page": "2500"}, headers=_basic("k1")) as resp:
        body = await resp.json()
    assert time.monotonic() - started >= 0.05
    assert resp.status == 200
    # The reference fake's envelope for no matches.
    assert body == {"page_number": 1, "leads_per_page": 2500, "total_pages": 0, "total_leads": 0, "leads": []}

    leads = json.loads((FIXTURES / "leads_page_mixed.json").read_text())["leads"]  # 2016-08-04 14:00-14:05
    outside = {**leads[0], "lead_id": 1, "date_created": "2016-09-01T00:00:00Z"}
    async with http.post("/_bench/leads", json={"token": "k1", "leads": [*leads, outside]}) as resp:
        assert resp.status == 200
    params = {
        "start_date": "2016-08-04T14:00:30Z",
        "end_date": "2016-08-31",
        "order": "asc",
        "leads_per_page": "2500",
        "page_number": "1",
        "unknown_filter": "x",
    }
    async with http.get("/api/v1/leads", params=params, headers=_basic("k1")) as resp:
        own = await resp.json()
    async with http.get("/api/v1/leads", params=params, headers=_basic("k2", "other")) as resp:
        other = await resp.json()

    assert [lead["lead_id"] for lead in own["leads"]] == [448601, 448621]  # oldest first, window applied
    assert own["leads"][1] == leads[0]  # kept exactly as seeded
    assert (own["total_leads"], own["total_pages"]) == (2, 1)
    assert other["leads"] == []
    stats = await _stats(http)
    assert stats["wc_requests"] == 3
    assert stats["wc_requests_by_key"] == {"k1": 2, "k2": 1}


async def test_leads_need_credentials(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/leads") as resp:
        assert resp.status == 401
    async with http.get("/api/v1/leads", headers={"Authorization": "Bearer wc_at_x"}) as resp:
        assert resp.status == 200
    assert (await _stats(http))["wc_requests_by_key"] == {"wc_at_x": 1}


async def test_posts_are_paced_per_channel(http: aiohttp.ClientSession) -> None:
    first = await _post(http, "C1", "Lead #7 · today")
    second = await _post(http, "C1", "Lead #8 · today")
    elsewhere = await _post(http, "C2", "Lead #8 · today")

    assert first.status == 200 and elsewhere.status == 200
    assert second.status == 429
    assert second.headers["Retry-After"] == "1"
    stats = await _stats(http)
    assert (stats["slack_posts"], stats["slack_429"], stats["duplicates"]) == (2, 1, 0)
    assert [(channel, lead_id) for channel, lead_id, _ in stats["posts"]] == [("C1", 7), ("C2", 8)]
    assert all(abs(at - time.time()) < 60 for _, _, at in stats["posts"])


async def test_post_answers_like_slack_and_needs_a_token(http: aiohttp.ClientSession) -> None:
    async with http.post("/api/chat.postMessage", data={"channel": "C9", "text": "hi"}) as resp:
        assert await resp.json() == {"ok": False, "error": "not_authed"}
    form = {"channel": "C9", "text": "hi", "blocks": json.dumps([{"type": "context", "text": "Lead #42 · now"}])}
    async with http.post("/api/chat.postMessage", data=form, headers=BOT) as resp:
        posted = await resp.json()
    async with http.post("/api/chat.postMessage", json={"channel": "C10", "text": "hi"}, headers=BOT) as resp:
        again = await resp.json()
    assert posted["ok"] and posted["channel"] == "C9" and posted["message"] == {"text": "hi"}
    assert again["ts"] != posted["ts"]
    async with http.post("/api/auth.test", headers=BOT) as resp:
        auth = await resp.json()
    assert (auth["ok"], auth["team_id"], auth["user_id"], auth["bot_id"]) == (True, "T1", "UBOT", "B1")
    update = {"channel": "C9", "ts": posted["ts"], "text": "edited"}
    async with http.post("/api/chat.update", json=update, headers=BOT) as resp:
        assert await resp.json() == {"ok": True, "channel": "C9", "ts": posted["ts"]}
    async with http.post("/api/views.publish", json={}, headers=BOT) as resp:
        assert await resp.json() == {"ok": True}
    assert [(c, lead_id) for c, lead_id, _ in (await _stats(http))["posts"]] == [("C9", 42), ("C10", None)]


async def test_repeated_lead_in_a_channel_is_a_duplicate(http: aiohttp.ClientSession) -> None:
    async with http.post("/_bench/config", json={"strict_pacing": False}) as resp:
        assert (await resp.json())["strict_pacing"] is False
    for channel, text in (("C1", "Lead #5 · x"), ("C1", "Lead #5 · x"), ("C2", "Lead #5 · x"), ("C1", "no id")):
        assert (await _post(http, channel, text)).status == 200
    stats = await _stats(http)
    assert (stats["slack_posts"], stats["slack_429"], stats["duplicates"]) == (4, 0, 1)


def test_sigterm_exits_cleanly() -> None:
    proc, _ = _launch()
    assert _stop(proc) == 0
