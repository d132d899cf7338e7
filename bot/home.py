"""Pure builder for the App Home tab."""

from __future__ import annotations

from bot.ids import COMMAND


def home_view() -> dict:
    """The Home tab for a workspace that hasn't connected WhatConverts yet."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "WhatConverts for Slack"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"New leads from WhatConverts, in the channels you choose.\n"
                    f"Start with `{COMMAND} connect`, then `{COMMAND} subscribe` in a channel. "
                    f"`{COMMAND} help` lists everything.",
                },
            },
        ],
    }
