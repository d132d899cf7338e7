"""Checks on the mrkdwn the app sends that Slack's validation can't make: no cut left half an entity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Our escape function makes these, Slack's markup is <…>; anything else with & < > is a broken cut.
_WHOLE = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")


def mrkdwn_texts(payload: Any) -> Iterator[str]:
    """Every mrkdwn string in a message or view: text objects, and a message's fallback `text`."""
    if isinstance(payload, dict):
        if payload.get("type") != "plain_text" and isinstance(payload.get("text"), str):
            yield payload["text"]
        for value in payload.values():
            if isinstance(value, dict | list):
                yield from mrkdwn_texts(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from mrkdwn_texts(value)


def assert_entities_whole(payload: Any) -> None:
    """No `&amp;`, `&lt;`, `&gt;` or `<…>` token was cut in two anywhere in `payload`."""
    for text in mrkdwn_texts(payload):
        rest = _WHOLE.sub("", text)
        assert not any(c in rest for c in "&<>"), f"a cut split an entity or a mention: …{text[-200:]!r}"
