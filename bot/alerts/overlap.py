"""One card per lead per channel: what happens when several subscriptions of a channel match a lead.

A channel often has overlapping subscriptions ("all leads" and "calls +urgent:…", say). They
post one card between them, with their options merged so that nothing a subscription asked for
is lost and the lead is shown as soon as any of them would show it ("the most immediate wins"):

- The card belongs to the subscription that would show the lead soonest: one that posts it now
  beats one inside its quiet hours (the one whose quiet hours end first), and both beat a daily
  digest (the one whose digest comes first); ties go to the oldest subscription. A lead only
  digests want is held for that one digest, and is in no other digest of the channel.
- Quiet hours hold the card only while every matching subscription that posts cards is inside
  its quiet hours and finds the lead not urgent: `+urgent` of any of them lets it through.
- The card is compact only if every matching subscription asks for `+compact`; changes are
  replied in thread if any asks for `+thread`; it mentions everyone any of them names in `+notify`.
- Escalation (`+sla`): the shortest SLA among them wins, and everyone any of them names in
  `+escalate` is mentioned.

Pure functions: subscriptions and their parsed filters in, decisions out. Storing and sending
them is bot.alerts.routing's and bot.alerts.delivery's job. Subscriptions of different connections merge too
when they see the same lead, but only within one connection is that guaranteed (its leads are
routed in one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import filters, quiet
from bot.whatconverts.leads import LEAD_TYPES, Lead
from storage.models import Subscription

DAY = timedelta(days=1)
NOW = timedelta(0)


@dataclass(frozen=True)
class CardOptions:
    """How the one card of a lead is drawn and followed, merged from every subscription it stands for."""

    compact: bool
    thread: bool
    notify: tuple[str, ...] = ()  # user ids the card mentions, sorted


def card_options(rules: Sequence[filters.Filters]) -> CardOptions:
    """The fuller card wins (compact only if all are); one `+thread` is enough for thread replies;
    the card mentions everyone any of them asks it to (`+notify`)."""
    return CardOptions(
        compact=bool(rules) and all(r.compact for r in rules),
        thread=any(r.thread for r in rules),
        notify=tuple(sorted({user for r in rules for user in r.notify})),
    )


@dataclass(frozen=True)
class EscalationPlan:
    """When a card's lead is overdue (after `sla` unclaimed) and whom its reminders mention."""

    sla: timedelta
    targets: frozenset[str]


def escalation(rules: Sequence[filters.Filters]) -> EscalationPlan | None:
    """The shortest `+sla` of the subscriptions a card stands for, with everyone their `+escalate` names."""
    timed = [r for r in rules if r.sla is not None]
    if not timed:
        return None
    return EscalationPlan(min(r.sla for r in timed if r.sla), frozenset().union(*(r.escalate for r in timed)))


def held_quietly(
    subscription: Subscription,
    rules: filters.Filters,
    others: Sequence[tuple[Subscription, filters.Filters]],
    lead: Lead,
    now: datetime,
) -> bool:
    """Should the card wait for the end of quiet hours? Only if no matching subscription posts it now.

    `subscription` owns the card; `others` are the other subscriptions that matched the lead. A
    digest subscription among them doesn't want a card at all, so it never lets one through.
    """
    if not _quiet_now(subscription, rules, lead, now):
        return False
    return all(other.digest is not None or _quiet_now(sub, other, lead, now) for sub, other in others)


def quiet_left(
    subscription: Subscription,
    rules: filters.Filters,
    others: Sequence[tuple[Subscription, filters.Filters]],
    lead: Lead,
    now: datetime,
) -> timedelta:
    """While `held_quietly`: how long until the first of the card's subscriptions that post cards
    may post again (its quiet hours end)."""
    pairs = [(subscription, rules), *others]
    return min(wait(sub, sub_rules, lead, now) for sub, sub_rules in pairs if sub_rules.digest is None)


def first(candidates: Sequence[tuple[Subscription, filters.Filters]], lead: Lead, now: datetime) -> Subscription:
    """The subscription that posts the card: the one that would show the lead soonest (see module doc)."""
    return min(candidates, key=lambda c: (wait(c[0], c[1], lead, now), c[1].digest is not None, c[0].id or 0))[0]


def wait(subscription: Subscription, rules: filters.Filters, lead: Lead, now: datetime) -> timedelta:
    """How long until this subscription, alone, would show the lead: now, after quiet hours, or in its digest."""
    here = quiet.local(now, subscription.tz)
    if rules.digest is not None:
        at = here.replace(hour=rules.digest.hour, minute=rules.digest.minute, second=0, microsecond=0)
        done_today = subscription.last_digest_on is not None and subscription.last_digest_on >= here.date()
        if at <= here and not done_today:
            return NOW  # today's digest is due: the next summaries tick posts it
        return (at if at > here else at + DAY) - here
    if not _quiet_now(subscription, rules, lead, now):
        return NOW
    assert rules.quiet is not None
    end = here.replace(hour=rules.quiet[1].hour, minute=rules.quiet[1].minute, second=0, microsecond=0)
    return (end if end > here else end + DAY) - here


def _quiet_now(subscription: Subscription, rules: filters.Filters, lead: Lead, now: datetime) -> bool:
    """Inside the subscription's quiet hours, and not urgent enough to post anyway?"""
    if rules.quiet is None or not quiet.in_window(rules.quiet, quiet.local(now, subscription.tz).time()):
        return False
    return not (rules.urgent is not None and filters.matches(rules.urgent, lead))


def may_overlap(a: filters.Filters, b: filters.Filters) -> bool:
    """Could one lead match both? False only when the filters rule it out (different types, or
    included values the other excludes or doesn't include). Spam and duplicate flags are ignored:
    an ordinary lead passes both."""
    types_a = a.lead_types or frozenset(LEAD_TYPES)
    types_b = b.lead_types or frozenset(LEAD_TYPES)
    if not types_a & types_b:
        return False
    return all(_field_may_overlap(key, a, b) for key in filters.FIELDS)


def _field_may_overlap(key: str, a: filters.Filters, b: filters.Filters) -> bool:
    def values(pairs: frozenset[tuple[str, str]]) -> set[str]:
        return {value.casefold() for name, value in pairs if name == key}

    wanted_a, wanted_b = values(a.include), values(b.include)
    if not wanted_a and not wanted_b:
        return True  # any value nobody excludes (a lead may have one neither names)
    if key in filters.SCOPES and wanted_a and wanted_b and wanted_a != wanted_b:
        # A profile can be named by its name or its id: two different words may mean the same one.
        if any(v.isascii() and v.isdigit() for v in wanted_a | wanted_b):
            return True
    if wanted_a and wanted_b:
        allowed = wanted_a & wanted_b
    else:
        allowed = wanted_a or wanted_b
    return bool(allowed - values(a.exclude) - values(b.exclude))
