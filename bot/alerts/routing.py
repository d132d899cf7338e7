"""Which subscriptions get a lead: one routine for polled and webhook leads, so they dedupe alike.

New leads go to the subscriptions they are news to and whose filters they pass. A lead that
already has a card in a subscription is updated there whatever the filters now say (a lead
that turns spam is marked spam on its card, not silently left as it was).

One card per lead per channel: of the subscriptions of a channel that match a lead, one gets
the row that posts the card (bot.alerts.overlap says which) and the others get `merged` rows, which
are never sent but tell the sender whose options the card carries. A lead that already has a
row in the channel (of any subscription, paused or of another connection) gets only merged
rows: it is on its way or posted, and its card is edited through the row that posted it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import filters, overlap
from bot.whatconverts.leads import EARLIEST, Lead
from storage import outbox
from storage import subscriptions as subscription_store
from storage.models import Delivery, Subscription

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
    new: int  # leads newly on their way to a channel (one per channel, however many subscriptions match)
    updated: int
    first: tuple[Lead, ...] = ()  # leads on their way to a channel that had no row anywhere before


def _row(lead: Lead, sub: Subscription, payload: str, now: datetime, *, status: str) -> dict:
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
        "status": status,
        "hold": "digest" if status == "held" else None,
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
    by_id = {s.id: s for s in subs}
    channels = sorted({(s.team_id, s.channel_id) for s in subs})
    channel_of = {
        s.id: (s.team_id, s.channel_id) for s in await subscription_store.in_channels(session, channels=channels)
    }
    channel_of.update({s.id: (s.team_id, s.channel_id) for s in subs})
    known = await outbox.known_leads(
        session, subscription_ids=sorted(i or 0 for i in channel_of), lead_ids=[lead.lead_id for lead in leads]
    )
    posted_in: dict[int, set[tuple[str, str]]] = {}  # lead -> channels where it has a row
    rows_of: dict[int, list[int]] = {}  # lead -> the subs of `subs` with a row for it
    for sub_id, lead_id in known:
        posted_in.setdefault(lead_id, set()).add(channel_of[sub_id])
        if sub_id in by_id:
            rows_of.setdefault(lead_id, []).append(sub_id)
    index = SourceIndex(subs, rules)
    # One row per (subscription, lead): PostgreSQL refuses to upsert the same row twice in a statement.
    rows: dict[tuple[int, int], dict] = {}
    new = 0
    first: list[Lead] = []
    for lead in leads:
        payload = json.dumps(lead.raw, separators=(",", ":"), default=str)
        for sub_id in sorted(rows_of.get(lead.lead_id, ())):
            rows.setdefault((sub_id, lead.lead_id), _row(lead, by_id[sub_id], payload, now, status="pending"))
        matching: dict[tuple[str, str], list[tuple[Subscription, filters.Filters]]] = {}
        for sub in index.candidates(lead):
            if (sub.id or 0, lead.lead_id) not in rows and eligible(lead, sub, rules[sub.id], now=now):
                matching.setdefault((sub.team_id, sub.channel_id), []).append((sub, rules[sub.id]))
        channels_with_row = posted_in.setdefault(lead.lead_id, set())
        unseen = not channels_with_row
        for channel, group in matching.items():
            poster = None if channel in channels_with_row else overlap.first(group, lead, now)
            for sub, sub_rules in group:
                status = "merged" if sub is not poster else "held" if sub_rules.digest is not None else "pending"
                rows[(sub.id or 0, lead.lead_id)] = _row(lead, sub, payload, now, status=status)
            if poster is not None:
                channels_with_row.add(channel)
                new += 1
        if unseen and channels_with_row:
            first.append(lead)
    merged = sum(1 for pair, row in rows.items() if row["status"] == "merged" and pair not in known)
    written = await outbox.upsert(session, list(rows.values()))
    return Routed(new=new, updated=max(0, written - new - merged), first=tuple(first))


async def merged_into(session: AsyncSession, deliveries: Sequence[Delivery]) -> dict[int, list[Subscription]]:
    """For each delivery (by id), the other active subscriptions whose matching it stands for.

    They are the ones with a `merged` row for the same channel and lead. Two cheap reads, and the
    second only when some channel has several active subscriptions.
    """
    channels = sorted({(d.team_id, d.channel_id) for d in deliveries})
    subs = await subscription_store.in_channels(session, channels=channels, active_only=True)
    per_channel = Counter((s.team_id, s.channel_id) for s in subs)
    crowded = {s.id: s for s in subs if per_channel[(s.team_id, s.channel_id)] > 1}
    if not crowded:
        return {}
    found: dict[tuple[str, str, int], list[Subscription]] = {}
    for sub_id, team_id, channel_id, lead_id in await outbox.merged_leads(
        session, subscription_ids=sorted(i or 0 for i in crowded), lead_ids=sorted({d.lead_id for d in deliveries})
    ):
        found.setdefault((team_id, channel_id, lead_id), []).append(crowded[sub_id])
    return {
        d.id or 0: others
        for d in deliveries
        if (others := [s for s in found.get((d.team_id, d.channel_id, d.lead_id), []) if s.id != d.subscription_id])
    }
