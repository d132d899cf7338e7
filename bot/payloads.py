"""Slack payloads parsed at the edge into small typed objects; nobody past here indexes raw dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
