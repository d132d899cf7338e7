"""The card's "Add value" modal: a pure view builder, and the submission read back into typed values.

Like `bot.home.modals`: plain data in, a view out; a reader returns a frozen dataclass or raises
`ModalErrors`. No Slack client and no database here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot import ids
from bot.formats import DEFAULT_CURRENCY, SYMBOLS
from bot.slack import views
from bot.slack.views import ModalErrors

VALUE_TITLE = "Lead value"  # the value modal's title, also shown while it loads and saves


AMOUNT_LIMIT = Decimal(10**12)


AMOUNT_CHARS = 24  # "1,000,000,000,000.00" and some room for "$" and spaces


# Digits spelled out: `\d` would also take Arabic-Indic and other Unicode digits.
_AMOUNT_RE = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<cents>[0-9]+))?")


@dataclass(frozen=True)
class LeadValues:
    """A submitted value modal; None means the field was left empty."""

    lead_id: int
    channel_id: str
    message_ts: str
    quote_value: Decimal | None
    sales_value: Decimal | None


def value_modal(
    *,
    lead_id: int,
    channel_id: str,
    message_ts: str,
    quote_value: Decimal | None,
    sales_value: Decimal | None,
    currency: str = DEFAULT_CURRENCY,
) -> dict:
    """The form for a lead's quote and sales values, opened from the card at `channel_id`/`message_ts`."""
    metadata = json.dumps(
        {"lead_id": lead_id, "channel_id": channel_id, "message_ts": message_ts}, sort_keys=True, separators=(",", ":")
    )
    fields = (
        (ids.BLOCK_VALUE_QUOTE, ids.ACTION_VALUE_QUOTE, "Quote value", quote_value, "What you quoted, e.g. 1,200.50"),
        (ids.BLOCK_VALUE_SALES, ids.ACTION_VALUE_SALES, "Sales value", sales_value, "What the sale was worth."),
    )
    fields = tuple(
        (block_id, action_id, f"{label} ({currency})", value, hint)
        for block_id, action_id, label, value, hint in fields
    )
    return {
        "type": "modal",
        "callback_id": ids.VIEW_LEAD_VALUE,
        "private_metadata": metadata,
        "title": views.plain(VALUE_TITLE),
        "submit": views.plain("Save"),
        "close": views.plain("Cancel"),
        "blocks": [
            views.input_block(
                block_id,
                label,
                views.text_input(action_id, placeholder="0.00", initial=_amount_text(value), max_length=AMOUNT_CHARS),
                optional=True,
                hint=hint,
            )
            for block_id, action_id, label, value, hint in fields
        ],
    }


def _amount_text(value: Decimal | None) -> str:
    if value is None or not value.is_finite():
        return ""
    exponent = value.as_tuple().exponent
    # WhatConverts may hold sub-cent amounts; show cents so saving the form unchanged is accepted.
    if isinstance(exponent, int) and exponent < -2:
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


def read_value_modal(view: Mapping[str, Any]) -> LeadValues:
    """The amounts in a submitted value modal; ModalErrors names each field that is wrong."""
    meta = views.metadata(view, {"lead_id": int, "channel_id": str, "message_ts": str})
    if None in meta.values():
        raise ValueError("value modal metadata is incomplete")
    errors: dict[str, str] = {}
    amounts: dict[str, Decimal | None] = {}
    for block_id, action_id in (
        (ids.BLOCK_VALUE_QUOTE, ids.ACTION_VALUE_QUOTE),
        (ids.BLOCK_VALUE_SALES, ids.ACTION_VALUE_SALES),
    ):
        try:
            amounts[block_id] = parse_amount(views.state_of(view, block_id, action_id).get("value") or "")
        except ValueError as bad:
            errors[block_id] = str(bad)
    if not errors and all(v is None for v in amounts.values()):
        errors[ids.BLOCK_VALUE_QUOTE] = "Enter a quote value, a sales value, or both."
    if errors:
        raise ModalErrors(errors)
    return LeadValues(
        lead_id=meta["lead_id"],
        channel_id=meta["channel_id"],
        message_ts=meta["message_ts"],
        quote_value=amounts[ids.BLOCK_VALUE_QUOTE],
        sales_value=amounts[ids.BLOCK_VALUE_SALES],
    )


# A symbol or code typed before or after the amount ("€1,200", "1200 EUR"): the connection's currency
# is what the value means whatever is typed, so the mark is only dropped.
_MARKS = "|".join(re.escape(s) for s in sorted(set(SYMBOLS.values()), key=len, reverse=True))


_CURRENCY_MARK = re.compile(rf"^\s*(?:{_MARKS}|[A-Za-z]{{3}}(?=[\s\d.,-]))\s*|\s*(?:{_MARKS}|[A-Za-z]{{3}})\s*$")


def parse_amount(typed: str) -> Decimal | None:
    """'1,200.50', '$1,200', '€99.5', '1200 EUR' → Decimal; '' → None; ValueError with a short message otherwise."""
    text = typed.strip()
    if not text:
        return None
    body = _CURRENCY_MARK.sub("", text.removeprefix("-")).strip()
    negative = text.startswith("-") or body.startswith("-")
    body = body.removeprefix("-").strip()
    match = _AMOUNT_RE.fullmatch(body)
    if match is None or not (match["whole"] or match["cents"]):
        raise ValueError("Enter an amount like 1200 or 1,200.50.")
    if match["cents"] and len(match["cents"]) > 2:
        raise ValueError("Use at most 2 decimal places.")
    value = Decimal(body.replace(",", ""))
    if negative and value:
        raise ValueError("The amount can't be negative.")
    if value >= AMOUNT_LIMIT:
        raise ValueError("That amount is too large.")
    return abs(value)  # "-0" is 0
