"""Slack payloads parsed at the edge into small typed objects; nobody past here indexes raw dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import UsageError

# Every row id we hand out fits a PostgreSQL INTEGER (32-bit signed); a bigger number can't name a
# row, and sending it to the database fails instead of finding nothing.
MAX_ID = 2**31 - 1


def parse_id(text: str) -> int | None:
    """A row id a user typed or a payload carried, or None if it can't be one.

    Only ASCII digits: `str.isdigit` also takes `²` and Arabic-Indic digits, which `int` refuses
    or reads as a different number.
    """
    if not (0 < len(text) <= len(str(MAX_ID)) and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


@dataclass(frozen=True)
class Command:
    """One `/whatconverts …` invocation."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str
    text: str
    response_url: str | None
    trigger_id: str | None
    is_enterprise_install: bool = False

    @classmethod
    def from_payload(cls, body: Mapping[str, Any]) -> Command:
        return cls(
            team_id=str(body.get("team_id") or ""),
            enterprise_id=body.get("enterprise_id") or None,
            user_id=str(body.get("user_id") or ""),
            channel_id=str(body.get("channel_id") or ""),
            text=str(body.get("text") or "").strip(),
            response_url=body.get("response_url") or None,
            trigger_id=body.get("trigger_id") or None,
            is_enterprise_install=str(body.get("is_enterprise_install") or "").lower() == "true",
        )


@dataclass(frozen=True)
class TeamRef:
    """Which workspace (or org) an event concerns."""

    team_id: str | None
    enterprise_id: str | None

    @classmethod
    def from_event_body(cls, body: Mapping[str, Any]) -> TeamRef:
        return cls(team_id=body.get("team_id") or None, enterprise_id=body.get("enterprise_id") or None)


@dataclass(frozen=True)
class Action:
    """One button press or menu choice (`block_actions`) in a message or on the Home tab."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str | None
    action_id: str
    value: str
    response_url: str | None
    trigger_id: str | None
    message_ts: str | None
    selected_user: str | None = None  # a users_select's choice

    @classmethod
    def from_payload(cls, body: Mapping[str, Any]) -> Action:
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], Mapping) else {}
        container = body.get("container") or {}
        return cls(
            team_id=str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""),
            enterprise_id=(body.get("enterprise") or {}).get("id") if body.get("enterprise") else None,
            user_id=str((body.get("user") or {}).get("id") or ""),
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            action_id=str(first.get("action_id") or ""),
            value=str(first.get("value") or ""),
            response_url=body.get("response_url") or None,
            trigger_id=body.get("trigger_id") or None,
            message_ts=container.get("message_ts"),
            selected_user=str(first.get("selected_user") or "") or None,
        )


def tokenize(text: str) -> list[str]:
    """Split on whitespace; double quotes group words (`profile:"Main Site"`). Never raises."""
    tokens: list[str] = []
    current: list[str] = []
    in_quotes = False
    started = False
    for char in text:
        if char in '"“”':
            in_quotes = not in_quotes
            started = True
        elif char.isspace() and not in_quotes:
            if started:
                tokens.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if in_quotes:
        raise UsageError("A quote (\") isn't closed.")
    if started:
        tokens.append("".join(current))
    return tokens
