"""Slack request signatures, checked over the raw body bytes before anything decodes or logs it.

slack_sdk's `SignatureVerifier` decodes the body as UTF-8 and calls `int()` on the timestamp, so a
non-UTF-8 body or a timestamp like "²³" (which passes `str.isdigit()`) raises instead of failing
the check. This one only ever answers True or False.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.datastructures import Headers

# Slack's replay window (api.slack.com/authentication/verifying-requests-from-slack).
MAX_AGE_SECONDS = 5 * 60
# Enough digits for any epoch second; longer runs would only make `int()` slow or raise.
_MAX_TIMESTAMP_DIGITS = 12


def is_valid(secret: str, *, headers: Headers, body: bytes, now: float | None = None) -> bool:
    """True when `body` carries a fresh `v0` signature made with `secret`."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":", hashlib.sha256)
    mac.update(body)
    expected = b"v0=" + mac.hexdigest().encode()
    # Header values arrive decoded as latin-1, so this gives back exactly the bytes that were sent.
    return hmac.compare_digest(expected, signature.encode("latin-1"))
