"""The thread reply of an escalation: nobody has taken the card's lead, and whom it tells (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bot.alerts.filters import mention


def waited_text(waited: timedelta) -> str:
    """`5 min`, `1 h 30 min`, `2 h`, `3 days 4 h`: how long a lead has waited, to the minute."""
    minutes = max(0, int(waited.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def escalation_message(*, step: int, waited: timedelta, targets: Iterable[str]) -> dict:
    """Reply `step` (1, then 2) in a card's thread, `waited` after the card was posted, mentioning `targets`.

    The targets are ids the grammar checked (`U…`, `W…`, `S…`), so the mentions are ours to write;
    nothing from the lead is in the text.
    """
    mentions = " ".join(mention(t) for t in sorted(targets))
    if step == 1:
        line = f"Nobody has taken this lead {waited_text(waited)} after it arrived."
    else:
        line = f"Still nobody has taken this lead, {waited_text(waited)} after it arrived."
    return {"text": f":alarm_clock: {line} {mentions}".rstrip()}
