"""Pure builder for `/whatconverts connection`: how a connection's cards write money and phone numbers."""

from __future__ import annotations

from decimal import Decimal

from bot import formats
from bot.ids import COMMAND
from bot.slack.escape import escape_mrkdwn

EXAMPLE_AMOUNT = Decimal("1234.5")


def locale_message(*, label: str, locale: formats.Locale, changed: bool) -> dict:
    """What the connection's cards show (with examples), and how an admin changes it."""
    name = escape_mrkdwn(label)
    phone = formats.example_phone(locale.country)
    shown = (
        f"money in *{locale.currency}* ({escape_mrkdwn(formats.money(EXAMPLE_AMOUNT, locale.currency))}) and "
        f"phone numbers as dialled from *{locale.country}*" + (f" ({escape_mrkdwn(phone)})" if phone else "")
    )
    if changed:
        text = (
            f":white_check_mark: `{name}` cards now show {shown}. New cards use it at once; "
            "cards already posted change when their lead is next updated."
        )
    else:
        text = (
            f"`{name}` cards show {shown}.\nAdmins, the installer and the connection's owner change it with "
            f"`{COMMAND} connection {name} currency <code>` (ISO 4217, e.g. EUR) or "
            f"`{COMMAND} connection {name} country <code>` (ISO 3166, e.g. GB)."
        )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
