"""Pure builders for `/whatconverts leads` and `/whatconverts stats` answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.alerts.cards import TYPE_LABELS, lead_card, money
from bot.alerts.speed import Speed, speed_lines
from bot.formats import DEFAULT, Locale
from bot.slack.blocks import MESSAGE_BLOCKS, capped, code, fallback, section
from bot.slack.escape import escape_mrkdwn
from bot.whatconverts.leads import Lead

# The filter in a heading: the person just typed it, so a reminder is enough, and the heading stays
# within a header's 150 characters ("*Leads the last 30 days matching `…`* (latest 10 of 12345)").
GRAMMAR_IN_HEADING = 80


def _matching(grammar: str) -> str:
    return "" if grammar == "all" else f" matching {code(grammar, GRAMMAR_IN_HEADING)}"


def leads_message(
    latest: Sequence[Lead], *, total: int, range_label: str, grammar: str, locale: Locale = DEFAULT
) -> dict:
    scope = _matching(grammar)
    if not latest:
        text = f"No leads {range_label}{scope}."
        return {"text": text, "blocks": [section(text)]}
    shown = f"latest {len(latest)} of {total}" if total > len(latest) else f"{total}"
    header = f"*Leads {range_label}{scope}* ({shown})"
    blocks: list[dict] = [section(header), {"type": "divider"}]
    lines = []
    for lead in latest:
        card = lead_card(lead, compact=True, locale=locale)
        blocks.extend(card["blocks"])
        lines.append(card["text"])
    blocks = capped(blocks, max_blocks=MESSAGE_BLOCKS, note="More leads than fit here: narrow the range or the filter.")
    return {"text": fallback("\n".join([header, *lines])), "blocks": blocks}


@dataclass
class Summary:
    total: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_campaign: Counter[str] = field(default_factory=Counter)
    quote_total: Decimal = Decimal(0)
    sales_total: Decimal = Decimal(0)
    quotable: int = 0


def summarize(leads: Sequence[Lead]) -> Summary:
    summary = Summary(total=len(leads))
    for lead in leads:
        summary.by_type[lead.lead_type] += 1
        summary.by_source[(lead.source or "(none)").lower()] += 1
        if lead.campaign:
            summary.by_campaign[lead.campaign] += 1
        summary.quote_total += lead.quote_value or 0
        summary.sales_total += lead.sales_value or 0
        summary.quotable += lead.quotable == "yes"
    return summary


def stats_message(
    summary: Summary,
    *,
    range_label: str,
    grammar: str,
    locale: Locale = DEFAULT,
    speed: Speed | None = None,
    remembered_days: int | None = None,
) -> dict:
    """The stats answer; with `speed`, its speed-to-lead lines (how many posted leads were claimed, how soon)."""
    scope = _matching(grammar)
    if not summary.total:
        text = f"No leads {range_label}{scope}."
        return {"text": text, "blocks": [section(text)]}
    types = ", ".join(
        f"{TYPE_LABELS.get(t, ('', t))[0]} {TYPE_LABELS.get(t, ('', t))[1]}: {n}"
        for t, n in summary.by_type.most_common()
    )
    sources = ", ".join(f"{escape_mrkdwn(s[:40])}: {n}" for s, n in summary.by_source.most_common(8))
    campaigns = ", ".join(f"{escape_mrkdwn(c[:40])}: {n}" for c, n in summary.by_campaign.most_common(5))
    lines = [
        f"*{summary.total} leads {range_label}{scope}*",
        f"*By type:* {types}",
        f"*By source:* {sources}",
        f"*Top campaigns:* {campaigns}" if campaigns else "",
        f"*Quotable:* {summary.quotable} · *Quote value:* {money(summary.quote_total, locale)} · "
        f"*Sales value:* {money(summary.sales_total, locale)}",
    ]
    text = "\n".join(line for line in lines if line)
    blocks = [section(text)]
    if speed is not None:
        fast = "\n".join(speed_lines(speed, remembered_days=remembered_days))
        blocks.append(section(fast))
        text = f"{text}\n{fast}"
    return {"text": fallback(text), "blocks": blocks}
