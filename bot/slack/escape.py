"""The one escape function for untrusted text in Slack mrkdwn, and a URL allow-list."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def escape_mrkdwn(text: str) -> str:
    """Escape `&`, `<`, `>` so text can't form mentions (`<!channel>`), links or user references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_mrkdwn(text: str) -> str:
    """Undo `escape_mrkdwn` in one pass: Slack escapes command text that way, this gives back what was typed."""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


def safe_url(url: object) -> str | None:
    """The URL if it is an absolute http(s) URL a button or link may carry; None otherwise."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > 3000 or any(c in url for c in "<>| \n\r\t"):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
