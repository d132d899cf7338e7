"""Request body limits: read a body only up to a cap, before anything parses, verifies or logs it.

A declared Content-Length over the cap is refused without reading a byte; a chunked body is read
chunk by chunk and refused as soon as it passes the cap, so a hostile upload costs at most the cap
in memory and never stalls the event loop.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message

# Slack's own payloads are a few KB, a view submission a few hundred KB (platform-truths S9).
MAX_SLACK_BODY_BYTES = 1024 * 1024


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` bytes (or the sender went away mid-body)."""
    declared = request.headers.get("content-length", "")
    # The server has already refused a malformed length; the length test keeps `int()` cheap anyway.
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        return None
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
    except ClientDisconnect:
        # Nobody is left to answer; a traceback for it would only be noise in the log.
        return None
    return bytes(body)


def with_body(request: Request, body: bytes) -> Request:
    """`request` again, its body already read: Bolt and `form()` get `body` without touching the socket."""
    replayed = False

    async def receive() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body only a disconnect can come; let the server tell us about it.
        return await request.receive()

    return Request(request.scope, receive)


def closing(response: Response) -> Response:
    """`response` with `Connection: close`, for when the rest of the body was left unread.

    Without it the server would go on reading (and dropping) the whole upload to keep the
    connection alive; with it the server closes the socket as soon as the answer is out.
    """
    response.headers["connection"] = "close"
    return response


def too_large() -> Response:
    return closing(Response("request body too large", status_code=413))
