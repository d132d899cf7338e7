"""Leads WhatConverts sent that the app couldn't fully use, told to admins once (status and Home).

A field that can't be read costs that field only (`Lead.unreadable`): the card goes out with the
rest, and the problem list names the lead and the fields once, however often polls re-read it.
A lead without a usable id can't be tracked or deduplicated at all, so it is skipped and said so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.whatconverts.leads import Lead
from storage import problems


async def record_unreadable(session: AsyncSession, *, team_id: str, label: str, leads: Sequence[Lead]) -> Counter[str]:
    """Record each lead with unreadable fields once; returns the fields newly recorded (for the metric)."""
    fields: Counter[str] = Counter()
    for lead in leads:
        if lead.unreadable and await problems.record_once(
            session,
            team_id=team_id,
            subject=f"lead #{lead.lead_id} from {label}",
            message=f"WhatConverts sent values the app couldn't read ({', '.join(lead.unreadable)}); "
            "its card shows everything else.",
            fix="Nothing to do in Slack; correct the lead in WhatConverts if those values matter.",
        ):
            fields.update(lead.unreadable)
    return fields


async def record_skipped(session: AsyncSession, *, team_id: str, label: str, count: int, now: datetime) -> None:
    """Leads without a usable lead_id: said once a day per connection (they can't be told apart)."""
    if count:
        await problems.record_once(
            session,
            team_id=team_id,
            subject=f"connection {label}",
            message="WhatConverts sent leads without a usable lead_id; they can't be tracked, so they were skipped.",
            fix="Check the connection's latest leads in WhatConverts.",
            since=now - timedelta(days=1),
        )
