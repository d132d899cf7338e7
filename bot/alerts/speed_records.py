"""The records speed to lead is measured from: which leads' cards were posted when, and their first claims.

Only what we recorded: a lead counts as posted when its first card in the workspace went out in
the period (the outbox's `sent_at`), and as claimed from its first claim (`lead_claims`). Posted
cards are remembered for `DELIVERY_RETENTION_DAYS`; a period reaching back further starts there,
and the summary says so (`Speed.since`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.alerts import speed
from bot.services import Services
from bot.whatconverts.leads import Lead
from storage import claims as claim_store
from storage.types import utcnow

CUT_NOTED = timedelta(minutes=1)


async def measure(
    services: Services,
    *,
    team_id: str,
    connection_id: int,
    start: datetime,
    end: datetime,
    leads: Mapping[int, Lead] | None = None,
    keep: Callable[[Lead], bool] | None = None,
) -> speed.Speed:
    """Speed to lead for the connection's leads first posted in [start, end].

    `leads` (the leads a stats query found, by id) limits it to those and gives their sources;
    without it the sources come from the leads as last stored, and `keep` picks which count
    (a digest's filters).
    """
    remembered = utcnow() - timedelta(days=services.settings.delivery_retention_days)
    since = max(start, remembered)
    # A range as long as the retention ("7d" with 7 days kept) starts a moment before it: not worth a note.
    cut = remembered - start > CUT_NOTED
    async with services.sessions() as session:
        posted = await claim_store.posted_leads(
            session, team_id=team_id, connection_id=connection_id, since=since, until=end + timedelta(seconds=1)
        )
        if leads is not None:
            posted = [p for p in posted if p.lead_id in leads]
            known = dict(leads)
        else:
            copies = await claim_store.lead_copies(session, team_id=team_id, lead_ids=[p.lead_id for p in posted])
            known = {lead_id: Lead.from_api(json.loads(raw)) for lead_id, raw in copies.items()}
        if keep is not None:
            posted = [p for p in posted if p.lead_id in known and keep(known[p.lead_id])]
        claims = await claim_store.of_team(session, team_id=team_id, lead_ids=[p.lead_id for p in posted])
    arrivals = [
        speed.Arrival(p.lead_id, p.arrived_at, speed.source_of(known[p.lead_id].source if p.lead_id in known else None))
        for p in posted
    ]
    firsts = {lead_id: speed.FirstClaim(c.first_claimed_by, c.first_claimed_at) for lead_id, c in claims.items()}
    return speed.measure(arrivals, firsts, since=since if cut else None)
