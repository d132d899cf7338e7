"""The "Add / edit subscription" modal: a pure view builder and its submission reader.

Builders take plain data and return a view (shown by `views.update` in a modal opened as
"Loading…", see `bot.home.modal_states`); readers take the `view` of a `view_submission` and return a
small frozen dataclass, or raise `ModalErrors` whose `errors` go straight into
`ack(response_action="errors", errors=...)`. No Slack client and no database here
(STYLE.md rules 3 and 5); every block_id, action_id and callback_id comes from `bot.ids` (rule 9).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.alerts.filters import TYPE_WORD, Filters, parse_subscription, render, visible
from bot.errors import UsageError
from bot.slack import views
from bot.slack.escape import escape_mrkdwn
from bot.slack.payloads import parse_id, tokenize
from bot.slack.views import ModalErrors

# Block Kit limits (https://docs.slack.dev/reference/block-kit/), in characters or items.
MAX_OPTIONS = 100
MAX_PRIVATE_METADATA = 3000
KEPT_CHARS = 300  # the "also kept" note is a reminder, not a listing; `list` shows the rest

TYPE_CHOICES = {
    "phone_call": "Phone calls",
    "web_form": "Web forms",
    "chat": "Chats",
    "text_message": "Text messages",
    "email": "Emails",
    "transaction": "Transactions",
    "appointment": "Appointments",
    "event": "Events",
    "other": "Other leads",
}
STATUS_CHOICES = {"any": "Any status", "unique": "Unique (first contact)", "repeat": "Repeat"}
QUOTABLE_CHOICES = {"yes": "Yes", "no": "No", "pending": "Pending", "not_set": "Not set"}
# Keys are the grammar's flag words (`+spam`), values the Filters attribute each one sets.
OPTION_CHOICES = {"spam": "Show spam", "duplicates": "Show duplicates", "compact": "Compact cards"}
_OPTION_ATTRS = {"spam": "show_spam", "duplicates": "show_duplicates", "compact": "compact"}

CHANNEL_HINT = "Private channel? Invite the app first."
_CHANNEL_ID_RE = re.compile(r"[CG][A-Z0-9]+")  # as bot.alerts.filters reads `<#C…>`
_QUOTES = '"“”'  # what `tokenize` treats as quotes


@dataclass(frozen=True)
class SubscriptionChoice:
    """A submitted subscription modal. `grammar` is `render(filters)`, the text `list` would show."""

    subscription_id: int | None  # None: add a new subscription
    connection_id: int | None
    channel_id: str | None
    filters: Filters
    grammar: str


# --- small Block Kit pieces ----------------------------------------------------------------------


# --- "Add / edit subscription" -------------------------------------------------------------------


def subscription_modal(
    *,
    connections: Sequence[tuple[int, str]],
    initial: Filters | None = None,
    channel_id: str | None = None,
    connection_id: int | None = None,
    subscription_id: int | None = None,
    problem: str | None = None,
) -> dict:
    """The subscription form: `(id, label)` connections, prefilled from `initial` when editing.

    Passing `subscription_id` makes it the edit form. Filters the form has no control for (other
    fields, digest, quiet hours, …) travel in private_metadata and are kept on save. `problem`
    (mrkdwn that is safe as is, as `UserFacingError.message`) heads the form when it is shown again
    after a save that failed once the submission had been acked.
    """
    if not connections:
        raise ValueError("a subscription needs a connection: connect WhatConverts first")
    rules = initial or Filters()
    kept = _kept(rules)
    sole = connections[0][0] if len(connections) == 1 else None
    metadata = json.dumps(
        {"subscription_id": subscription_id, "connection_id": sole, "keep": render(kept) if kept != Filters() else ""},
        sort_keys=True,
        separators=(",", ":"),
    )
    if len(metadata) > MAX_PRIVATE_METADATA:
        raise ValueError("these filters are too long for the form; use /whatconverts subscribe")
    blocks = [
        *([_connection_block(connections, connection_id)] if sole is None else []),
        views.input_block(
            ids.BLOCK_SUB_CHANNEL, "Channel", _channel_select(channel_id), optional=False, hint=CHANNEL_HINT
        ),
        views.input_block(
            ids.BLOCK_SUB_TYPES,
            "Lead types",
            views.checkboxes(ids.ACTION_SUB_TYPES, TYPE_CHOICES, rules.lead_types),
            optional=True,
            hint="None checked means every type.",
        ),
        _sources_block(ids.BLOCK_SUB_INCLUDE_SOURCES, ids.ACTION_SUB_INCLUDE_SOURCES, "Only these sources", rules, "+"),
        _sources_block(
            ids.BLOCK_SUB_EXCLUDE_SOURCES, ids.ACTION_SUB_EXCLUDE_SOURCES, "Never these sources", rules, "-"
        ),
        views.input_block(
            ids.BLOCK_SUB_STATUS,
            "Status",
            views.select(ids.ACTION_SUB_STATUS, STATUS_CHOICES, _shown_status(rules), placeholder="Any status"),
            optional=False,
        ),
        views.input_block(
            ids.BLOCK_SUB_QUOTABLE,
            "Quotable",
            views.checkboxes(ids.ACTION_SUB_QUOTABLE, QUOTABLE_CHOICES, _values(rules, "+", "quotable")),
            optional=True,
            hint="None checked means any.",
        ),
        views.input_block(
            ids.BLOCK_SUB_OPTIONS,
            "Options",
            views.checkboxes(
                ids.ACTION_SUB_OPTIONS, OPTION_CHOICES, [w for w, a in _OPTION_ATTRS.items() if getattr(rules, a)]
            ),
            optional=True,
        ),
    ]
    if problem:
        warning = {"type": "mrkdwn", "text": f":warning: {problem}"}
        blocks.insert(0, {"type": "section", "text": warning})
    if kept != Filters():
        note = views.cut_to(f"Also kept, the form can't change these: {render(kept, shown=True)}", KEPT_CHARS)
        blocks.append({"type": "context", "block_id": ids.BLOCK_SUB_KEPT, "elements": [views.plain(note)]})
    editing = subscription_id is not None
    return {
        "type": "modal",
        "callback_id": ids.VIEW_SUBSCRIPTION,
        "private_metadata": metadata,
        "title": views.plain(subscription_title(editing=editing)),
        "submit": views.plain("Save" if editing else "Subscribe"),
        "close": views.plain("Cancel"),
        "blocks": blocks,
    }


def subscription_title(*, editing: bool) -> str:
    """The subscription modal's title, also shown while it loads and saves."""
    return "Edit subscription" if editing else "Add subscription"


def _channel_select(channel_id: str | None) -> dict:
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": ids.ACTION_SUB_CHANNEL,
        "placeholder": views.plain("Pick a channel"),
        # Slack Connect channels are left out: leads stay inside this workspace.
        "filter": {
            "include": ["public", "private"],
            "exclude_bot_users": True,
            "exclude_external_shared_channels": True,
        },
    }
    if channel_id:
        element["initial_conversation"] = channel_id
    return element


def _connection_block(connections: Sequence[tuple[int, str]], connection_id: int | None) -> dict:
    shown = list(connections[:MAX_OPTIONS])
    # Past the first 100 the edited subscription's own connection must still be selectable.
    chosen = [c for c in connections if c[0] == connection_id]
    if chosen and chosen[0] not in shown:
        shown = [*shown[: MAX_OPTIONS - 1], chosen[0]]
    element = views.select(
        ids.ACTION_SUB_CONNECTION,
        {str(cid): label for cid, label in shown},
        str(connection_id) if chosen else None,
        placeholder="Pick a connection",
    )
    return views.input_block(ids.BLOCK_SUB_CONNECTION, "WhatConverts connection", element, optional=False)


def _sources_block(block_id: str, action_id: str, label: str, rules: Filters, sign: str) -> dict:
    values = sorted(_values(rules, sign, "source"), key=lambda v: (v.casefold(), v))
    hint = "Separate sources with commas. " + ("Empty means all." if sign == "+" else "These always win.")
    element = views.text_input(action_id, placeholder="google, bing", initial=", ".join(values))
    return views.input_block(block_id, label, element, optional=True, hint=hint)


def _values(rules: Filters, sign: str, field: str) -> list[str]:
    pairs = rules.include if sign == "+" else rules.exclude
    return [value for key, value in pairs if key == field]


def _shown_status(rules: Filters) -> str:
    # The select holds one status; `+status:unique,repeat` stays in the kept part instead.
    statuses = _values(rules, "+", "status")
    return statuses[0] if len(statuses) == 1 else "any"


def _kept(rules: Filters) -> Filters:
    """What the form has no control for; saving the form keeps it unchanged."""
    status = _shown_status(rules)
    shown_include = {
        (key, value)
        for key, value in rules.include
        if key in ("source", "quotable") or (key, value) == ("status", status)
    }
    shown_exclude = {(key, value) for key, value in rules.exclude if key == "source"}
    return dataclasses.replace(
        rules,
        lead_types=frozenset(),
        include=rules.include - shown_include,
        exclude=rules.exclude - shown_exclude,
        connection=None,  # the connection is the form's select (or the only one), never a filter
        **dict.fromkeys(_OPTION_ATTRS.values(), False),
    )


def read_subscription_modal(view: Mapping[str, Any]) -> SubscriptionChoice:
    """The choices in a submitted subscription modal; ModalErrors names each block that is wrong.

    The choices become grammar tokens (as Slack would send them typed after `subscribe`) and go
    through `parse_subscription`, so the form and the slash command give the same subscription
    for the same choices, with the same checks.
    """
    meta = views.metadata(view, {"subscription_id": int, "connection_id": int, "keep": str})
    errors: dict[str, str] = {}
    connection_id = meta["connection_id"]
    if connection_id is None:
        selected = views.selected(view, ids.BLOCK_SUB_CONNECTION, ids.ACTION_SUB_CONNECTION)
        connection_id = parse_id(selected) if isinstance(selected, str) else None
        if connection_id is None:
            errors[ids.BLOCK_SUB_CONNECTION] = "Choose a connection."
    channel_id = views.state_of(view, ids.BLOCK_SUB_CHANNEL, ids.ACTION_SUB_CHANNEL).get("selected_conversation")
    if not channel_id:
        errors[ids.BLOCK_SUB_CHANNEL] = "Pick a channel."
    elif not (isinstance(channel_id, str) and _CHANNEL_ID_RE.fullmatch(channel_id)):
        errors[ids.BLOCK_SUB_CHANNEL] = "Pick a public or private channel, not a direct message."
    words = [TYPE_WORD[t] for t in views.checked(view, ids.BLOCK_SUB_TYPES, ids.ACTION_SUB_TYPES, TYPE_CHOICES)]
    for block_id, action_id, sign in (
        (ids.BLOCK_SUB_INCLUDE_SOURCES, ids.ACTION_SUB_INCLUDE_SOURCES, "+"),
        (ids.BLOCK_SUB_EXCLUDE_SOURCES, ids.ACTION_SUB_EXCLUDE_SOURCES, "-"),
    ):
        typed = views.state_of(view, block_id, action_id).get("value") or ""
        try:
            if values := _sources(typed):
                words.append(_token(sign, "source", values))
        except ValueError as bad:
            errors[block_id] = str(bad)
    status = views.selected(view, ids.BLOCK_SUB_STATUS, ids.ACTION_SUB_STATUS) or "any"
    if status not in STATUS_CHOICES:
        raise ValueError(f"unknown status option {status!r}")
    if status != "any":
        words.append(_token("+", "status", [status]))
    if quotable := views.checked(view, ids.BLOCK_SUB_QUOTABLE, ids.ACTION_SUB_QUOTABLE, QUOTABLE_CHOICES):
        words.append(_token("+", "quotable", quotable))
    words += [f"+{flag}" for flag in views.checked(view, ids.BLOCK_SUB_OPTIONS, ids.ACTION_SUB_OPTIONS, OPTION_CHOICES)]
    if meta["keep"]:
        _, kept = parse_subscription(tokenize(meta["keep"]))
        if status != "any":  # a status picked in the form replaces a kept `+status:unique,repeat`
            kept = dataclasses.replace(kept, include=frozenset(p for p in kept.include if p[0] != "status"))
        if kept != Filters():  # render(Filters()) is "all", which would undo the checked types
            words.append(escape_mrkdwn(render(kept)))
    if errors:
        raise ModalErrors(errors)
    _, rules = parse_subscription(tokenize(" ".join(words)))
    return SubscriptionChoice(
        subscription_id=meta["subscription_id"],
        connection_id=connection_id,
        channel_id=channel_id,
        filters=rules,
        grammar=render(rules),
    )


def _sources(typed: str) -> list[str]:
    """Comma-separated sources, each checked alone so the error can name it; ValueError says why."""
    if any(q in typed for q in _QUOTES):
        raise ValueError("Leave out quotes; separate sources with commas.")
    values = [part.strip() for part in typed.split(",") if part.strip()]
    for value in values:
        try:
            parse_subscription(tokenize(_token("+", "source", [value])))
        except UsageError:
            # The grammar's message is mrkdwn for a command reply; a field error is short plain text.
            raise ValueError(
                f"“{visible(views.cut_to(value, 30))}” can't be a source: "
                "no links, mentions, HTML entities, control or invisible characters."
            ) from None
    return values


def _token(sign: str, field: str, values: Sequence[str]) -> str:
    # Typed into a command, Slack would HTML-escape the values; escape them too so the same
    # characters mean the same thing in both places. Quotes keep values with spaces in one token.
    quoted = (escape_mrkdwn(v) for v in values)
    return f"{sign}{field}:" + ",".join(f'"{v}"' if any(c.isspace() for c in v) else v for v in quoted)


# --- "Add value" ---------------------------------------------------------------------------------


# --- reading a submitted view --------------------------------------------------------------------
