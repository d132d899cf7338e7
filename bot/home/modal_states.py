"""What a modal shows while the work after the ack runs: "Loading…" until its content is ready,
"Saving…" after a submission, then the outcome.

Slack gives a modal 3 s (platform truth S6): a trigger_id opens one only that long after the
click, and a submission must be answered that fast. So a modal opens at once with one of these
and is filled by `views.update` (no time limit while it is open). Pure builders (STYLE.md rule 5).
"""

from __future__ import annotations

from bot import ids
from bot.slack.escape import escape_mrkdwn

MAX_TITLE = 24  # Block Kit: a modal title is at most 24 characters


def _title(text: str) -> dict:
    cut = text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"
    return {"type": "plain_text", "text": cut}


def _waiting(callback_id: str, title: str, text: str) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _title(title),
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def loading_view(title: str) -> dict:
    """The modal as it opens, before the work after the ack has its content."""
    return _waiting(ids.VIEW_LOADING, title, "Loading…")


def saving_view(title: str, *, external_id: str) -> dict:
    """A submitted modal while its change is being saved; it may be closed, the saving goes on.

    `external_id` is how the work after the ack finds it (`boundary.Modal.saving`)."""
    view = _waiting(
        ids.VIEW_SAVING, title, "Saving… You may close this: the saving goes on, and a failure is reported."
    )
    return {**view, "external_id": external_id}


def notice_view(title: str, reply: dict) -> dict:
    """The outcome of the work, as a message (`{"text", "blocks"}`) shown in the modal."""
    return {
        "type": "modal",
        "title": _title(title),
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": reply["blocks"],
    }


def notice(text: str) -> dict:
    """A one-line outcome as a message; `text` is plain (it is escaped here)."""
    shown = escape_mrkdwn(text)
    return {"text": shown, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": shown}}]}
