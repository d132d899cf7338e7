"""The sandbox's Slack: the fake Slack Web API plus what a person's Slack client knows.

A Slack client shows `<#C0LEADS>` as `#leads` and `<@U1>` as `@ada` because it knows the
workspace's channels and people; `SandboxSlack` remembers them as they are added, for the page's
renderer and for the command box (which escapes `#leads` as Slack does). The open modals
are the fake's own (`open_modals`, `answer_submission`).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.render import Names
from bot.sandbox.slack import FakeSlack


class SandboxSlack(FakeSlack):
    """A FakeSlack that also knows each channel's and person's name, per team."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._channel_names: dict[str, dict[str, str]] = {}
        self._user_names: dict[str, dict[str, str]] = {}

    def add_channel(self, team_id: str, channel_id: str, *, name: str = "leads", **kwargs: Any) -> None:
        super().add_channel(team_id, channel_id, name=name, **kwargs)
        self._channel_names.setdefault(team_id, {})[channel_id] = name

    def add_user(self, team_id: str, user_id: str, *, name: str | None = None, **kwargs: Any) -> None:
        super().add_user(team_id, user_id, name=name, **kwargs)
        self._user_names.setdefault(team_id, {})[user_id] = name or user_id.lower()

    def names(self, team_id: str) -> Names:
        """Channel and user names of `team_id`, as its members' Slack shows them."""
        return Names(channels=dict(self._channel_names.get(team_id, {})), users=dict(self._user_names.get(team_id, {})))
