"""Slack's `v0` signature over raw body bytes, for bodies slack_sdk's signer can't take (not UTF-8)."""

from __future__ import annotations

import hashlib
import hmac
import time


def signed_headers(body: bytes, secret: str, *, content_type: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-signature": f"v0={digest}", "x-slack-request-timestamp": ts, "content-type": content_type}
