"""A fast, narrow loopback fake of the WhatConverts API and the Slack Web API, for scale benchmarks.

The test fakes (``bot/sandbox/whatconverts.py``, ``bot/sandbox/slack.py``) are the reference
behaviour: they model keys, quotas, OAuth, channels and faults, but they are thread-per-connection
``http.server`` servers inside the test process and top out far below what a scale benchmark needs
(10,000 lead polls, then a 10,000-message burst over 1,000 channels). This one runs as its own
process on aiohttp and answers only what those benchmarks exercise, with as little work per request
as possible:

- ``GET /api/v1/leads``: any Basic ``token:secret`` (or Bearer) is accepted; the token names the
  key. Each answer waits ``delay_ms`` (WhatConverts' latency), then lists the leads seeded for that
  key within ``start_date``/``end_date``, in the reference fake's envelope. ``GET /api/v1/accounts``
  answers 403 as it does for a profile key, so the app's connect check works against it too.
- ``POST /api/chat.postMessage``: with ``strict_pacing`` (the default), a second accepted post to a
  channel within 1 s gets Slack's 429 + ``Retry-After: 1``. ``chat.update`` and ``auth.test`` answer
  ok; any other ``/api/<method>`` answers ``{"ok": true}``.
- ``/_bench/*``: seed leads, change ``delay_ms``/``strict_pacing`` at runtime, reset counters, and read
  stats (requests per key, accepted and rate-limited posts, every accepted post, duplicate cards).

Run ``python -m bench.fastfake [--port N] [--delay-ms 100]``: it prints ``PORT <n>`` once the socket
listens and serves until SIGTERM/SIGINT (exit status 0). :func:`start` embeds it instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import bisect
import itertools
import json
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aiohttp import web

# The reference fake's date rules, imported rather than copied so the two cannot drift apart.
from bot.sandbox.slack import _parse_params
from bot.sandbox.whatconverts import _lead_time, _parse_date_param

DEFAULT_DELAY_MS = 100.0
DEFAULT_LEADS_PER_PAGE = 25
# Slack allows about one message per second per channel; the benchmark checks the app keeps to it.
PACING_SECONDS = 1.0

_LEAD_ID = re.compile(r"Lead #(\d+)")
_JSON_TYPE = "application/json"
_RATELIMITED = json.dumps({"ok": False, "error": "ratelimited"}).encode()
_NOT_AUTHED = json.dumps({"ok": False, "error": "not_authed"}).encode()
_OK = json.dumps({"ok": True}).encode()
_AUTH_TEST = json.dumps(
    {
        "ok": True,
        "url": "https://acme.slack.com/",
        "team": "Acme",
        "user": "whatconverts",
        "team_id": "T1",
        "user_id": "UBOT",
        "bot_id": "B1",
        "is_enterprise_install": False,
    }
).encode()
_WC_UNAUTHORISED = json.dumps({"error_message": "API token and secret are required (HTTP Basic)."}).encode()
_WC_NOT_MASTER = json.dumps({"error_message": "This endpoint requires a Master Account API key."}).encode()


@dataclass
class _KeyLeads:
    """One key's leads, kept sorted by creation time so a date window is two bisections."""

    times: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    # Serialised once at seeding: answering 10,000 polls must not re-encode the same leads each time.
    bodies: list[bytes] = field(default_factory=list)


@dataclass
class FastFake:
    """The fake's state; handlers are methods so an embedding process can read it directly."""

    delay_ms: float = DEFAULT_DELAY_MS
    strict_pacing: bool = True
    leads: dict[str, _KeyLeads] = field(default_factory=dict)
    wc_requests: int = 0
    wc_requests_by_key: dict[str, int] = field(default_factory=dict)
    slack_posts: int = 0
    slack_429: int = 0
    posts: list[tuple[str, int | None, float]] = field(default_factory=list)
    duplicates: int = 0
    _delivered: set[tuple[str, int]] = field(default_factory=set)
    # Monotonic, so a wall-clock step during a run cannot open or close the pacing window.
    _last_post: dict[str, float] = field(default_factory=dict)
    _ts_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ control

    def add_leads(self, token: str, leads: list[dict[str, Any]]) -> None:
        store = self.leads.setdefault(token, _KeyLeads())
        added = [(_lead_time(lead), _int_or_zero(lead.get("lead_id")), json.dumps(lead).encode()) for lead in leads]
        # Ties on date_created break by lead_id, as in the reference fake.
        rows = sorted([*zip(store.times, store.ids, store.bodies, strict=True), *added], key=lambda r: r[:2])
        store.times = [r[0] for r in rows]
        store.ids = [r[1] for r in rows]
        store.bodies = [r[2] for r in rows]

    def reset(self) -> None:
        self.wc_requests = 0
        self.wc_requests_by_key.clear()
        self.slack_posts = self.slack_429 = self.duplicates = 0
        self.posts.clear()
        self._delivered.clear()
        self._last_post.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "wc_requests": self.wc_requests,
            "wc_requests_by_key": self.wc_requests_by_key,
            "slack_posts": self.slack_posts,
            "slack_429": self.slack_429,
            "posts": self.posts,
            "duplicates": self.duplicates,
        }

    async def bench_leads(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.add_leads(str(body["token"]), list(body.get("leads") or []))
        return _json({"ok": True, "leads": len(self.leads[str(body["token"])].times)})

    async def bench_config(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        if "delay_ms" in body:
            self.delay_ms = float(body["delay_ms"])
        if "strict_pacing" in body:
            self.strict_pacing = bool(body["strict_pacing"])
        return _json({"delay_ms": self.delay_ms, "strict_pacing": self.strict_pacing})

    async def bench_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json({"ok": True})

    async def bench_stats(self, request: web.Request) -> web.Response:
        stats = self.stats()
        if request.query.get("brief"):
            # Counters only: serialising every post while a burst is being answered would stall the
            # fake's loop and skew the arrival times it paces by.
            del stats["posts"], stats["wc_requests_by_key"]
        return _json(stats)

    # ------------------------------------------------------------------ WhatConverts

    async def wc_leads(self, request: web.Request) -> web.Response:
        token = _wc_token(request.headers.get("Authorization", ""))
        if token is None:
            return _raw(_WC_UNAUTHORISED, 401)
        self.wc_requests += 1
        self.wc_requests_by_key[token] = self.wc_requests_by_key.get(token, 0) + 1
        query = request.query
        try:
            per_page = int(query.get("leads_per_page") or DEFAULT_LEADS_PER_PAGE)
            page = int(query.get("page_number") or 1)
            start, end = query.get("start_date"), query.get("end_date")
            start_at = _date_param(start, end=False) if start else None
            end_at = _date_param(end, end=True) if end else None
        except ValueError as exc:
            return _json({"error_message": str(exc)}, 400)
        if per_page < 1 or page < 1:
            return _json({"error_message": "Invalid leads_per_page or page_number."}, 400)
        if self.delay_ms > 0:
            await asyncio.sleep(self.delay_ms / 1000)
        matched: list[bytes] = []
        store = self.leads.get(token)
        if store is not None:
            lo = 0 if start_at is None else bisect.bisect_left(store.times, start_at)
            hi = len(store.times) if end_at is None else bisect.bisect_right(store.times, end_at)
            matched = store.bodies[lo:hi]
            # The app always asks for asc; desc is the real API's default, honoured only when asked for.
            if query.get("order", "").lower() == "desc":
                matched.reverse()
        total = len(matched)
        chunk = matched[(page - 1) * per_page : page * per_page]
        # Zero matches give total_pages 0, as in the reference fake.
        head = (
            f'{{"page_number": {page}, "leads_per_page": {per_page}, "total_pages": {-(-total // per_page)}, '
            f'"total_leads": {total}, "leads": ['
        ).encode()
        return _raw(head + b", ".join(chunk) + b"]}")

    async def wc_accounts(self, request: web.Request) -> web.Response:
        if _wc_token(request.headers.get("Authorization", "")) is None:
            return _raw(_WC_UNAUTHORISED, 401)
        return _raw(_WC_NOT_MASTER, 403)

    async def wc_other(self, request: web.Request) -> web.Response:
        return _json({"error_message": "Not found."}, 404)

    # ------------------------------------------------------------------ Slack

    async def slack_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method not in ("chat.postMessage", "chat.update", "auth.test"):
            return _raw(_OK)
        raw = await request.read()
        is_json = request.content_type == _JSON_TYPE
        # The reference fake's parsing, so the two read a request alike.
        params = _parse_params(request.query_string, {"content-type": request.headers.get("Content-Type", "")}, raw)
        if not _bearer(request.headers.get("Authorization", "")) and not params.get("token"):
            return _raw(_NOT_AUTHED)
        if method == "auth.test":
            return _raw(_AUTH_TEST)
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            return _json({"ok": False, "error": "channel_not_found"})
        if method == "chat.update":
            return _json({"ok": True, "channel": channel, "ts": params.get("ts")})
        now = time.monotonic()
        if self.strict_pacing:
            last = self._last_post.get(channel)
            if last is not None and now - last < PACING_SECONDS:
                self.slack_429 += 1
                return _raw(_RATELIMITED, 429, {"Retry-After": "1"})
        self._last_post[channel] = now
        self.slack_posts += 1
        lead_id = _lead_id(raw, params, is_json)
        if lead_id is not None:
            key = (channel, lead_id)
            if key in self._delivered:
                self.duplicates += 1
            else:
                self._delivered.add(key)
        self.posts.append((channel, lead_id, time.time()))
        seq = next(self._ts_seq)
        ts = f"{1_700_000_000 + seq // 1_000_000}.{seq % 1_000_000:06d}"
        return _json({"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text") or ""}})

    # ------------------------------------------------------------------ wiring

    def app(self) -> web.Application:
        app = web.Application()
        app[FAKE] = self
        app.router.add_get("/api/v1/leads", self.wc_leads)
        app.router.add_get("/api/v1/accounts", self.wc_accounts)
        app.router.add_route("*", "/api/v1/{rest:.*}", self.wc_other)
        app.router.add_post("/api/{method}", self.slack_method)
        app.router.add_post("/_bench/leads", self.bench_leads)
        app.router.add_post("/_bench/config", self.bench_config)
        app.router.add_post("/_bench/reset", self.bench_reset)
        app.router.add_get("/_bench/stats", self.bench_stats)
        return app


FAKE = web.AppKey("fastfake", FastFake)


def _raw(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, headers=headers, content_type=_JSON_TYPE)


def _json(data: Any, status: int = 200) -> web.Response:
    return _raw(json.dumps(data).encode(), status)


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@lru_cache(maxsize=4096)
def _date_param(value: str, *, end: bool) -> float:
    # A poll round sends the same few date strings thousands of times; strptime is the costly part.
    return _parse_date_param(value, "end_date" if end else "start_date", end=end)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _wc_token(header: str) -> str | None:
    """The key a WhatConverts request authenticates as: the Basic user name, or the Bearer token."""
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip() or None
    if scheme != "basic":
        return None
    try:
        user, sep, _ = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if sep and user else None


def _lead_id(raw: bytes, params: dict[str, Any], is_json: bool) -> int | None:
    # A JSON body carries "Lead #<id>" verbatim, so searching it saves walking the blocks.
    if is_json:
        haystack = raw.decode("utf-8", "replace")
    else:
        blocks = params.get("blocks")
        haystack = f"{params.get('text') or ''} {blocks if isinstance(blocks, str) else json.dumps(blocks)}"
    match = _LEAD_ID.search(haystack)
    return int(match.group(1)) if match else None


async def start(
    port: int = 0, delay_ms: float = DEFAULT_DELAY_MS, *, strict_pacing: bool = True
) -> tuple[web.AppRunner, int]:
    """Serve the fake on 127.0.0.1:``port`` (0: a free port); ``runner.app[FAKE]`` is its state."""
    fake = FastFake(delay_ms=delay_ms, strict_pacing=strict_pacing)
    # No access log: a line per request would cost more CPU than answering it. A short shutdown
    # timeout: polls sleeping out their delay are not worth waiting for when the benchmark ends.
    runner = web.AppRunner(fake.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    # 10,000 pollers connect at once; a small backlog drops SYNs and adds 1 s retransmits to latency.
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def _serve(port: int, delay_ms: float) -> None:
    runner, bound = await start(port, delay_ms)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fastfake", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--delay-ms", type=float, default=DEFAULT_DELAY_MS, help="delay before each leads answer")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.delay_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
