"""Pure builders for what claiming a lead tells people privately: who has it already, that nobody
does, and the direct message to whoever a lead is handed over to."""

from __future__ import annotations

from datetime import datetime

from bot.alerts.cards import CLAIM_LABEL
from bot.formats import UNDER_A_MINUTE, elapsed
from bot.slack.blocks import destination, fallback, section
from bot.slack.escape import mention


def _reply(text: str) -> dict:
    return {"text": fallback(text), "blocks": [section(text)]}


def _since(moment: datetime, now: datetime) -> str:
    """'<!date…|10:02 UTC> (12 min ago)': Slack shows the time in the reader's own zone."""
    ago = elapsed(now - moment)
    ago = "just now" if ago == UNDER_A_MINUTE else f"{ago} ago"
    stamp = f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"
    return f"{stamp} ({ago})"


def held_already(*, holder: str, since: datetime | None, viewer: str, now: datetime) -> dict:
    """The answer to "I'll take it" on a lead someone has: who, and since when. Nothing changed."""
    when = f" since {_since(since, now)}" if since is not None else ""
    if holder == viewer:
        return _reply(f":raising_hand: You have this lead already{when}.")
    return _reply(
        f":raising_hand: {mention(holder)} has this lead{when}. Ask them (or an admin) to hand it over to you."
    )


def nobody_holds() -> dict:
    """Release or hand-over on a card whose lead nobody has any more (someone released it meanwhile)."""
    return _reply(
        f"Nobody has this lead right now, so there is nothing to release or hand over. *{CLAIM_LABEL}* takes it."
    )


def has_it_already(user_id: str) -> dict:
    return _reply(f"{mention(user_id)} has this lead already.")


def changed_meanwhile(holder: str | None) -> dict:
    """A release or hand-over that lost the race with another one: nothing changed, here's who has it."""
    now_with = f"it is with {mention(holder)} now" if holder else "nobody has it now"
    return _reply(f"Someone changed who has this lead at the same moment, so nothing was changed: {now_with}.")


def handed_to_you(*, by: str, lead_id: int, channel_id: str) -> str:
    """The direct message to whoever a lead is handed over to (their name on a card notifies nobody)."""
    return f":raising_hand: {mention(by)} handed you lead #{lead_id}: its card is in {destination(channel_id)}."
