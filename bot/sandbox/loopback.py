"""What every loopback fake server shares: bind 127.0.0.1 on a free port, serve from daemon threads.

A fake answers `_handle(method, path, headers, body)` with a reply (status, content_type, body,
headers, drop); the HTTP plumbing around it is here, once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass
class Reply:
    """What a fake answers; `drop` closes the connection without answering."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Self:
        return cls(status, json.dumps(data).encode(), headers=dict(headers or {}))


@dataclass
class Delay:
    """A queued `delay_next`: sleep `seconds` before answering, `remaining` more times."""

    seconds: float
    remaining: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Delayed handlers may still be sleeping at shutdown; they are daemons, so don't join them.
    block_on_close = False
    # Bursts open a hundred connections at once; with the default backlog of 5 the kernel drops
    # SYNs and every client waits out a 1 s retransmit, which would be measured as our latency.
    request_queue_size = 1024

    def __init__(self, fake: LoopbackService) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out hang up on purpose (see delay_next); that is not a test failure.
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, like the real services: a client that pays for a new connection per call here
    # would look slower (and cost more CPU) than it is in production. Handler threads are daemons.
    protocol_version = "HTTP/1.1"
    # Without this, Nagle's algorithm and delayed ACKs stall every keep-alive reply by ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.fake._handle(self.command, self.path, headers, raw)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


class LoopbackService:
    """Lifecycle of a fake: `start()`/`stop()` or `with`, `port` and `base_url` once started."""

    def __init__(self) -> None:
        self.port = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=type(self).__name__
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests sleeping in a `delay_next` fault are released immediately."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self.port}"
