"""The HTTP port, bound before the app is built: a busy port is one line, not uvicorn's traceback."""

from __future__ import annotations

import errno
import socket


class CannotListen(Exception):
    """The port can't be bound; the message is one line saying why and what to do."""


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port for uvicorn to listen on (`Server.run(sockets=[…])`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart may reuse a port whose old connections linger in TIME_WAIT.
    # (On Linux this never lets two servers listen on one port.)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} is in use: set PORT or pass --port") from None
        raise CannotListen(f"can't listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def check_free(host: str, port: int) -> None:
    """Raise CannotListen unless host:port can be bound now (for servers that bind it themselves)."""
    bind(host, port).close()
