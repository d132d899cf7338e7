"""The app's answers to one person: replies to commands and to button presses, per channel.

Slack shows them in the channel marked "Only visible to you". An answer arrives either in the
ack's body or as a post to the interaction's `response_url`, which the fake Slack records. A
post with `replace_original` replaces the reply it answers, `delete_original` removes it, and
`response_type: in_channel` makes it visible to everyone.

Every response URL the sandbox hands out names its channel and its origin (`c3`: the third
command; a reply's id: a button in that reply; `m…`: a button on a posted message), so a
post knows which reply it replaces.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack import FakeSlack


@dataclass
class Reply:
    """One answer on screen; `origin` is what it answered (see the module docstring)."""

    id: str
    origin: str
    message: dict[str, Any]
    at: float

    @property
    def shared(self) -> bool:
        return self.message.get("response_type") == "in_channel"


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class Replies:
    """Answers to the sandbox's person, read back from the fake Slack's response_url posts."""

    def __init__(self, slack: FakeSlack, prefix: str = "T1/sandbox") -> None:
        self._slack = slack
        self._prefix = prefix
        self._acked: dict[str, list[Reply]] = {}
        self._commands = itertools.count(1)
        self._lock = threading.Lock()

    def url(self, channel: str, origin: str) -> str:
        """The response_url for something done in `channel` (see the module docstring for `origin`)."""
        return self._slack.response_url(f"{self._prefix}/{channel}/{origin}")

    def new_command(self) -> str:
        """An origin for the next command."""
        return f"c{next(self._commands)}"

    def acked(self, channel: str, origin: str, message: dict[str, Any]) -> None:
        """An answer that came in the ack's body (Slack shows it like a response_url post)."""
        with self._lock:
            self._acked.setdefault(channel, []).append(Reply(origin, origin, message, time.time()))

    def posted(self, channel: str, origin: str) -> int:
        """How many response_url posts answered `origin` in `channel` so far."""
        return sum(1 for _, _, o, _ in self._posts(channel) if o == origin)

    def _posts(self, channel: str) -> list[tuple[float, int, str, dict[str, Any]]]:
        start = f"/hooks/{self._prefix}/{channel}/"
        return [
            (call.at, index, call.path[len(start) :], call.params)
            for index, call in enumerate(self._slack.calls_to("response_url"))
            if call.path.startswith(start)
        ]

    def in_channel(self, channel: str) -> list[Reply]:
        """The answers shown in `channel` now, oldest first."""
        with self._lock:
            acked = [(r.at, -1, r.origin, r.message, r.id) for r in self._acked.get(channel, [])]
        posts = [(at, i, origin, params, f"p{i}") for at, i, origin, params in self._posts(channel)]
        shown: list[Reply] = []
        for at, _, origin, message, reply_id in sorted(acked + posts, key=lambda item: item[:2]):
            # A press in a reply answers that reply; a command's later post answers its first answer.
            target = next((r for r in shown if r.id == origin), None) or next(
                (r for r in reversed(shown) if r.origin == origin), None
            )
            if _flag(message.get("delete_original")):
                if target is not None:
                    shown.remove(target)
            elif _flag(message.get("replace_original")) and target is not None:
                target.message = message
            else:
                shown.append(Reply(reply_id, origin, message, at))
        return shown
