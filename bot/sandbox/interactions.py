"""Interactivity payloads shaped like Slack's: a button press, a modal submitted, a modal closed.

The sandbox page sends these to the app (signed, through `SlackClient.interaction`) when someone
presses a button or submits a form. Field names and nesting follow what Slack sends, so the app's
parsing at the edge sees the real thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack import APP_ID


@dataclass(frozen=True)
class Person:
    """Who is using the sandbox page, as interactivity payloads name them."""

    team_id: str
    team_domain: str
    user_id: str
    user_name: str

    def payload(self) -> dict[str, Any]:
        """The fields every interactivity payload starts with."""
        return {
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": {"id": self.user_id, "username": self.user_name, "name": self.user_name, "team_id": self.team_id},
            "api_app_id": APP_ID,
            "token": "fake-verification-token",
            "is_enterprise_install": False,
            "enterprise": None,
        }


def block_actions(
    who: Person,
    *,
    action: dict[str, Any],
    container: dict[str, Any],
    trigger_id: str,
    channel: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A button press in a message (pass channel, message, response_url) or in a view (pass view)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        **who.payload(),
        "container": container,
        "trigger_id": trigger_id,
        "state": {"values": {}},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission(who: Person, *, view: dict[str, Any], values: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """The Submit button: the whole view, with what the form holds in `view.state.values`."""
    return {
        "type": "view_submission",
        **who.payload(),
        "trigger_id": trigger_id,
        "view": {**view, "state": {"values": values}},
        "response_urls": [],
    }


def view_closed(who: Person, *, view: dict[str, Any], is_cleared: bool) -> dict[str, Any]:
    """The close button of a view that asked for `notify_on_close`."""
    return {"type": "view_closed", **who.payload(), "view": view, "is_cleared": is_cleared}
