"""Escalations (`+sla`, `+escalate`): a reply in a card's thread when nobody has taken its lead in time.

When the sender posts a card of a subscription with `+sla`, it starts the card's escalation, due
at the post time plus the SLA (storage/escalations.py). Every process sweeps on the scheduler:
the database hands each due escalation to one sweep, closing those whose lead someone has taken
(`lead_claims`). For each of the others the sweep re-reads the card's subscriptions (an edit or a
pause counts from now on), then:

- quiet hours (`+quiet`) hold it like a card, until they end, unless `+urgent` matches the lead;
- otherwise it reserves a slot in the channel's pace (shared with the cards) and posts one reply
  in the card's thread mentioning the `+escalate` people and groups. The second reply is due at
  twice the SLA (or one SLA after the first, if quiet hours held the first); after it, it is done.

Slack's answers are read as the sender reads them (bot.slack.errors): a 429 waits `Retry-After`,
transient errors retry with backoff up to the sender's bound, a channel that won't take posts
breaks the subscription and ends the escalation, and a token problem waits for a refresh or a
reinstall.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import filters, overlap, routing
from bot.alerts.delivery import (
    EXPIRED_WAIT,
    MAX_ATTEMPTS,
    MIN_GAP,
    NO_TOKEN_WAIT,
    SEND_ERRORS,
    SEND_TIMEOUT,
    SPACING,
    break_subscription,
    posting_client,
    retry_delay,
)
from bot.alerts.escalation_messages import escalation_message
from bot.services import Services
from bot.slack import workspaces
from bot.slack.errors import (
    SlackChannelGone,
    SlackError,
    SlackMissingScope,
    SlackRateLimited,
    SlackTokenExpired,
    SlackTokenRevoked,
    SlackTransient,
    classify,
)
from bot.slack.tokens import as_bot
from bot.whatconverts.leads import Lead
from storage import escalations as store
from storage import outbox, problems
from storage import subscriptions as subscription_store
from storage.db import transaction
from storage.models import Delivery, Escalation, Subscription
from storage.types import utcnow

CLAIM_LIMIT = 200
# Replies one sweep posts in a channel: at the channel's pace (about 1/s, shared with the cards) a
# sweep never waits long on one busy channel, and the rest go with the next sweeps.
PER_CHANNEL = 10
STEPS = 2  # replies at most: at the SLA and at twice it
# A quiet-hours hold ends at the next minute the window lets cards through.
MIN_HOLD = timedelta(minutes=1)


@dataclass
class EscalationReport:
    leased: int = 0
    claimed: int = 0  # closed: someone took the lead
    sent: int = 0
    held: int = 0
    retried: int = 0
    stopped: int = 0
    failed: int = 0


@dataclass
class _Due:
    """A leased escalation and what its card's subscriptions make of it now."""

    escalation: Escalation
    delivery: Delivery
    subscription: Subscription | None
    plan: overlap.EscalationPlan | None = None
    hold_for: timedelta | None = None
    slot: float = 0.0
    others: list[Subscription] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.escalation.delivery_id


class Escalator:
    """One per process; `tick()` is what the scheduler calls."""

    def __init__(self, services: Services, *, owner: str | None = None, spacing: float = SPACING) -> None:
        self.services = services
        self.owner = owner or f"escalator-{secrets.token_hex(4)}"
        self.spacing = spacing
        self.stopping = False  # set when the process shuts down: no new sweep starts

    async def tick(self) -> EscalationReport:
        """Sweep once: claim what is due, hold or stop what must wait, post the rest."""
        report = EscalationReport()
        if self.stopping:
            return report
        now = utcnow()
        margin = timedelta(seconds=self.services.settings.delivery_claim_seconds + SEND_TIMEOUT)
        async with transaction(self.services.sessions) as session:
            leased, report.claimed = await store.claim(
                session, owner=self.owner, now=now, limit=CLAIM_LIMIT, lease_until=now + margin
            )
            if not leased:
                self._count(report)
                return report
            subs = await subscription_store.get_many(session, ids=sorted({d.subscription_id for _, d in leased}))
            merged = await routing.merged_into(session, [d for _, d in leased])
        report.leased = len(leased)
        due = [_Due(e, d, subs.get(d.subscription_id), others=merged.get(d.id or 0, [])) for e, d in leased]
        stopped = [d for d in due if not self._decide(d, now)]
        held = [d for d in due if d.plan is not None and d.hold_for is not None]
        sending, later = _per_channel([d for d in due if d.plan is not None and d.hold_for is None])
        async with transaction(self.services.sessions) as session:
            await store.close(
                session, delivery_ids=[d.id for d in stopped], owner=self.owner, state="stopped",
                error="the subscription no longer escalates",
            )  # fmt: skip
            for d in held:
                assert d.hold_for is not None
                await store.reschedule(
                    session, delivery_ids=[d.id], owner=self.owner, at=now + max(d.hold_for, MIN_HOLD), hold="quiet"
                )
            for d in later:  # due still: the next sweep takes them
                await store.reschedule(session, delivery_ids=[d.id], owner=self.owner, at=now, hold=d.escalation.hold)
            if sending:
                await self._reserve(session, sending, margin)
        report.stopped, report.held = len(stopped), len(held)
        clients: dict[str, AsyncWebClient | None] = {}
        for team_id in sorted({d.delivery.team_id for d in sending}):
            clients[team_id] = await posting_client(self.services, team_id)
        outcomes = await asyncio.gather(
            *(self._send(d, clients[d.delivery.team_id], report) for d in sending), return_exceptions=True
        )
        self._count(report)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return report

    def _decide(self, due: _Due, now: datetime) -> bool:
        """Fill in the plan (and a quiet-hours hold); False when the card should escalate no more."""
        sub, delivery = due.subscription, due.delivery
        if sub is None or sub.status != "active" or not delivery.message_ts or due.escalation.step >= STEPS:
            return False
        rules = filters.from_json(sub.filters_json)
        others = [(other, filters.from_json(other.filters_json)) for other in due.others]
        due.plan = overlap.escalation([rules, *(r for _, r in others)])
        if due.plan is None:
            return False
        lead = Lead.from_api(json.loads(delivery.lead_json))
        if overlap.held_quietly(sub, rules, others, lead, now):
            due.hold_for = overlap.quiet_left(sub, rules, others, lead, now)
        return True

    async def _reserve(self, session: AsyncSession, sending: Sequence[_Due], margin: timedelta) -> None:
        """Slots in each channel's pace (shared with the cards), and leases that outlast them."""
        counts = Counter((d.delivery.team_id, d.delivery.channel_id) for d in sending)
        firsts = await outbox.reserve_slots(session, counts=counts, now=time.time(), spacing=self.spacing)
        taken: Counter[tuple[str, str]] = Counter()
        for d in sorted(sending, key=lambda d: d.id):
            key = (d.delivery.team_id, d.delivery.channel_id)
            d.slot = firsts[key] + taken[key] * self.spacing
            taken[key] += 1
        await store.extend_leases(
            session,
            owner=self.owner,
            until={d.id: datetime.fromtimestamp(d.slot, UTC) + margin for d in sending},
        )

    async def _send(self, due: _Due, client: AsyncWebClient | None, report: EscalationReport) -> None:
        if client is None:
            await self._put_back(due, NO_TOKEN_WAIT, "the workspace needs a reinstall")
            report.retried += 1
            return
        assert due.plan is not None
        if (wait := due.slot - time.time()) > 0:
            await asyncio.sleep(wait)
        escalation, delivery = due.escalation, due.delivery
        step = escalation.step + 1
        message = escalation_message(step=step, waited=utcnow() - escalation.posted_at, targets=due.plan.targets)
        try:
            await as_bot(
                self.services.tokens,
                client,
                delivery.team_id,
                lambda: client.chat_postMessage(
                    channel=delivery.card_channel_id or delivery.channel_id,
                    thread_ts=delivery.message_ts,
                    unfurl_links=False,
                    unfurl_media=False,
                    **message,
                ),
            )
        except SEND_ERRORS as exc:
            await self._failed(due, classify(exc), report, token=client.token)
            return
        answered, sent_at = time.time(), utcnow()
        async with transaction(self.services.sessions) as session:
            # Whoever posts in the channel next (a card, another reminder) starts from this post.
            await outbox.push_back_channel(
                session,
                team_id=delivery.team_id,
                channel_id=delivery.channel_id,
                until=answered + min(MIN_GAP, self.spacing),
            )
            await store.mark_sent(
                session,
                delivery_id=due.id,
                owner=self.owner,
                step=step,
                at=sent_at,
                next_due=next_due(escalation, due.plan.sla, sent_at) if step < STEPS else None,
            )
        report.sent += 1

    async def _failed(self, due: _Due, error: SlackError, report: EscalationReport, *, token: str | None) -> None:
        """What Slack's answer means for the reminder: wait, retry, or give up with the reason."""
        team_id, escalation = due.delivery.team_id, due.escalation
        if isinstance(error, SlackRateLimited):
            self.services.metrics.slack_rate_limited.inc()
            until = time.time() + error.retry_after
            async with transaction(self.services.sessions) as session:
                await outbox.push_back_channel(
                    session, team_id=team_id, channel_id=due.delivery.channel_id, until=until
                )
                await store.reschedule(
                    session, delivery_ids=[due.id], owner=self.owner, at=datetime.fromtimestamp(until, UTC),
                    error=error.reason, hold=escalation.hold,
                )  # fmt: skip
            report.retried += 1
            return
        if isinstance(error, SlackChannelGone):
            await self._close(due, "failed", error.reason)
            if due.subscription is not None:
                await break_subscription(self.services, due.subscription, error.reason)
            report.failed += 1
            return
        waits = {SlackTokenExpired: EXPIRED_WAIT, SlackTokenRevoked: NO_TOKEN_WAIT, SlackMissingScope: NO_TOKEN_WAIT}
        wait = next((w for kind, w in waits.items() if isinstance(error, kind)), None)
        if isinstance(error, SlackTokenRevoked):
            await workspaces.token_refused(self.services, team_id=team_id, token=token or "", reason=error.reason)
        elif isinstance(error, SlackMissingScope):
            await workspaces.scope_missing(self.services, team_id=team_id, token=token or "", needed=error.needed)
        elif isinstance(error, SlackTransient) and escalation.attempts + 1 < MAX_ATTEMPTS:
            wait = timedelta(seconds=retry_delay(escalation.attempts + 1))
        if wait is not None:
            await self._put_back(due, wait, error.reason, failed=isinstance(error, SlackTransient))
            report.retried += 1
            return
        # Slack refused the reply itself (our bug), or the retries ran out: stop, and say so.
        await self._close(due, "failed", error.reason)
        async with transaction(self.services.sessions) as session:
            await problems.record(
                session,
                team_id=team_id,
                subject=f"lead {due.delivery.lead_id} in <#{due.delivery.channel_id}>",
                message=f"The reminder that nobody had taken the lead wasn't posted ({error.reason}).",
                fix="Check Slack's status page; if it keeps happening, please report it.",
            )
        report.failed += 1

    async def _put_back(self, due: _Due, wait: timedelta, reason: str, *, failed: bool = False) -> None:
        async with transaction(self.services.sessions) as session:
            await store.reschedule(
                session, delivery_ids=[due.id], owner=self.owner, at=utcnow() + wait, error=reason,
                hold=due.escalation.hold, failed=failed,
            )  # fmt: skip

    async def _close(self, due: _Due, state: str, reason: str) -> None:
        async with transaction(self.services.sessions) as session:
            await store.close(session, delivery_ids=[due.id], owner=self.owner, state=state, error=reason)

    def _count(self, report: EscalationReport) -> None:
        counter = self.services.metrics.escalations
        for outcome in ("claimed", "sent", "held", "retried", "stopped", "failed"):
            if n := getattr(report, outcome):
                counter.labels(outcome).inc(n)


def _per_channel(due: Sequence[_Due]) -> tuple[list[_Due], list[_Due]]:
    """The first PER_CHANNEL of each channel (oldest card first), and the others."""
    taken: Counter[tuple[str, str]] = Counter()
    now, later = [], []
    for d in sorted(due, key=lambda d: d.id):
        key = (d.delivery.team_id, d.delivery.channel_id)
        taken[key] += 1
        (now if taken[key] <= PER_CHANNEL else later).append(d)
    return now, later


def next_due(escalation: Escalation, sla: timedelta, sent_at: datetime) -> datetime:
    """The second reply: at twice the SLA after the card, or one SLA after the first if quiet hours
    held that one (two reminders at the end of the night would say nothing the first didn't)."""
    due = escalation.posted_at + 2 * sla
    return max(due, sent_at + sla) if escalation.hold else due
