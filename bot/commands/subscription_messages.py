"""Pure builders for subscribe / unsubscribe / list replies, printed in the command grammar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.alerts import filters
from bot.slack.blocks import MESSAGE_BLOCKS, code, destination, fallback, section, sections
from bot.slack.escape import escape_mrkdwn
from storage.models import Subscription

DAY = timedelta(days=1)
STATE = {"active": ":large_green_circle: active", "paused": ":double_vertical_bar: paused", "broken": ":red_circle:"}
BROKEN_FIX = {
    "channel_not_found": "the channel is gone; subscribe another channel",
    "is_archived": "the channel is archived; unarchive it or subscribe another",
    "not_in_channel": "invite the app to the channel (`/invite @WhatConverts`), then subscribe again",
    "restricted_action": "workspace settings don't let the app post there; ask an admin or subscribe another",
    "restricted_action_read_only_channel": "only admins may post there; let the app post or subscribe another",
    "restricted_action_thread_only_channel": "the channel takes thread replies only; subscribe another channel",
    # A person's alerts (bot.alerts.personal).
    "user_disabled": "the user was deactivated; remove it, or resume it if they come back",
    "user_restricted": "the user is a guest now, and guests get no lead data; remove it",
    "messages_tab_disabled": "the app's Messages tab is off; turn it on (App Home), then resume it",
    "user_not_found": "the user isn't in this workspace any more; remove it",
}
# A filter in a line of `list` or of the Home tab: the whole of any filter a command can hold (2,000
# characters), and room for the rest of the line within a section's 3,000.
GRAMMAR_CHARS = 2600


def grammar_text(grammar: str, *, connection: str | None = None, limit: int = GRAMMAR_CHARS) -> str:
    """A filter as mrkdwn inline code, escaped and cut when longer than `limit`; `connection` is never cut."""
    return code(grammar, limit, after=f" connection:{connection}" if connection else "")


def subscribed_message(
    sub: Subscription,
    *,
    connection_label: str,
    rules: filters.Filters,
    overlaps: Sequence[tuple[int, filters.Filters]] = (),
) -> dict:
    who = (
        "Your direct messages from the app (its Messages tab) now get"
        if sub.owner_user_id
        else f"<#{sub.channel_id}> now gets"
    )
    text = (
        f":white_check_mark: {who} new leads from `{escape_mrkdwn(connection_label)}`: "
        f"{grammar_text(filters.render(rules, shown=True))} (subscription {sub.id}). Leads from now on; "
        f"spam and duplicates {'included' if rules.show_spam or rules.show_duplicates else 'hidden'}."
    )
    if rules.notify:
        text += f" Its cards mention {', '.join(f'<@{user}>' for user in sorted(rules.notify))}."
    blocks = [section(text)]
    note = overlap_note("your direct messages" if sub.owner_user_id else f"<#{sub.channel_id}>", overlaps)
    if note:
        blocks.append(section(note))
        text = f"{text}\n{note}"
    return {"text": fallback(text), "blocks": blocks}


OVERLAPS_SHOWN = 5
OVERLAP_GRAMMAR = 80  # characters of each other subscription's filters quoted in the note


def overlap_note(where: str, overlaps: Sequence[tuple[int, filters.Filters]]) -> str | None:
    """Say that leads matching a new subscription and others of its channel post one card, not several.

    `where` is the channel as mrkdwn (`<#C1>`); `overlaps` are (id, filters) of the channel's
    subscriptions a lead could match together with the new one. None when there are none.
    """
    if not overlaps:
        return None
    named = [
        f"{sub_id} ({code(filters.render(rules, shown=True), OVERLAP_GRAMMAR)})"
        for sub_id, rules in overlaps[:OVERLAPS_SHOWN]
    ]
    if len(overlaps) > OVERLAPS_SHOWN:
        named.append(f"{len(overlaps) - OVERLAPS_SHOWN} more")
    if len(overlaps) == 1:
        who, when = f"both this and subscription {named[0]}", "either subscription"
    else:
        who, when = f"this and subscription {', '.join(named[:-1])} or {named[-1]}", "any of them"
    return (
        f":information_source: Leads matching {who} will post once in {where}: one card, "
        f"as soon as {when} would post it, with their options combined."
    )


def unsubscribed_message(removed: Sequence[Subscription]) -> dict:
    ids = ", ".join(str(s.id) for s in removed)
    text = f"Removed subscription{'s' if len(removed) != 1 else ''} {ids}." if removed else "Nothing to remove."
    return {"text": text, "blocks": [section(text)]}


@dataclass(frozen=True)
class SubscriptionLine:
    id: int
    channel_id: str
    connection_label: str
    grammar: str
    status: str
    broken_reason: str | None
    sent_24h: int
    pending: int
    failed: int
    owner_user_id: str | None = None  # a person's alerts, in their DM (then channel_id is their user id)


def where(row: SubscriptionLine) -> str:
    """A line's destination as mrkdwn: the channel, or whose direct messages (marked as personal)."""
    return f":bust_in_silhouette: {destination(row.channel_id)}" if row.owner_user_id else f"<#{row.channel_id}>"


def _line(row: SubscriptionLine, *, with_connection: bool) -> str:
    state = STATE.get(row.status, row.status)
    if row.status == "broken":
        reason = row.broken_reason or "unknown"
        state += f" broken ({escape_mrkdwn(reason)}: {BROKEN_FIX.get(reason, 'subscribe again')})"
    connection = row.connection_label if with_connection else None
    extra = [f"{row.sent_24h} card{'s' if row.sent_24h != 1 else ''} in 24 h"]
    if row.pending:
        extra.append(f"{row.pending} waiting")
    if row.failed:
        extra.append(f"{row.failed} failed")
    grammar = grammar_text(row.grammar, connection=connection)
    return f"`{row.id}` {where(row)} {grammar} — {state} · {', '.join(extra)}"


def list_message(
    rows: Sequence[SubscriptionLine],
    *,
    everywhere: bool,
    several_connections: bool,
    personal: Sequence[SubscriptionLine] = (),
) -> dict:
    """`rows` of this channel (or, `everywhere`, the workspace, people's alerts among them), then
    `personal`: the asker's own alerts, when they have any."""
    place = "in this workspace" if everywhere else "in this channel"
    parts: list[tuple[str, list[str]]] = []
    if rows:
        header = f"*Subscriptions {place} ({len(rows)})* — shown as you'd type them after `/whatconverts subscribe`"
        parts.append((header, [_line(r, with_connection=several_connections) for r in rows]))
    else:
        empty = f"No subscriptions {place}. Add one with `/whatconverts subscribe [#channel|@me] [filters]`."
        parts.append((empty, []))
    if personal:
        header = f"*Your personal alerts ({len(personal)})* — in your direct messages from the app"
        parts.append((header, [_line(r, with_connection=several_connections) for r in personal]))
    if len(parts) == 1 and not rows:
        return {"text": parts[0][0], "blocks": [section(parts[0][0])]}
    blocks: list[dict] = []
    room = MESSAGE_BLOCKS - len(parts)
    for n, (header, lines) in enumerate(parts):
        blocks.append(section(header))
        count = len(lines)
        share = room if n == len(parts) - 1 else max(1, room // 2)
        listed = sections(lines, max_blocks=share, more=lambda k, count=count: f"…and {k} more; {count} in all.")
        blocks.extend(listed)
        room -= len(listed)
    text = "\n".join(line for header, lines in parts for line in (header, *lines))
    return {"text": fallback(text), "blocks": blocks}
