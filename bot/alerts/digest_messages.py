"""Pure builders for the daily digest and the end-of-quiet-hours summary."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.cards import TYPE_LABELS, lead_card, money
from bot.alerts.speed import Speed, speed_lines
from bot.commands.lead_messages import summarize
from bot.formats import DEFAULT, Locale
from bot.slack.blocks import MESSAGE_BLOCKS, capped, context, fallback, section
from bot.slack.escape import escape_mrkdwn
from bot.whatconverts.leads import Lead

SHOWN = 10


def _stats(leads: Sequence[Lead], locale: Locale) -> list[str]:
    summary = summarize(leads)
    types = ", ".join(f"{TYPE_LABELS.get(t, ('', t))[1]}: {n}" for t, n in summary.by_type.most_common())
    sources = ", ".join(f"{escape_mrkdwn(s[:40])}: {n}" for s, n in summary.by_source.most_common(5))
    campaigns = ", ".join(f"{escape_mrkdwn(c[:40])}: {n}" for c, n in summary.by_campaign.most_common(3))
    lines = [f"*By type:* {types}", f"*By source:* {sources}"]
    if campaigns:
        lines.append(f"*Top campaigns:* {campaigns}")
    lines.append(
        f"*Quote value:* {money(summary.quote_total, locale)} · *Sales value:* {money(summary.sales_total, locale)}"
    )
    return lines


def digest_message(
    leads: Sequence[Lead], *, channel_id: str, locale: Locale = DEFAULT, speed: Speed | None = None
) -> dict:
    """The day's digest for a channel, or (a user id) for that person's alerts, in their DM; with
    `speed`, how fast the day's posted leads were claimed (left out when none of them had a card:
    there is nothing to measure)."""
    where = "your personal alerts" if channel_id.startswith(("U", "W")) else f"<#{channel_id}>"
    fast = speed_lines(speed) if speed is not None and speed.posted else []
    if not leads:
        text = f":spiral_calendar_pad: Daily digest for {where}: no new leads since the last one."
    else:
        count = f"{len(leads)} new lead{'s' * (len(leads) != 1)}"
        text = "\n".join([f":spiral_calendar_pad: *Daily digest for {where}: {count}*", *_stats(leads, locale)])
    blocks = [section(text), *([section("\n".join(fast))] if fast else [])]
    return {"text": fallback("\n".join([text, *fast])), "blocks": blocks}


def quiet_summary_message(leads: Sequence[Lead], *, locale: Locale = DEFAULT) -> dict:
    head = f":crescent_moon: *{len(leads)} lead{'s' * (len(leads) != 1)} arrived during quiet hours*"
    blocks = [section("\n".join([head, *_stats(leads, locale)])), {"type": "divider"}]
    for lead in list(leads)[:SHOWN]:
        blocks.extend(lead_card(lead, compact=True, locale=locale)["blocks"])
    more = len(leads) - SHOWN
    if more > 0:
        blocks.append(context(f"…and {more} more."))
    return {"text": head, "blocks": capped(blocks, max_blocks=MESSAGE_BLOCKS, note=f"…and more: {len(leads)} in all.")}
