"""Pure builders for subscribe / unsubscribe / list replies, printed in the command grammar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.alerts import filters
from bot.slack.blocks import MESSAGE_BLOCKS, code, fallback, section, sections
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
    text = (
        f":white_check_mark: <#{sub.channel_id}> now gets new leads from `{escape_mrkdwn(connection_label)}`: "
        f"{grammar_text(filters.render(rules, shown=True))} (subscription {sub.id}). Leads from now on; "
        f"spam and duplicates {'included' if rules.show_spam or rules.show_duplicates else 'hidden'}."
    )
    blocks = [section(text)]
    note = overlap_note(sub.channel_id, overlaps)
    if note:
        blocks.append(section(note))
        text = f"{text}\n{note}"
    return {"text": fallback(text), "blocks": blocks}


OVERLAPS_SHOWN = 5
OVERLAP_GRAMMAR = 80  # characters of each other subscription's filters quoted in the note


def overlap_note(channel_id: str, overlaps: Sequence[tuple[int, filters.Filters]]) -> str | None:
    """Say that leads matching a new subscription and others of its channel post one card, not several.

    `overlaps` are (id, filters) of the channel's subscriptions a lead could match together with
    the new one. None when there are none.
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
        f":information_source: Leads matching {who} will post once in <#{channel_id}>: one card, "
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
    return f"`{row.id}` <#{row.channel_id}> {grammar} — {state} · {', '.join(extra)}"


def list_message(rows: Sequence[SubscriptionLine], *, everywhere: bool, several_connections: bool) -> dict:
    where = "in this workspace" if everywhere else "in this channel"
    if not rows:
        text = f"No subscriptions {where}. Add one with `/whatconverts subscribe [#channel] [filters]`."
        return {"text": text, "blocks": [section(text)]}
    lines = [_line(r, with_connection=several_connections) for r in rows]
    header = f"*Subscriptions {where} ({len(rows)})* — shown as you'd type them after `/whatconverts subscribe`"
    listed = sections(lines, max_blocks=MESSAGE_BLOCKS - 1, more=lambda n: f"…and {n} more; {len(rows)} in all.")
    return {"text": fallback("\n".join([header, *lines])), "blocks": [section(header), *listed]}
