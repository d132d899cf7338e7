"""Lead card buttons that write back to WhatConverts: quotable, not quotable, add value, spam.

The card is edited in place with who did what. Pressing the same button twice changes nothing
the second time (the lead already has that state, and the note isn't repeated).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards, connections, filters
from bot.errors import NotFound, UserFacingError
from bot.leads import Lead
from bot.permissions import Actor, require_member
from bot.services import Services
from bot.slack_errors import error_code
from bot.whatconverts import WhatConvertsError, WhatConvertsQuotaExceeded
from storage import outbox
from storage.db import transaction
from storage.models import Connection, Delivery

WRITE_SCOPE = "write_leads"


def can_write(connection: Connection) -> bool:
    """OAuth grants without the write scope can't change leads, so their cards get no buttons."""
    return grants_write(connection.kind, connection.oauth_scopes)


def grants_write(kind: str, oauth_scopes: str | None) -> bool:
    """`can_write` from the two columns it needs (the sender reads just those, not the credentials)."""
    return kind != "oauth" or WRITE_SCOPE in (oauth_scopes or "").replace(",", " ").split()


@dataclass(frozen=True)
class CardContext:
    delivery: Delivery
    connection: Connection
    compact: bool


async def card_context(services: Services, *, team_id: str, channel_id: str, message_ts: str) -> CardContext:
    async with services.sessions() as session:
        found = await outbox.card_owner(session, channel_id=channel_id, message_ts=message_ts)
    if found is None or found[0].team_id != team_id:
        raise NotFound("This card's subscription or connection was removed, so it can't be changed from here.")
    delivery, sub, conn = found
    return CardContext(delivery=delivery, connection=conn, compact=filters.from_json(sub.filters_json).compact)


def _money(value: Decimal) -> str:
    return cards.money(value)


async def apply(
    services: Services,
    client: AsyncWebClient,
    *,
    actor: Actor,
    context: CardContext,
    fields: dict[str, str],
    note: str,
) -> None:
    """Write `fields` to the lead, then edit the card in place with `note` (once)."""
    require_member(actor)
    if not can_write(context.connection):
        raise UserFacingError("This connection's WhatConverts authorization can't change leads (no write access).")
    delivery = context.delivery
    assert delivery.id is not None
    # Two presses on one card (or two people) must not lose each other's note: one at a time per card
    # here, and the notes are re-read under the row lock before they are written.
    async with services.locks[f"card:{delivery.id}"]:
        try:
            lead = await connections.call_api(
                services,
                context.connection,
                lambda creds: services.wc.update_lead(creds, delivery.lead_id, fields),
            )
        except WhatConvertsQuotaExceeded:
            raise UserFacingError("WhatConverts' daily API limit is used up; try again after midnight UTC.") from None
        except WhatConvertsError as exc:
            raise UserFacingError(f"WhatConverts didn't accept the change ({exc.message[:100]}).") from None
        async with transaction(services.sessions) as session:
            current = await outbox.get_delivery(session, delivery_id=delivery.id, for_update=True)
            if current is None:
                raise NotFound("This card's subscription was removed, so it can't be changed from here.")
            notes: list[str] = json.loads(current.notes_json or "[]")
            if not notes or notes[-1] != note:
                notes.append(note)
            await outbox.update_card(
                session,
                delivery_id=delivery.id,
                lead_json=json.dumps(lead.raw, separators=(",", ":"), default=str),
                notes_json=json.dumps(notes),
            )
        message = cards.lead_card(lead, compact=context.compact, actions=True, notes=notes)
        try:
            await client.chat_update(channel=delivery.channel_id, ts=delivery.message_ts or "", **message)
        except SlackApiError as exc:
            raise UserFacingError(
                f"The lead changed, but Slack didn't let me update the card ({error_code(exc)})."
            ) from None


def quotable_note(user_id: str, quotable: bool) -> str:
    return f"✓ marked {'quotable' if quotable else 'not quotable'} by <@{user_id}>"


def spam_note(user_id: str) -> str:
    return f":no_entry: marked spam by <@{user_id}>"


def value_note(user_id: str, quote: Decimal | None, sales: Decimal | None) -> str:
    parts = [
        f"quote {_money(quote)}" if quote is not None else "",
        f"sales {_money(sales)}" if sales is not None else "",
    ]
    return f"✓ {' and '.join(p for p in parts if p)} set by <@{user_id}>"


def current_lead(context: CardContext) -> Lead:
    return Lead.from_api(json.loads(context.delivery.lead_json))
