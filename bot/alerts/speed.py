"""Speed to lead: how many of the leads posted in Slack someone claimed, and how soon.

Pure: our own records in (when each lead's first card was posted, who claimed it first and when),
a summary and its lines out; `bot.alerts.speed_records` reads the records. Nothing is estimated: a
lead nobody claimed has no time, and when nobody claimed anything the lines say so instead of
showing zeros. Times are our clocks' (a card's `sent_at`, a claim's `first_claimed_at`).

Median and p90 are nearest-rank, so each is a time some lead really took: "half (nine in ten) of
the claimed leads were claimed within it", never an interpolation between two leads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.formats import elapsed
from bot.slack.escape import escape_mrkdwn, mention

TOP = 3  # people and sources shown, each
SOURCE_CHARS = 40
NO_SOURCE = "(none)"


@dataclass(frozen=True)
class Arrival:
    """A lead whose first card was posted at `at`, with its source as the stats count it."""

    lead_id: int
    at: datetime
    source: str = NO_SOURCE


@dataclass(frozen=True)
class FirstClaim:
    """Who claimed a lead first, and when."""

    by: str
    at: datetime


@dataclass(frozen=True)
class Group:
    """One person's or one source's share: leads posted and claimed, and how soon."""

    name: str
    posted: int
    claimed: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Speed:
    """Speed to lead over some posted leads; `since` is set when the period reaches back further
    than the records (cards are remembered for a while only): the figures start there."""

    posted: int
    claimed: int
    median: timedelta | None
    p90: timedelta | None
    people: tuple[Group, ...] = ()
    sources: tuple[Group, ...] = ()
    since: datetime | None = None


def nearest_rank(values: Sequence[timedelta], share: float) -> timedelta | None:
    """The smallest of `values` that at least `share` of them are within (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def source_of(raw: str | None) -> str:
    """A lead's source as the stats count it: lower case, '(none)' when it has none."""
    return (raw or NO_SOURCE).strip().lower() or NO_SOURCE


def _group(name: str, posted: int, times: Sequence[timedelta]) -> Group:
    return Group(name, posted, len(times), nearest_rank(times, 0.5), nearest_rank(times, 0.9))


def measure(
    arrivals: Iterable[Arrival], claims: Mapping[int, FirstClaim], *, since: datetime | None = None, top: int = TOP
) -> Speed:
    """Speed to lead for these posted leads; `claims` by lead id (leads without one weren't claimed)."""
    posted = list({a.lead_id: a for a in arrivals}.values())
    times: dict[int, timedelta] = {}
    for arrival in posted:
        if (claim := claims.get(arrival.lead_id)) is not None:
            # Two clocks (the sender's, the presser's process) a little apart never make a negative time.
            times[arrival.lead_id] = max(claim.at - arrival.at, timedelta(0))
    by_person: dict[str, list[timedelta]] = {}
    by_source: dict[str, tuple[list[int], list[timedelta]]] = {}
    for arrival in posted:
        leads, taken = by_source.setdefault(arrival.source, ([], []))
        leads.append(arrival.lead_id)
        if arrival.lead_id in times:
            taken.append(times[arrival.lead_id])
            by_person.setdefault(claims[arrival.lead_id].by, []).append(times[arrival.lead_id])
    people = sorted(
        (_group(who, len(t), t) for who, t in by_person.items()),
        key=lambda g: (-g.claimed, g.median or timedelta(0), g.name),
    )
    sources = sorted(
        (_group(name, len(leads), t) for name, (leads, t) in by_source.items()),
        key=lambda g: (-g.posted, -g.claimed, g.name),
    )
    all_times = list(times.values())
    return Speed(
        posted=len(posted),
        claimed=len(all_times),
        median=nearest_rank(all_times, 0.5),
        p90=nearest_rank(all_times, 0.9),
        people=tuple(people[:top]),
        sources=tuple(sources[:top]),
        since=since,
    )


def _percent(part: int, whole: int) -> str:
    return f"{(200 * part + whole) // (2 * whole)}%"  # rounded half up


def _times(group: Group | Speed) -> str:
    assert group.median is not None and group.p90 is not None
    return f"median {elapsed(group.median)} · p90 {elapsed(group.p90)}"


def _source(group: Group) -> str:
    name = escape_mrkdwn(group.name[:SOURCE_CHARS])
    if not group.claimed:
        return f"{name} 0 of {group.posted}"
    assert group.median is not None
    return f"{name} {group.claimed} of {group.posted} (median {elapsed(group.median)})"


def _person(group: Group) -> str:
    assert group.median is not None
    return f"{mention(group.name)} {group.claimed} (median {elapsed(group.median)})"


def speed_lines(speed: Speed, *, remembered_days: int | None = None) -> list[str]:
    """The speed-to-lead lines of a stats answer or a digest (mrkdwn, lead text escaped)."""
    lines = []
    if not speed.posted:
        lines.append("*Speed to lead:* no lead cards were posted in Slack for these leads.")
    elif not speed.claimed:
        leads = "lead" if speed.posted == 1 else "leads"
        lines.append(f"*Speed to lead:* none of the {speed.posted} {leads} posted in Slack was claimed.")
    else:
        share = f"{speed.claimed} of {speed.posted} posted leads claimed ({_percent(speed.claimed, speed.posted)})"
        lines += [
            f"*Speed to lead:* {share} · time to claim: {_times(speed)}",
            f"*Claimed by:* {' · '.join(_person(g) for g in speed.people)}",
            f"*By source:* {' · '.join(_source(g) for g in speed.sources)}",
        ]
    if speed.since is not None:
        kept = f"Cards are remembered for {remembered_days} days, so s" if remembered_days else "S"
        lines.append(f"_{kept}peed to lead counts leads posted since {speed.since:%Y-%m-%d %H:%M} UTC._")
    return lines
