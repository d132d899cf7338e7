"""Logging set-up: text or JSON lines, and a redaction filter no secret gets past.

slack_sdk logs request bodies (client_secret, code, tokens, response URLs, replies showing the
webhook URL) at DEBUG and httpx logs URLs with `?code=` or a webhook token at INFO, so redaction
sits on the handler and rewrites every record, whatever logger it came from and whatever level is
configured.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

REDACTED = "[REDACTED]"

# A "/" or ":" as it shows up in logged bodies: plain, JSON-escaped ("\/", "\\/" once repr'd) or
# URL-encoded (once, or twice when a form field holds an encoded URL).
_SLASH = r"(?:\\*/|%(?:25)?2[Ff])"
_COLON = r"(?::|%(?:25)?3[Aa])"
# A URL path: unreserved characters and slashes in any of those spellings, nothing that ends a value.
_PATH = rf"(?:[A-Za-z0-9_.~\-]|{_SLASH})+"
_ORIGIN = rf"https?{_COLON}{_SLASH}{_SLASH}[A-Za-z0-9.\-]+(?:{_COLON}[0-9]+)?"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Slack tokens of every kind, including rotation refresh tokens (xoxe-1-…, xoxe.xoxb-…).
    (re.compile(r"xox[a-z](?:\.xox[a-z])?-[0-9A-Za-z\-]+"), REDACTED),
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._\-]+"), r"\1 " + REDACTED),
    # key=value, key: value, 'key': 'value' and "key": "value" for secret-bearing keys. Before the URL
    # patterns, so a response_url value goes whole rather than around an already redacted path.
    (
        re.compile(
            r"""(?i)(?<![A-Za-z0-9_])(["']?(?:client_secret|refresh_token|access_token|api_secret|api_token|"""
            r"""secret|password|code|token|state|code_verifier|response_url)["']?\s*[:=]\s*[\[(]?\s*["']?)"""
            # A "{" opens a nested object (Slack's view "state"), not a value.
            r"""([^"'&\s,{}\]]+)"""
        ),
        r"\1" + REDACTED,
    ),
    # The webhook URL's last segment is all that authenticates WhatConverts' posts. The route
    # template's "{token}" is left alone.
    (re.compile(rf"(whatconverts{_SLASH}webhook{_SLASH})[^/\\\s\"'`<>|&?#%,;(){{}}\[\]]+"), r"\1" + REDACTED),
    # A response URL lets anyone post into the conversation: Slack's, and the loopback fake's
    # (`/hooks/` right after the origin). The prefix stays so a log still says what was called.
    (re.compile(rf"(hooks\.slack\.com{_SLASH}){_PATH}"), r"\1" + REDACTED),
    (re.compile(rf"({_ORIGIN}{_SLASH}hooks{_SLASH}){_PATH}"), r"\1" + REDACTED),
]


class Redactor(logging.Filter):
    """Rewrites a record's message and traceback with secrets replaced by [REDACTED]."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str | None) -> None:
        # Short values would redact ordinary words; real secrets are long.
        if secret and len(secret) >= 8:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        # The traceback is now in exc_text; formatters must not render the raw exception again.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for extra in ("correlation_id", "team_id"):
            if hasattr(record, extra):
                entry[extra] = getattr(record, extra)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(
    *, level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> Redactor:
    """Replace the root handlers with one redacting handler; returns the redactor to add secrets to."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every tick at INFO and a "skipped" WARNING whenever a sender tick is still
    # pacing a channel (by design); only its errors are worth a line. What those warnings would
    # have hinted at (a tick that fails, overruns its time limit or stalls) the scheduler's own
    # supervision says, once per incident (bot/scheduler.py).
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
    # slack_sdk formats a DEBUG line holding the whole request for every API call unless its own
    # logger's level (not the effective one) is above DEBUG: a third of a card's CPU, for nothing.
    for name in ("slack_sdk.web.async_base_client", "slack_sdk.web.base_client"):
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else root.level)
    # uvicorn installs its own handlers; route its records through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return redactor
