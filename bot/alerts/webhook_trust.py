"""Which profiles' webhooks are trusted to bring their new leads, so that polling may drop to the backstop.

A webhook counts for what it proves. A *new-lead* webhook shows that the profile's new leads
arrive by themselves; an update-only one proves nothing about new leads. A webhook may also be
limited to some lead types ("calls only"), and nothing in a webhook says so. So the poll checks:
a lead it finds first, old enough that its webhook would have come (and new enough to be news),
from a profile trusted to send them, is a miss. That profile then polls at its normal pace for `MISS_MEMORY`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.whatconverts.leads import Lead
from bot.whatconverts.scopes import Source, source_of
from storage import webhook_sources

# WhatConverts sends webhooks "immediately"; this covers one still in flight while a poll reads.
GRACE = timedelta(minutes=2)
# Older leads are judged no more: one seen first by a sweep (it changed to match a filter, say)
# isn't one a new-lead webhook should have brought.
WINDOW = timedelta(hours=1)
# Long enough that a webhook set up for some lead types doesn't win trust back between two of the
# leads it leaves out; short enough that fixing the webhook in WhatConverts shows by the next day.
MISS_MEMORY = timedelta(hours=24)


async def trusted(
    session: AsyncSession, settings: Settings, *, connection_ids: list[int], now: datetime
) -> dict[int, set[Source]]:
    """Each connection's (account, profile) pairs with a recent new-lead webhook and no recent miss."""
    return await webhook_sources.fresh(
        session,
        connection_ids=connection_ids,
        since=now - timedelta(minutes=settings.webhook_fresh_minutes),
        missed_since=now - MISS_MEMORY,
    )


async def last_missed(session: AsyncSession, *, connection_ids: list[int], now: datetime) -> dict[int, datetime]:
    """When each connection's webhooks last missed a lead, if they did within `MISS_MEMORY`."""
    return await webhook_sources.last_missed(session, connection_ids=connection_ids, since=now - MISS_MEMORY)


def misses(first_seen: Iterable[Lead], trusted: Collection[Source], *, key_type: str, now: datetime) -> set[Source]:
    """The trusted pairs whose webhook should have brought one of `first_seen` (leads a poll saw first).

    A profile key sees one profile whatever ids its leads carry, so any miss is that profile's.
    """
    if not trusted:
        return set()
    late = [lead for lead in first_seen if lead.date_created and now - WINDOW <= lead.date_created <= now - GRACE]
    if key_type != "master":
        return set(trusted) if late else set()
    return {source for source in map(source_of, late) if source in trusted}
