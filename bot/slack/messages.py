"""Pure builders for the short replies the app sends (usage, errors; help is in bot.commands.help_messages).

Each returns a `{"text": …, "blocks": […]}` dict; lead cards live in `bot/alerts/cards.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ids import COMMAND
from bot.slack.blocks import fallback, section
from bot.slack.escape import escape_mrkdwn


def usage_message(problem: str, usages: Sequence[tuple[str, str]]) -> dict:
    """A short answer to something we didn't understand, naming what it was."""
    names = ", ".join(sorted({u.split()[0] for u, _ in usages}))
    text = f"{escape_mrkdwn(problem)}\nUsage: `{COMMAND} <{names}>` — try `{COMMAND} help`."
    return {"text": fallback(text), "blocks": [section(text)]}


def error_message(text: str, *, mrkdwn: bool = False) -> dict:
    """A problem, in a warning; plain `text` is escaped, `mrkdwn` text is shown as is (its raiser escaped it)."""
    shown = text if mrkdwn else escape_mrkdwn(text)
    return {"text": fallback(shown), "blocks": [section(f":warning: {shown}")]}


def generic_error_message(correlation_id: str) -> dict:
    text = f"Something went wrong on our side. It has been logged (reference `{correlation_id}`); please try again."
    return {"text": text, "blocks": [section(text)]}


NOT_INSTALLED = (
    "WhatConverts for Slack isn't installed in this workspace (or Slack revoked its token). "
    "Ask a workspace admin to install it again: WhatConverts connections and subscriptions are kept."
)


def error_modal(reply: dict) -> dict:
    """A problem shown in a modal (Home tab buttons have no place for an ephemeral reply)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "WhatConverts"},
        "close": {"type": "plain_text", "text": "OK"},
        "blocks": reply["blocks"],
    }
