"""Which subscriptions get a lead: one routine for polled and webhook leads, so they dedupe alike.

New leads go to the subscriptions they are news to and whose filters they pass. A lead that
already has a card in a subscription is updated there whatever the filters now say (a lead
that turns spam is marked spam on its card, not silently left as it was).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import filters
from bot.leads import EARLIEST, Lead
from storage import outbox
from storage.models import Subscription

# deliveries.lead_id is INTEGER (int4 on PostgreSQL); a larger id would fail the whole write.
# WhatConverts' ids are ~2 x 10^8 today; a BIGINT migration lifts this when they get near.
MAX_LEAD_ID = 2**31 - 1


def storable(lead: Lead) -> bool:
    return lead.lead_id <= MAX_LEAD_ID


def eligible(lead: Lead, subscription: Subscription, rules: filters.Filters, *, now: datetime) -> bool:
    """A lead is news to a subscription if it was created after it started and passes its filters.

    A lead whose creation date couldn't be read counts as created now, when we first see it: polls
    only return leads created within their window, and a webhook announces a lead as it arrives.
    """
    if (lead.date_created or now) < subscription.start_at:
        return False
    return filters.matches(rules, lead)


class SourceIndex:
    """Subscriptions by the sources they include, so a lead is only matched against ones it could pass.

    Agencies subscribe a channel per source or campaign; matching every lead against every
    subscription in full would be leads x subscriptions filter evaluations per poll.
    """

    def __init__(self, subs: Sequence[Subscription], rules: dict[int | None, filters.Filters]) -> None:
        self.anyone: list[Subscription] = []
        self.by_source: dict[str, list[Subscription]] = {}
        for sub in subs:
            sources = {value.strip().casefold() for key, value in rules[sub.id].include if key == "source"}
            if not sources:
                self.anyone.append(sub)
            for source in sources:
                self.by_source.setdefault(source, []).append(sub)

    def candidates(self, lead: Lead) -> list[Subscription]:
        return self.anyone + self.by_source.get((lead.source or "").strip().casefold(), [])


@dataclass(frozen=True)
class Routed:
    new: int
    updated: int


def _row(lead: Lead, sub: Subscription, payload: str, now: datetime, *, digest: bool) -> dict:
    return {
        "subscription_id": sub.id,
        "team_id": sub.team_id,
        "channel_id": sub.channel_id,
        "lead_id": lead.lead_id,
        "lead_json": payload,
        # Without a readable date, a fixed one: `now` would make every re-read look like a change
        # and edit the card on every poll of the lookback window.
        "lead_updated_at": lead.last_updated or lead.date_created or EARLIEST,
        # Digest subscriptions collect their leads for the daily summary instead of posting each.
        "status": "held" if digest else "pending",
        "hold": "digest" if digest else None,
        "attempts": 0,
        "uncertain": False,
        "needs_update": False,
        "next_attempt_at": now,
        "created_at": now,
    }


async def route(session: AsyncSession, *, subs: Sequence[Subscription], leads: Sequence[Lead], now: datetime) -> Routed:
    """Write deliveries for `leads` (all of one connection) to its `subs`, in the caller's transaction."""
    if not subs or not leads:
        return Routed(0, 0)
    rules = {s.id: filters.from_json(s.filters_json) for s in subs}
    known = await outbox.known_leads(
        session, subscription_ids=[s.id or 0 for s in subs], lead_ids=[lead.lead_id for lead in leads]
    )
    index = SourceIndex(subs, rules)
    by_id = {s.id: s for s in subs}
    # One row per (subscription, lead): PostgreSQL refuses to upsert the same row twice in a statement.
    rows: dict[tuple[int, int], dict] = {}
    for lead in leads:
        payload = json.dumps(lead.raw, separators=(",", ":"), default=str)
        candidates = index.candidates(lead) + [by_id[s] for s, lead_id in known if lead_id == lead.lead_id]
        for sub in candidates:
            pair = (sub.id or 0, lead.lead_id)
            if pair not in rows and (pair in known or eligible(lead, sub, rules[sub.id], now=now)):
                rows[pair] = _row(lead, sub, payload, now, digest=rules[sub.id].digest is not None)
    new = sum(1 for pair in rows if pair not in known)
    written = await outbox.upsert(session, list(rows.values()))
    return Routed(new=new, updated=max(0, written - new))
