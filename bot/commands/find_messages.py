"""Pure builder for `/whatconverts find <phone|email>`: one contact's leads, and what the lookup cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerts.cards import lead_card
from bot.formats import Locale
from bot.slack.blocks import MESSAGE_BLOCKS, capped, context, fallback, section
from bot.slack.escape import escape_mrkdwn
from bot.whatconverts.leads import Lead


@dataclass(frozen=True)
class Found:
    """A lead of the contact, with the money and phone formats of the connection it came from."""

    lead: Lead
    locale: Locale


@dataclass(frozen=True)
class Search:
    """One connection searched: the requests it cost, its key's quota today, and what WhatConverts said."""

    label: str
    requests: int
    quota_used: int  # today, by every connection of the key, this search included
    quota_limit: int
    total: int = 0  # the contact's leads WhatConverts counted
    error: str | None = None  # why the search failed; None when it answered


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def cost_text(searches: Sequence[Search]) -> str:
    """What the lookup spent, and of what: every request made, failed ones included."""
    spent = _plural(sum(s.requests for s in searches), "WhatConverts request")
    if len(searches) == 1:
        (only,) = searches
        return f"Cost {spent} (quota today: {only.quota_used:,} / {only.quota_limit:,})."
    quotas = " · ".join(f"`{s.label}` {s.quota_used:,} / {s.quota_limit:,}" for s in searches)
    return f"Cost {spent}, {len(searches)} connections searched (quota today: {quotas})."


def find_message(
    found: Sequence[Found],
    *,
    contact: str,
    since: str,
    searches: Sequence[Search],
    skipped: Sequence[str] = (),
) -> dict:
    """`found` is the newest leads, newest first; `contact` the number or address looked up, as it was sent.

    `skipped` names connections not searched because the number isn't one in their country.
    """
    who = escape_mrkdwn(contact)
    total = sum(s.total for s in searches if s.error is None)
    if found:
        shown = f"latest {len(found)} of {total:,}" if total > len(found) else f"{len(found)}"
        head = f"*Leads for {who} {since}* ({shown})"
    else:
        head = f"No leads for {who} {since}."
    notes = [f":warning: Couldn't search `{s.label}`: {escape_mrkdwn(s.error)}" for s in searches if s.error]
    if skipped:
        names = ", ".join(f"`{label}`" for label in skipped)
        notes.append(f"Not searched: {names} (that isn't a phone number in their country).")
    more = total - len(found)
    if found and more > 0:
        notes.append(f"{_plural(more, 'more lead')} for this contact in WhatConverts.")
    notes.append(cost_text(searches))

    blocks: list[dict] = [section(head)]
    lines = [head]
    if found:
        blocks.append({"type": "divider"})
    for item in found:
        card = lead_card(item.lead, compact=True, locale=item.locale)
        blocks.extend(card["blocks"])
        lines.append(card["text"])
    footer = context("\n".join(notes))
    blocks = [*capped(blocks, max_blocks=MESSAGE_BLOCKS - 1, note="More leads than fit here."), footer]
    return {"text": fallback("\n".join([*lines, *notes])), "blocks": blocks}
