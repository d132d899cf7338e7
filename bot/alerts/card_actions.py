"""Lead card buttons that write back to WhatConverts: quotable, not quotable, add value.

Only what `POST /leads/{id}` can edit gets a button (platform truth W1: quotable, quote and sales
values, lead URL, additional fields); spam is marked in WhatConverts itself, so pressing the Spam
button older cards still carry only says where. The card's note ("✓ marked quotable by @ada") is
written from the lead WhatConverts sends back, never from what was asked: when the answer is a
refusal, or a lead without the change, the card stays as it was and only the presser is told why.
Pressing the same button twice changes nothing the second time (the note isn't repeated).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import formats
from bot.alerts import cards, filters, overlap, routing
from bot.connect import credentials, settings
from bot.errors import NotFound, UserFacingError
from bot.services import Services
from bot.slack.errors import error_code
from bot.slack.permissions import Actor, require_member
from bot.whatconverts import paths as wc_paths
from bot.whatconverts.client import WhatConvertsError, WhatConvertsQuotaExceeded
from bot.whatconverts.leads import Lead
from storage import claims as claim_store
from storage import outbox
from storage.db import transaction
from storage.models import Connection, Delivery, LeadClaim

WRITE_SCOPE = "write_leads"


def can_write(connection: Connection) -> bool:
    """OAuth grants without the write scope can't change leads, so their cards get no buttons."""
    return grants_write(connection.kind, connection.oauth_scopes)


def grants_write(kind: str, oauth_scopes: str | None) -> bool:
    """`can_write` from the two columns it needs (the sender reads just those, not the credentials)."""
    return kind != "oauth" or WRITE_SCOPE in (oauth_scopes or "").replace(",", " ").split()


def claim_shown(claim: LeadClaim | None) -> cards.CardClaim | None:
    """A claim as its cards draw it: who has it, who was first and how long after the lead arrived."""
    if claim is None:
        return None
    taken_after = claim.first_claimed_at - claim.arrived_at
    return cards.CardClaim(holder=claim.claimed_by, first_by=claim.first_claimed_by, taken_after=taken_after)


@dataclass(frozen=True)
class CardContext:
    delivery: Delivery
    connection: Connection
    compact: bool
    notify: tuple[str, ...] = ()  # who the card mentions (`+notify`), kept when it is redrawn


async def card_context(services: Services, *, team_id: str, channel_id: str, message_ts: str) -> CardContext:
    async with services.sessions() as session:
        found = await outbox.card_owner(session, channel_id=channel_id, message_ts=message_ts)
        # The card stands for every subscription of the channel that matched its lead: drawn as the sender drew it.
        others = await routing.merged_into(session, [found[0]]) if found else {}
    if found is None or found[0].team_id != team_id:
        raise NotFound("This card's subscription or connection was removed, so it can't be changed from here.")
    delivery, sub, conn = found
    rules = [filters.from_json(s.filters_json) for s in (sub, *others.get(delivery.id or 0, []))]
    options = overlap.card_options(rules)
    return CardContext(delivery=delivery, connection=conn, compact=options.compact, notify=options.notify)


def _money(value: Decimal, currency: str) -> str:
    return formats.money(value, currency)


async def apply(
    services: Services,
    client: AsyncWebClient,
    *,
    actor: Actor,
    context: CardContext,
    change: Change,
) -> Lead:
    """Ask WhatConverts for `change`; when the lead it returns has it, edit the card in place with
    the note read from that lead (once), and return that lead. Otherwise UserFacingError, and the
    card is left alone."""
    require_member(actor)
    if not can_write(context.connection):
        raise UserFacingError("This connection's WhatConverts authorization can't change leads (no write access).")
    delivery = context.delivery
    assert delivery.id is not None
    # Two presses on one card (or two people) must not lose each other's note: one at a time per card
    # here, and the notes are re-read under the row lock before they are written.
    async with services.locks[f"card:{delivery.id}"]:
        try:
            lead = await credentials.call_api(
                services,
                context.connection,
                lambda creds: services.wc.update_lead(creds, delivery.lead_id, change.fields),
            )
        except WhatConvertsQuotaExceeded:
            raise UserFacingError("WhatConverts' daily API limit is used up; try again after midnight UTC.") from None
        except WhatConvertsError as exc:
            raise UserFacingError(f"WhatConverts didn't accept the change ({exc.message[:100]}).") from None
        note = change.note(lead, actor.user_id)
        if note is None:
            # A 200 is not proof: only the lead WhatConverts returns says what it now holds.
            raise UserFacingError(
                f"WhatConverts answered with {change.shown(lead)}, not {change.wanted}; the card is unchanged."
            )
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
            # Redrawn whole, so the claim stays on it.
            claim = await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
        message = cards.lead_card(
            lead,
            compact=context.compact,
            actions=True,
            notes=notes,
            locale=settings.locale_of(context.connection),
            notify=context.notify,
            claims=True,
            claim=claim_shown(claim),
        )
        try:
            await client.chat_update(channel=delivery.card_channel, ts=delivery.message_ts or "", **message)
        except SlackApiError as exc:
            raise UserFacingError(
                f"The lead changed, but Slack didn't let me update the card ({error_code(exc)})."
            ) from None
    return lead


@dataclass(frozen=True)
class Change:
    """One button's edit: the form fields sent, and how to read its outcome from the lead returned."""

    fields: dict[str, str]
    # The card's note, from the returned lead and who pressed; None when that lead lacks the change.
    note: Callable[[Lead, str], str | None]
    # The edited fields as a lead shows them ("Quotable: not set"), and as they were asked for.
    shown: Callable[[Lead], str]
    wanted: str


_QUOTABLE_WORDS = {"yes": "quotable", "no": "not quotable", "pending": "pending", "not_set": "not set"}


def _quotable_words(value: str | None) -> str:
    return _QUOTABLE_WORDS.get(value or "not_set", "unknown")


def quotable_change(quotable: bool) -> Change:
    wanted = "yes" if quotable else "no"

    def note(lead: Lead, user_id: str) -> str | None:
        if lead.quotable != wanted:
            return None
        return f"✓ marked {_quotable_words(lead.quotable)} by <@{user_id}>"

    return Change(
        fields={"quotable": wanted},
        note=note,
        shown=lambda lead: f"Quotable: {_quotable_words(lead.quotable)}",
        wanted=f"Quotable: {_quotable_words(wanted)}",
    )


def _amount(value: Decimal | None, currency: str) -> str:
    return _money(value, currency) if value is not None else "no value"


def value_change(quote: Decimal | None, sales: Decimal | None, *, currency: str = formats.DEFAULT_CURRENCY) -> Change:
    """Set the quote and/or sales value; notes and answers show amounts in the connection's `currency`."""
    fields = {}
    if quote is not None:
        fields["quote_value"] = str(quote)
    if sales is not None:
        fields["sales_value"] = str(sales)

    def values(quote_value: Decimal | None, sales_value: Decimal | None, sep: str) -> str:
        parts = [
            f"quote{sep}{_amount(quote_value, currency)}" if quote is not None else "",
            f"sales{sep}{_amount(sales_value, currency)}" if sales is not None else "",
        ]
        return " and ".join(p for p in parts if p)

    def note(lead: Lead, user_id: str) -> str | None:
        if (quote is not None and lead.quote_value != quote) or (sales is not None and lead.sales_value != sales):
            return None
        return f"✓ {values(lead.quote_value, lead.sales_value, ' ')} set by <@{user_id}>"

    return Change(
        fields=fields,
        note=note,
        shown=lambda lead: values(lead.quote_value, lead.sales_value, ": "),
        wanted=values(quote, sales, ": "),
    )


def spam_elsewhere() -> UserFacingError:
    """What pressing the Spam button of an older card says: WhatConverts' API can't mark spam (W1)."""
    return UserFacingError(
        "WhatConverts' API can't mark a lead as spam, so nothing was changed. Mark it in WhatConverts: "
        f"{wc_paths.MARK_SPAM}. The card shows it once WhatConverts reports the lead as spam."
    )


def current_lead(context: CardContext) -> Lead:
    return Lead.from_api(json.loads(context.delivery.lead_json))
