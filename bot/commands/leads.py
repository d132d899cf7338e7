"""Subcommands that read leads: `leads`, `stats` and `test` (a sample card in this channel)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError

from bot import formats
from bot.alerts import cards, filters, speed_records
from bot.commands import lead_messages as build
from bot.commands.subscribe import choose_connection
from bot.commands.table import Invocation, echo
from bot.connect import credentials, settings
from bot.connect.commands import actor_of
from bot.errors import UsageError, UserFacingError
from bot.services import Services
from bot.slack.errors import error_code
from bot.slack.permissions import require_member
from bot.whatconverts.client import (
    WhatConvertsAuthError,
    WhatConvertsError,
    WhatConvertsQuotaExceeded,
    WhatConvertsThrottled,
)
from bot.whatconverts.leads import Lead
from storage import connections as connection_store
from storage.models import Connection
from storage.types import utcnow

DAY_WORDS = ("today", "yesterday")
MAX_DAYS = 30  # a wider walk costs a page of quota per 250 leads, and an agency has many
RANGES_HELP = f"today, yesterday, 7d, 30d, or any number of days up to {MAX_DAYS}d (e.g. 14d)"
LATEST = 10
_DAYS_RE = re.compile(r"(\d{1,4})d")
# Words meant as a range, not a filter: refused as a range, not as "not a lead type".
_RANGE_LIKE_RE = re.compile(r"\d+[a-z]*|tomorrow|week|month|year|(last|this|past)[-_]?[a-z0-9]*", re.IGNORECASE)
# What a subscription does with the leads it picks; a lead query only picks them.
_DELIVERY_OPTIONS = ("compact", "thread", "digest", "quiet", "urgent", "sla")


@dataclass(frozen=True)
class Zone:
    """The user's time zone for day ranges, and how a reply names it."""

    tzinfo: tzinfo
    name: str
    known: bool  # False: Slack didn't tell us, so this is UTC by default


def user_zone(tz: str | None, offset: int | None = None) -> Zone:
    """The zone of `users.info` (`tz`, else its `tz_offset` in seconds); UTC when Slack gave neither."""
    if tz:
        try:
            return Zone(ZoneInfo(tz), tz, True)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a name this system's tz database lacks: the offset is still right today
    if offset is not None and -86400 < offset < 86400:
        fixed = timezone(timedelta(seconds=offset))
        return Zone(fixed, fixed.tzname(None) if offset else "UTC", True)
    return Zone(UTC, "UTC", False)


def date_range(word: str, now: datetime, zone: Zone) -> tuple[datetime, datetime, str]:
    """(start, end, label) in UTC for a range word; `today` and `yesterday` are days in `zone`."""
    if word in DAY_WORDS:
        midnight = now.astimezone(zone.tzinfo).replace(hour=0, minute=0, second=0, microsecond=0)
        where = zone.name if zone.known else "UTC: Slack didn't say your time zone"
        if word == "today":
            return midnight.astimezone(UTC), now, f"today ({where})"
        # Wall-clock arithmetic, then UTC: a day with a DST change is 23 or 25 hours long.
        start = midnight - timedelta(days=1)
        return start.astimezone(UTC), midnight.astimezone(UTC) - timedelta(seconds=1), f"yesterday ({where})"
    days = int(word.removesuffix("d"))
    return now - timedelta(days=days), now, "the last day" if days == 1 else f"the last {days} days"


def _range_word(word: str, name: str) -> str | None:
    """The range `word` means (`today`, `14d`); None if it isn't meant as one; UsageError if it's a bad one."""
    lowered = word.lower()
    if lowered in DAY_WORDS:
        return lowered
    if match := _DAYS_RE.fullmatch(lowered):
        days = int(match.group(1))
        if days > MAX_DAYS:
            raise UsageError(
                f"`{name}` covers at most {MAX_DAYS} days (`{echo(word)}` is longer). Ranges: {RANGES_HELP}."
            )
        if days >= 1:
            return f"{days}d"
    if _RANGE_LIKE_RE.fullmatch(lowered):
        raise UsageError(f"I don't know the range `{echo(word)}`. Ranges: {RANGES_HELP}.")
    return None


def split_range(args: Sequence[str], default: str, name: str) -> tuple[str, list[str]]:
    """The range among the words (or `default`), and the other words: the filters."""
    ranges: list[str] = []
    rest: list[str] = []
    for word in args:
        found = _range_word(word, name)
        if found:
            ranges.append(found)
        else:
            rest.append(word)
    if len(ranges) > 1:
        raise UsageError(f"Give one range, not {len(ranges)} ({', '.join(ranges)}). Ranges: {RANGES_HELP}.")
    return (ranges[0] if ranges else default), rest


@dataclass(frozen=True)
class Found:
    """The leads a query found in WhatConverts, and what it asked for."""

    leads: list[Lead]
    label: str  # the range as the answer names it
    rules: filters.Filters
    locale: formats.Locale
    connection: Connection
    start: datetime
    end: datetime


def wc_failure(exc: WhatConvertsError) -> UserFacingError:
    """What a command that reads leads tells the user when WhatConverts refused or failed."""
    if isinstance(exc, WhatConvertsQuotaExceeded):
        return UserFacingError("WhatConverts' daily API limit for this key is used up; try again after midnight UTC.")
    if isinstance(exc, WhatConvertsThrottled):
        return UserFacingError(
            "WhatConverts is throttling this key right now (too many requests at once); try again in a minute."
        )
    if isinstance(exc, WhatConvertsAuthError):
        return UserFacingError(
            "WhatConverts refused this connection's credentials; reconnect it (`/whatconverts connect`)."
        )
    return UserFacingError("WhatConverts didn't answer properly; please try again in a minute.")


async def _fetch(services: Services, inv: Invocation, default_range: str) -> Found:
    actor = await actor_of(services, inv)
    require_member(actor)
    word, rest = split_range(inv.args, default_range, inv.name)
    channel, rules = filters.parse_subscription(rest, command=inv.name)
    if channel is not None:
        raise UsageError(f"`{inv.name}` answers here, only for you: leave the channel out.")
    delivery = [f"+{option}" for option in _DELIVERY_OPTIONS if getattr(rules, option) not in (None, False)]
    if delivery:
        raise UsageError(f"`{delivery[0]}` is for subscriptions (how their cards post); `{inv.name}` only picks leads.")
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=inv.command.team_id)
    connection = choose_connection(rows, rules.connection)
    start, end, label = date_range(word, utcnow().replace(microsecond=0), user_zone(actor.tz, actor.tz_offset))
    try:
        walk = await credentials.call_api(
            services,
            connection,
            lambda creds: services.wc.walk_leads(creds, start=start, end=end),
            requests=lambda result: result.requests,
        )
    except WhatConvertsError as exc:
        raise wc_failure(exc) from None
    leads = [lead for lead in walk.leads if filters.matches(rules, lead)]
    return Found(leads, label, rules, settings.locale_of(connection), connection, start, end)


async def leads(services: Services, inv: Invocation) -> dict:
    found = await _fetch(services, inv, "today")
    latest = sorted(found.leads, key=lambda lead: lead.date_created or utcnow(), reverse=True)[:LATEST]
    grammar = filters.render(found.rules)
    return build.leads_message(
        latest, total=len(found.leads), range_label=found.label, grammar=grammar, locale=found.locale
    )


async def stats(services: Services, inv: Invocation) -> dict:
    found = await _fetch(services, inv, "7d")
    # Speed to lead for the leads found that were posted in Slack: from our own records only.
    speed = await speed_records.measure(
        services,
        team_id=inv.command.team_id,
        connection_id=found.connection.id or 0,
        start=found.start,
        end=found.end,
        leads={lead.lead_id: lead for lead in found.leads},
    )
    return build.stats_message(
        build.summarize(found.leads),
        range_label=found.label,
        grammar=filters.render(found.rules),
        locale=found.locale,
        speed=speed,
        remembered_days=services.settings.delivery_retention_days,
    )


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
