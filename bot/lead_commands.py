"""Subcommands that read leads: `leads`, `stats` and `test` (a sample card in this channel)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot import cards, connections, filters, formats
from bot import lead_messages as build
from bot.commands import Invocation
from bot.connect_commands import actor_of
from bot.errors import UsageError, UserFacingError
from bot.permissions import require_member
from bot.services import Services
from bot.slack_errors import error_code
from bot.subscribe_commands import choose_connection
from bot.whatconverts import WhatConvertsError, WhatConvertsQuotaExceeded, WhatConvertsThrottled
from storage import connections as connection_store
from storage.types import utcnow

RANGES = {"today": 0, "yesterday": 1, "7d": 7, "30d": 30}
LATEST = 10


def date_range(word: str, now: datetime) -> tuple[datetime, datetime, str]:
    """(start, end, label) for a range word; days are UTC days, as WhatConverts counts them."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "today":
        return midnight, now, "today"
    if word == "yesterday":
        return midnight - timedelta(days=1), midnight - timedelta(seconds=1), "yesterday"
    days = RANGES[word]
    return now - timedelta(days=days), now, f"the last {days} days"


def split_range(args: Sequence[str], default: str) -> tuple[str, list[str]]:
    words = [a for a in args if a.lower() in RANGES]
    if len(words) > 1:
        raise UsageError("Give one range: today, yesterday, 7d or 30d.")
    rest = [a for a in args if a.lower() not in RANGES]
    return (words[0].lower() if words else default), rest


async def _fetch(
    services: Services, inv: Invocation, default_range: str
) -> tuple[list, str, filters.Filters, formats.Locale]:
    require_member(await actor_of(services, inv))
    word, rest = split_range(inv.args, default_range)
    channel, rules = filters.parse_subscription(rest)
    if channel is not None:
        raise UsageError("`leads` and `stats` answer here; leave the channel out.")
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=inv.command.team_id)
    connection = choose_connection(rows, rules.connection)
    start, end, label = date_range(word, utcnow().replace(microsecond=0))
    try:
        walk = await connections.call_api(
            services,
            connection,
            lambda creds: services.wc.walk_leads(creds, start=start, end=end),
            requests=lambda result: result.requests,
        )
    except WhatConvertsQuotaExceeded:
        raise UserFacingError(
            "WhatConverts' daily API limit for this key is used up; try again after midnight UTC."
        ) from None
    except WhatConvertsThrottled:
        raise UserFacingError(
            "WhatConverts is throttling this key right now (too many requests at once); try again in a minute."
        ) from None
    except WhatConvertsError:
        raise UserFacingError("WhatConverts didn't answer properly; please try again in a minute.") from None
    leads = [lead for lead in walk.leads if filters.matches(rules, lead)]
    return leads, label, rules, connections.locale_of(connection)


async def leads(services: Services, inv: Invocation) -> dict:
    found, label, rules, locale = await _fetch(services, inv, "today")
    latest = sorted(found, key=lambda lead: lead.date_created or utcnow(), reverse=True)[:LATEST]
    return build.leads_message(
        latest, total=len(found), range_label=label, grammar=filters.render(rules), locale=locale
    )


async def stats(services: Services, inv: Invocation) -> dict:
    found, label, rules, locale = await _fetch(services, inv, "7d")
    return build.stats_message(build.summarize(found), range_label=label, grammar=filters.render(rules), locale=locale)


async def test(services: Services, inv: Invocation) -> dict:
    """Post a sample card here, so people see what alerts look like (and that the bot can post)."""
    require_member(await actor_of(services, inv))
    if inv.args:
        raise UsageError("Usage: `/whatconverts test` (posts a sample card in this channel).")
    assert inv.client is not None
    message = cards.sample_card()
    try:
        await inv.client.chat_postMessage(
            channel=inv.command.channel_id,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = error_code(exc)
        if error in ("not_in_channel", "channel_not_found"):
            raise UserFacingError("I can't post here. Invite me (`/invite @WhatConverts`) and try again.") from None
        raise UserFacingError(f"Slack refused the sample card ({error}).") from None
    return {"text": "Posted a sample lead card in this channel. Real leads look like that."}
