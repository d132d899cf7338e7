"""The one escape function for untrusted text in Slack mrkdwn, and a URL allow-list."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# What Slack's user ids look like (U… in a workspace, W… in an Enterprise Grid org).
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def escape_mrkdwn(text: str) -> str:
    """Escape `&`, `<`, `>` so text can't form mentions (`<!channel>`), links or user references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_user_id(text: str) -> bool:
    """Whether `text` is shaped like a Slack user id, so `<@{text}>` can only mention that user."""
    return bool(_USER_ID.fullmatch(text))


def mention(user_id: str) -> str:
    """`<@U123>` for a user id; anything else escaped as text, so it can't become markup."""
    return f"<@{user_id}>" if is_user_id(user_id) else escape_mrkdwn(user_id)


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
