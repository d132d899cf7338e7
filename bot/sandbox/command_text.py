"""What Slack does to slash-command text before the app sees it, with "Escape channels, users, and links" on.

Our manifest turns that escaping on, so Slack sends `#leads` as `<#C0LEADS|leads>`, `@ada` as
`<@U1|ada>`, `@here` as `<!here>`, a pasted URL as `<https://…>`, and `&`, `<`, `>` as entities.
The sandbox's command box does the same from the workspace's own channels and people; a name
nobody has stays as typed, as in Slack.
"""

from __future__ import annotations

import re

from bot.sandbox.render import Names

__all__ = ["escape_command"]

_CHANNEL = re.compile(r"(?<![\w#@/])#([a-z0-9][a-z0-9_-]{0,79})(?![\w-])")
_PERSON = re.compile(r"(?<![\w@/])@([\w][\w.-]*)(?<![.-])")
_URL = re.compile(r"(?<![\w<|])https?://[^\s<>|]+")
_SPECIAL = frozenset({"here", "channel", "everyone"})


def escape_command(text: str, names: Names) -> str:
    """`text` as Slack delivers it to the app in a slash command's `text` field."""
    channels = {name: channel_id for channel_id, name in names.channels.items()}
    people = {name: user_id for user_id, name in names.users.items()}
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def channel(match: re.Match[str]) -> str:
        found = channels.get(match[1])
        return f"<#{found}|{match[1]}>" if found else match[0]

    def person(match: re.Match[str]) -> str:
        if match[1] in _SPECIAL:
            return f"<!{match[1]}>"
        found = people.get(match[1])
        return f"<@{found}|{match[1]}>" if found else match[0]

    escaped = _URL.sub(lambda m: f"<{m[0]}>", escaped)
    escaped = _CHANNEL.sub(channel, escaped)
    return _PERSON.sub(person, escaped)
