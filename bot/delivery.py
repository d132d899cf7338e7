"""The sender: claim due deliveries, post each card at its channel's next free slot, record the outcome.

Pacing is shared through the database (`channel_pace`), so all processes together post about
one message per second per channel. Outcomes are decided by error type (`bot.slack_errors`):
429 waits `Retry-After`; a gone channel breaks its subscription and tells its creator; a dead
token stops the workspace; transient errors retry with capped exponential backoff and jitter
up to a bound; nothing is dropped without a recorded reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, changes, connections, filters, quiet
from bot.card_actions import can_write
from bot.escape import escape_mrkdwn
from bot.leads import Lead
from bot.services import Services
from bot.slack_errors import (
    SlackBadMessage,
    SlackChannelGone,
    SlackError,
    SlackMessageGone,
    SlackRateLimited,
    SlackTokenRevoked,
    SlackTransient,
    classify,
)
from storage import connections as connection_store
from storage import installations, outbox, problems
from storage import subscriptions as subscription_store
from storage.batching import GroupCommit
from storage.db import transaction
from storage.models import Delivery, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

SPACING = 1.15  # seconds between posts to one channel; Slack allows about one per second
# A send that wakes up later than this past its slot takes a new slot, so a stall in one
# process can't squeeze its post up against the next process's.
LATE_TOLERANCE = 0.05
SEND_TIMEOUT = 10.0
CLAIM_LIMIT = 1000
PER_CHANNEL = 2
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = 300.0
SEND_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, ValueError)

CHANNEL_FIX = {
    "channel_not_found": "The channel was deleted or is private without the app. Subscribe another channel.",
    "is_archived": "The channel is archived. Unarchive it, or subscribe another channel.",
    "not_in_channel": "Invite the app to the channel (/invite @WhatConverts), then resume the subscription.",
}


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    updated: int = 0
    held: int = 0


def retry_delay(attempts: int) -> float:
    """Capped exponential backoff with jitter: ~2 s, 4 s, 8 s … up to 5 minutes."""
    return min(MAX_RETRY_DELAY, 2.0**attempts) * random.uniform(0.5, 1.5)


class Sender:
    """One per process; `tick()` is what the scheduler calls."""

    def __init__(self, services: Services, *, owner: str | None = None, spacing: float = SPACING) -> None:
        self.services = services
        self.owner = owner or f"sender-{secrets.token_hex(4)}"
        self.spacing = spacing
        # Posted cards are marked sent in shared transactions: one per burst, not one per card.
        self._marks: GroupCommit[dict, None] = GroupCommit(services.sessions, self._write_marks)
        # Late posts push their channel's pace before going out; a burst of them shares a transaction.
        self._pushes: GroupCommit[tuple[str, str, float], None] = GroupCommit(
            services.sessions, outbox.push_back_channels, linger=0.002
        )
        self._unguarded: set[int] = set()
        # Set when the process shuts down: finish the batch in hand, don't start another.
        self.stopping = False
        self._semaphore = asyncio.Semaphore(200)

    async def run(self, *, rounds: int = 20) -> SendReport:
        """Tick until nothing is due (bounded): what arrives while a batch is being sent goes out next,
        not at the scheduler's next interval."""
        total = SendReport()
        for _ in range(rounds):
            if self.stopping:
                break
            report = await self.tick()
            for name in ("claimed", "sent", "retried", "failed", "updated", "held"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if not report.claimed:
                break
        return total

    async def tick(self) -> SendReport:
        """Claim one batch of due deliveries and send it."""
        report = SendReport()
        margin = self.services.settings.delivery_claim_seconds
        async with transaction(self.services.sessions) as session:
            claimed = await outbox.claim(
                session,
                owner=self.owner,
                now=utcnow(),
                limit=CLAIM_LIMIT,
                per_channel=PER_CHANNEL,
                ttl=timedelta(seconds=margin + SEND_TIMEOUT),
            )
            if not claimed:
                return report
            counts = Counter((d.team_id, d.channel_id) for d in claimed)
            reserved_at = time.time()
            firsts = await outbox.reserve_slots(session, counts=counts, now=reserved_at, spacing=self.spacing)
            slots: dict[int, float] = {}
            taken: defaultdict[tuple[str, str], int] = defaultdict(int)
            for d in sorted(claimed, key=lambda d: d.id or 0):
                key = (d.team_id, d.channel_id)
                slots[d.id or 0] = firsts[key] + taken[key] * self.spacing
                if counts[key] == 1 and firsts[key] <= reserved_at:
                    # The channel was idle and this is its only post in the batch: nothing was posted
                    # there within `spacing`, so going out a little late crowds no one (the pace row is
                    # pushed after a late post, for whoever reserves next).
                    self._unguarded.add(d.id or 0)
                taken[key] += 1
            # Nobody may take a delivery over while it waits for its slot: the claim lasts past the send.
            await outbox.extend_claims(
                session, owner=self.owner, until={i: s + SEND_TIMEOUT + margin for i, s in slots.items()}
            )
            subs = await subscription_store.get_many(session, ids=sorted({d.subscription_id for d in claimed}))
            conns = await connection_store.get_connections(
                session, connection_ids=sorted({s.connection_id for s in subs.values()})
            )
        report.claimed = len(claimed)
        writable = {sub_id: can_write(conns[s.connection_id]) for sub_id, s in subs.items() if s.connection_id in conns}
        clients: dict[str, AsyncWebClient | None] = {}
        for team_id in {d.team_id for d in claimed}:
            clients[team_id] = await self._client(team_id)
        await asyncio.gather(
            *(
                self._send(
                    d,
                    slots[d.id or 0],
                    subs.get(d.subscription_id),
                    clients[d.team_id],
                    report,
                    actions=writable.get(d.subscription_id, False),
                )
                for d in claimed
            )
        )
        return report

    async def _client(self, team_id: str) -> AsyncWebClient | None:
        creds = await self.services.tokens.get(enterprise_id=None, team_id=team_id)
        if creds is None:
            return None
        # No rate-limit retry handler here: the outbox schedules its own retries from Retry-After.
        # The process's pooled session: a burst of posts reuses keep-alive connections instead of
        # opening one connection per card.
        return AsyncWebClient(
            token=creds.bot_token,
            base_url=self.services.slack.base_url,
            team_id=team_id,
            timeout=15,
            session=self.services.slack.session,
        )

    async def _send(
        self,
        delivery: Delivery,
        slot: float,
        subscription: Subscription | None,
        client: AsyncWebClient | None,
        report: SendReport,
        *,
        actions: bool,
    ) -> None:
        assert delivery.id is not None
        if subscription is None:
            return  # deleted meanwhile; its deliveries went with it
        if client is None:
            await self._stop_workspace(delivery, "the app is no longer installed in this workspace")
            report.failed += 1
            return
        rules = filters.from_json(subscription.filters_json)
        lead = Lead.from_api(json.loads(delivery.lead_json))
        if delivery.status == "updating":
            await self._edit(delivery, subscription, rules, lead, slot, client, report, actions=actions)
            return
        if rules.quiet and self._quiet(rules, subscription, lead):
            async with transaction(self.services.sessions) as session:
                await outbox.hold(session, delivery_id=delivery.id, owner=self.owner, reason="quiet")
            report.held += 1
            return
        message = cards.lead_card(lead, compact=rules.compact, actions=actions)
        slot = await self._wait_for(slot, delivery)
        async with self._semaphore:
            try:
                response = await client.chat_postMessage(
                    channel=delivery.channel_id, unfurl_links=False, unfurl_media=False, **message
                )
            except SEND_ERRORS as exc:
                await self._failed(delivery, subscription, classify(exc), report)
                return
        await self._marks.submit(
            {"delivery_id": delivery.id, "ts": response.get("ts"), "now": utcnow(), "shown_json": delivery.lead_json}
        )
        report.sent += 1
        self.services.metrics.deliveries_sent.inc()
        if delivery.uncertain:
            self.services.metrics.deliveries_uncertain.inc()

    async def _write_marks(self, session: AsyncSession, marks: Sequence[dict]) -> None:
        await outbox.mark_many_sent(session, marks, owner=self.owner)

    async def aclose(self) -> None:
        await self._marks.aclose()
        await self._pushes.aclose()

    def _quiet(self, rules: filters.Filters, subscription: Subscription, lead: Lead) -> bool:
        """Inside the subscription's quiet hours, and not urgent enough to post anyway?"""
        assert rules.quiet is not None
        if not quiet.in_window(rules.quiet, quiet.local(utcnow(), subscription.tz).time()):
            return False
        return not (rules.urgent is not None and filters.matches(rules.urgent, lead))

    async def _edit(
        self,
        delivery: Delivery,
        subscription: Subscription,
        rules: filters.Filters,
        lead: Lead,
        slot: float,
        client: AsyncWebClient,
        report: SendReport,
        *,
        actions: bool,
    ) -> None:
        """The lead changed after its card was posted: edit the card, and say what changed in thread."""
        assert delivery.id is not None
        notes = json.loads(delivery.notes_json or "[]")
        message = cards.lead_card(lead, compact=rules.compact, actions=actions, notes=notes)
        slot = await self._wait_for(slot, delivery)
        try:
            await client.chat_update(channel=delivery.channel_id, ts=delivery.message_ts or "", **message)
            if rules.thread and delivery.shown_json:
                lines = changes.describe(Lead.from_api(json.loads(delivery.shown_json)), lead)
                if lines:
                    await client.chat_postMessage(
                        channel=delivery.channel_id,
                        thread_ts=delivery.message_ts,
                        text=escape_mrkdwn("\n".join(lines)),
                        unfurl_links=False,
                        unfurl_media=False,
                    )
        except SEND_ERRORS as exc:
            error = classify(exc)
            if not isinstance(error, SlackMessageGone):
                await self._failed(delivery, subscription, error, report)
                return
        await self._marks.submit(
            {"delivery_id": delivery.id, "ts": None, "now": utcnow(), "shown_json": delivery.lead_json}
        )
        report.updated += 1
        self.services.metrics.cards_updated.inc()

    async def _wait_for(self, slot: float, delivery: Delivery) -> float:
        if delivery.id in self._unguarded:
            self._unguarded.discard(delivery.id)
            if (wait := slot - time.time()) > 0:
                await asyncio.sleep(wait)
            if (late := time.time()) - slot > LATE_TOLERANCE:
                await self._pushes.submit((delivery.team_id, delivery.channel_id, late + self.spacing))
                return late
            return slot
        for _ in range(5):
            wait = slot - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if time.time() - slot <= LATE_TOLERANCE:
                break
            key = (delivery.team_id, delivery.channel_id)
            async with transaction(self.services.sessions) as session:
                slot = (await outbox.reserve_slots(session, counts={key: 1}, now=time.time(), spacing=self.spacing))[
                    key
                ]
        return slot

    async def _failed(
        self, delivery: Delivery, subscription: Subscription, error: SlackError, report: SendReport
    ) -> None:
        assert delivery.id is not None
        metrics = self.services.metrics
        now = utcnow()
        if isinstance(error, SlackRateLimited):
            metrics.slack_rate_limited.inc()
            metrics.deliveries_retried.labels("ratelimited").inc()
            report.retried += 1
            async with transaction(self.services.sessions) as session:
                await outbox.push_back_channel(
                    session,
                    team_id=delivery.team_id,
                    channel_id=delivery.channel_id,
                    until=time.time() + error.retry_after,
                )
                await outbox.mark_retry(
                    session,
                    delivery_id=delivery.id,
                    owner=self.owner,
                    at=now + timedelta(seconds=error.retry_after),
                    error="ratelimited",
                    refund_attempt=True,
                )
            return
        if isinstance(error, SlackChannelGone):
            report.failed += 1
            metrics.deliveries_failed.labels(error.reason).inc()
            await self._break(subscription, error.reason)
            return
        if isinstance(error, SlackTokenRevoked):
            report.failed += 1
            metrics.deliveries_failed.labels(error.reason).inc()
            await self._stop_workspace(delivery, f"Slack refused the app's token ({error.reason})")
            return
        if isinstance(error, SlackTransient) and delivery.attempts < MAX_ATTEMPTS:
            report.retried += 1
            metrics.deliveries_retried.labels(error.reason).inc()
            async with transaction(self.services.sessions) as session:
                await outbox.mark_retry(
                    session,
                    delivery_id=delivery.id,
                    owner=self.owner,
                    at=now + timedelta(seconds=retry_delay(delivery.attempts)),
                    error=error.reason,
                    uncertain=error.uncertain,
                )
            return
        # Our bug (Slack refused the message) or retries exhausted: park it, visibly.
        report.failed += 1
        gave_up = isinstance(error, SlackBadMessage)
        metrics.deliveries_failed.labels(error.reason).inc()
        async with transaction(self.services.sessions) as session:
            await outbox.mark_failed(session, delivery_ids=[delivery.id], error=error.reason)
            await problems.record(
                session,
                team_id=delivery.team_id,
                subject=f"lead {delivery.lead_id} in <#{delivery.channel_id}>",
                message=f"Slack refused the lead card ({error.reason})."
                if gave_up
                else f"Posting failed {delivery.attempts} times ({error.reason}); we stopped retrying.",
                fix="This is a bug on our side; please report it." if gave_up else "Check Slack's status page.",
            )

    async def _break(self, subscription: Subscription, reason: str) -> None:
        assert subscription.id is not None
        fix = CHANNEL_FIX.get(reason, "Check the channel, then subscribe again.")
        async with transaction(self.services.sessions) as session:
            changed = await subscription_store.mark_broken(session, subscription_id=subscription.id, reason=reason)
            if changed:
                await problems.record(
                    session,
                    team_id=subscription.team_id,
                    subject=f"subscription {subscription.id} in <#{subscription.channel_id}>",
                    message=f"Lead cards can't be posted there ({reason}).",
                    fix=fix,
                )
        if changed:
            await connections.notify(
                self.services,
                team_id=subscription.team_id,
                user_ids=[subscription.created_by],
                text=f":warning: Lead alerts for <#{subscription.channel_id}> stopped: Slack says `{reason}`. {fix}",
            )

    async def _stop_workspace(self, delivery: Delivery, reason: str) -> None:
        client_id = self.services.settings.slack_client_id or ""
        async with transaction(self.services.sessions) as session:
            removed = await installations.delete_team_installations(
                session, team_id=delivery.team_id, enterprise_id=None
            )
            await outbox.fail_team(session, team_id=delivery.team_id, error=reason)
            if not removed:
                return  # another delivery of this batch already stopped the workspace and said so
            await problems.record(
                session,
                team_id=delivery.team_id,
                subject="workspace",
                message=f"Posting stopped: {reason}.",
                fix="Reinstall the app from /slack/install; connections and subscriptions are kept.",
            )
        self.services.tokens.forget(team_id=delivery.team_id)
        log.warning("workspace %s stopped (%s) for client %s", delivery.team_id, reason, client_id)
