"""Pure builder for the App Home tab: admins run everything here; members see a read-only summary.

Both see the leads nobody has claimed yet, oldest first. Guests see no lead data at all. The view
stays within Block Kit's 100-block limit by listing at most a fixed number of unclaimed leads,
connections and subscriptions and pointing at `/whatconverts list all`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot import ids
from bot.alerts.cards import TYPE_LABELS
from bot.commands.subscription_messages import BROKEN_FIX, STATE, SubscriptionLine, grammar_text, where
from bot.connect.messages import (
    HEALTH,
    WEBHOOK_STEPS,
    ConnectionStatus,
    ProblemLine,
    mode_text,
    quota_text,
    slack_date,
    sweep_text,
    webhook_profiles_text,
)
from bot.formats import UNDER_A_MINUTE, elapsed
from bot.ids import COMMAND
from bot.slack import blocks as kit
from bot.slack.escape import escape_mrkdwn

MAX_BLOCKS = kit.VIEW_BLOCKS
MAX_CONNECTIONS = 10
MAX_SUBSCRIPTIONS = 25


@dataclass(frozen=True)
class WaitingLead:
    """A lead whose card is posted and nobody has claimed: its type, its first card's channel, how long it waited."""

    lead_id: int
    lead_type: str
    channel_id: str
    waited: timedelta


@dataclass(frozen=True)
class HomeData:
    """Everything the Home tab shows one user, already filtered for what their role may see."""

    role: str  # admin | member | guest
    connections: Sequence[ConnectionStatus] = ()
    subscriptions: Sequence[SubscriptionLine] = ()
    problems: Sequence[ProblemLine] = ()
    contacts: Sequence[str] = field(default_factory=tuple)  # user ids to ask (installer, owners)
    notice: str | None = None  # what admins must do for the workspace itself (a reinstall)
    waiting: Sequence[WaitingLead] = ()  # unclaimed right now, oldest first (the first few)
    waiting_total: int = 0  # how many are unclaimed in all


def _button(
    text: str, action_id: str, value: str = "", *, style: str | None = None, confirm: dict | None = None
) -> dict:
    button: dict = {"type": "button", "text": kit.plain(text, kit.BUTTON_TEXT), "action_id": action_id}
    if value:
        button["value"] = value
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, yes: str) -> dict:
    return {
        "title": kit.plain(title, 100),
        "text": {"type": "mrkdwn", "text": kit.cut(text, 300)},
        "confirm": kit.plain(yes, 30),
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": kit.cut(text, 2000)}]}


def _connection_blocks(row: ConnectionStatus) -> list[dict]:
    emoji, health = HEALTH.get(row.status, (":grey_question:", row.status))
    label = escape_mrkdwn(row.label)
    kind = f"{'OAuth' if row.kind == 'oauth' else 'API key'}, {'master' if row.key_type == 'master' else 'profile'}"
    text = (
        f"{emoji} *{label}* — {kind} — {health.format(label=label)}\n"
        f"{quota_text(row)} · Last poll: {slack_date(row.last_poll_at)}"
        + (f" · Next: {slack_date(row.next_poll_at)}" if row.next_poll_at and row.status in ("ok", "error") else "")
    )
    if row.last_poll_error:
        text += f"\nLast error: {kit.cut(escape_mrkdwn(row.last_poll_error), 200)}"
    text += f"\nMode: {mode_text(row)}"
    if row.sweep is not None:
        text += f"\n{sweep_text(row.sweep)}"
    if row.webhook_url:
        text += f"\nWebhook URL (keep it secret): `{row.webhook_url}`\n_{WEBHOOK_STEPS}_"
        text += f"\n{webhook_profiles_text(row.webhook_profiles, fresh_minutes=row.webhook_fresh_minutes)}"
    value = str(row.connection_id or "")
    buttons = []
    if row.status == "needs_reauth":
        buttons.append(_button("Reconnect", ids.ACTION_HOME_RECONNECT, value, style="primary"))
    if row.status == "paused":
        buttons.append(_button("Resume", ids.ACTION_HOME_CONNECTION_RESUME, value))
    else:
        buttons.append(_button("Pause", ids.ACTION_HOME_CONNECTION_PAUSE, value))
    buttons.append(
        _button(
            "New webhook URL",
            ids.ACTION_HOME_WEBHOOK_ROTATE,
            value,
            confirm=_confirm("Replace the webhook URL?", "The old URL stops working at once.", "Replace"),
        )
    )
    buttons.append(
        _button(
            "Disconnect",
            ids.ACTION_HOME_DISCONNECT,
            value,
            style="danger",
            confirm=_confirm(
                "Disconnect?",
                f"Delete the credentials of `{label}` and stop its subscriptions?",
                "Disconnect",
            ),
        )
    )
    return [kit.section(text), {"type": "actions", "elements": buttons}]


def _subscription_text(row: SubscriptionLine, *, several_connections: bool) -> str:
    state = STATE.get(row.status, row.status)
    if row.status == "broken":
        reason = row.broken_reason or "unknown"
        state += f" broken: {escape_mrkdwn(reason)} — {BROKEN_FIX.get(reason, 'subscribe again')}"
    connection = row.connection_label if several_connections else None
    return (
        f"{where(row)} {grammar_text(row.grammar, connection=connection)}\n"
        f"{state} · {row.sent_24h} card{'s' if row.sent_24h != 1 else ''} in 24 h"
        + (f" · {row.failed} failed" if row.failed else "")
    )


def _subscription_blocks(row: SubscriptionLine, *, several_connections: bool, admin: bool = True) -> list[dict]:
    """A subscription with its buttons: all of them for admins; a member's own alerts can be paused
    and removed. The form edits channels only: a person changes their alerts with `subscribe @me`."""
    value = str(row.id)
    pause = (
        _button("Resume", ids.ACTION_HOME_SUB_RESUME, value)
        if row.status in ("paused", "broken")
        else _button("Pause", ids.ACTION_HOME_SUB_PAUSE, value)
    )
    remove = _button(
        "Remove",
        ids.ACTION_HOME_SUB_REMOVE,
        value,
        style="danger",
        confirm=_confirm("Remove subscription?", f"Stop posting leads to {where(row)}?", "Remove"),
    )
    buttons = [
        *([_button("Edit", ids.ACTION_HOME_SUB_EDIT, value)] if admin and not row.owner_user_id else []),
        pause,
        *([_button("Send test card", ids.ACTION_HOME_SUB_TEST, value)] if admin else []),
        remove,
    ]
    return [
        kit.section(_subscription_text(row, several_connections=several_connections)),
        {"type": "actions", "elements": buttons},
    ]


def _problem_blocks(problems: Sequence[ProblemLine]) -> list[dict]:
    if not problems:
        return [_context("No problems recorded. :tada:")]
    lines = [
        f"• {slack_date(p.at)} *{escape_mrkdwn(p.subject)}*: {escape_mrkdwn(p.message)}\n   _What to do:_ "
        f"{escape_mrkdwn(p.fix)}"
        for p in problems[:10]
    ]
    return [kit.section("\n".join(lines))]


def _guest_view() -> dict:
    return {
        "type": "home",
        "blocks": [
            kit.header("WhatConverts for Slack"),
            kit.section(
                "Lead data contains personal information, so guests can't see it here. Ask a member of this "
                "workspace if you need a lead."
            ),
        ],
    }


def _waiting_line(lead: WaitingLead) -> str:
    emoji, label = TYPE_LABELS.get(lead.lead_type, TYPE_LABELS["other"])
    waited = elapsed(lead.waited)
    age = "arrived just now" if waited == UNDER_A_MINUTE else f"waiting {waited}"
    return f"• {emoji} {label} · lead #{lead.lead_id} in {kit.destination(lead.channel_id)} · {age}"


def _waiting_blocks(data: HomeData) -> list[dict]:
    """The leads nobody has claimed yet, oldest first: no contact details (the card may be in a
    channel this person isn't in), just where the card is and how long it has waited."""
    blocks = [kit.header("Unclaimed leads")]
    if not data.waiting:
        return [*blocks, _context("None right now: every lead card posted lately has been claimed.")]
    blocks.append(kit.section("\n".join(_waiting_line(lead) for lead in data.waiting)))
    more = data.waiting_total - len(data.waiting)
    if more > 0:
        blocks.append(_context(f"…and {more} more."))
    return blocks


def home_view(data: HomeData) -> dict:
    if data.role == "guest":
        return _guest_view()
    several = len({s.connection_label for s in data.subscriptions}) > 1 or len(data.connections) > 1
    blocks: list[dict] = [kit.header("WhatConverts for Slack")]
    if data.role != "admin":
        ask = ", ".join(f"<@{u}>" for u in data.contacts[:5]) or "a workspace admin"
        blocks.append(
            kit.section(
                f"New leads from WhatConverts arrive in the channels below. To change what goes where, ask {ask}. "
                f"`{COMMAND} leads` shows you today's leads; `{COMMAND} subscribe @me calls` sends you your own "
                "alerts here, in the Messages tab."
            )
        )
    else:
        blocks.append(
            kit.section(
                "Connect WhatConverts accounts, choose which channels get which leads, and see what needs attention.",
                accessory=_button("Connect an account", ids.ACTION_HOME_CONNECT, style="primary"),
            )
        )
        if data.notice:
            blocks.append(kit.section(f":warning: *{escape_mrkdwn(data.notice)}*"))
    blocks.extend(_waiting_blocks(data))
    if data.role == "admin":
        blocks.append(kit.header("Connections"))
        if not data.connections:
            blocks.append(_context(f"None yet. Press *Connect an account* or run `{COMMAND} connect`."))
        for row in list(data.connections)[:MAX_CONNECTIONS]:
            blocks.extend(_connection_blocks(row))
        if len(data.connections) > MAX_CONNECTIONS:
            blocks.append(_context(f"…and {len(data.connections) - MAX_CONNECTIONS} more: `{COMMAND} status`."))
    blocks.append(kit.header("Subscriptions"))
    if data.role == "admin":
        blocks.append({"type": "actions", "elements": [_button("Add subscription", ids.ACTION_HOME_SUB_ADD)]})
    if not data.subscriptions:
        blocks.append(
            _context(f"No channel gets leads yet. `{COMMAND} subscribe` in a channel, or *Add subscription*.")
        )
    for row in list(data.subscriptions)[:MAX_SUBSCRIPTIONS]:
        if data.role == "admin" or row.owner_user_id:  # a member sees only their own personal alerts
            blocks.extend(_subscription_blocks(row, several_connections=several, admin=data.role == "admin"))
        else:
            blocks.append(kit.section(_subscription_text(row, several_connections=several)))
    if len(data.subscriptions) > MAX_SUBSCRIPTIONS:
        blocks.append(_context(f"…and {len(data.subscriptions) - MAX_SUBSCRIPTIONS} more: `{COMMAND} list all`."))
    if data.role == "admin":
        blocks.append(kit.header("Recent problems"))
        blocks.extend(_problem_blocks(data.problems))
    note = f"More in `{COMMAND} status` and `{COMMAND} list all`."
    return {"type": "home", "blocks": kit.capped(blocks, max_blocks=MAX_BLOCKS, note=note)}
