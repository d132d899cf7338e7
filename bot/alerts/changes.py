"""What changed between two versions of a lead, in words, for thread replies ("Quote value set to $1,200")."""

from __future__ import annotations

from bot.alerts.cards import duration, money
from bot.formats import DEFAULT, Locale
from bot.whatconverts.leads import Lead

QUOTABLE = {"yes": "Marked quotable", "no": "Marked not quotable", "pending": "Quotable: pending"}


def describe(before: Lead, after: Lead, locale: Locale = DEFAULT) -> list[str]:
    """Plain-text lines for the changes worth telling a channel about (empty when nothing is); amounts
    in the connection's currency (`locale`)."""
    lines: list[str] = []
    if not before.is_complete and after.is_complete:
        if after.lead_type == "phone_call":
            parts = ["Call completed"]
            if after.call_duration_seconds and (length := duration(after.call_duration_seconds)):
                parts.append(length)
            if after.recording_url:
                parts.append("recording available")
            lines.append(" — ".join(parts[:1]) + (f" — {', '.join(parts[1:])}" if parts[1:] else ""))
        else:
            lines.append("Completed")
    if after.quote_value != before.quote_value and after.quote_value is not None:
        lines.append(f"Quote value set to {money(after.quote_value, locale)}")
    if after.sales_value != before.sales_value and after.sales_value is not None:
        lines.append(f"Sales value set to {money(after.sales_value, locale)}")
    if after.quotable != before.quotable and after.quotable in QUOTABLE:
        lines.append(QUOTABLE[after.quotable])
    if after.spam and not before.spam:
        lines.append("Marked as spam")
    if after.duplicate and not before.duplicate:
        lines.append("Marked as duplicate")
    if after.status != before.status and after.status in ("unique", "repeat"):
        lines.append(f"Now a {after.status} lead")
    return lines
