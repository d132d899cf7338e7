"""The sender: claim due deliveries, post each card at its channel's next free slot, record the outcome.

Pacing is shared through the database (`channel_pace`), so all processes together post about
one message per second per channel. Outcomes are decided by error type (`bot.slack.errors`):
429 waits `Retry-After`; a gone channel (or one the app may not post in) breaks its subscription
and tells its creator; a person's alerts (`subscribe @me`, posted to their user id, so Slack puts
them in the app's DM) stop when users.info says they were deactivated (Slack still takes posts to
their DM) or made a guest; `token_expired` refreshes the token and tries once more; a dead token or
a missing scope makes the workspace's cards wait for a reinstall; transient errors retry with
capped exponential backoff and jitter up to a bound; nothing is dropped without a recorded reason.

Why one module: it is one object, the `Sender`, whose steps (claim, pace, post, record) share its
in-flight state and its one decision table of outcomes; card building and routing are elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import formats
from bot.alerts import cards, changes, filters, overlap, personal, routing
from bot.alerts.card_actions import claim_shown, grants_write
from bot.services import Services
from bot.slack import workspaces
from bot.slack.blocks import destination
from bot.slack.errors import (
    SlackBadMessage,
    SlackChannelGone,
    SlackError,
    SlackMessageGone,
    SlackMissingScope,
    SlackRateLimited,
    SlackTokenExpired,
    SlackTokenRevoked,
    SlackTransient,
    classify,
)
from bot.slack.escape import escape_mrkdwn
from bot.slack.notify import notify
from bot.slack.tokens import as_bot
from bot.whatconverts.leads import Lead
from storage import claims as claim_store
from storage import connections as connection_store
from storage import escalations as escalation_store
from storage import outbox, problems
from storage import subscriptions as subscription_store
from storage.batching import UNAVAILABLE, GroupCommit
from storage.db import transaction
from storage.models import Delivery, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

SPACING = 1.15  # seconds between the slots reserved for one channel; Slack allows about one post per second
# However late a busy process gets, its posts to one channel are sent at least this long after
# the previous one was answered (so at least this long after Slack received it).
MIN_GAP = 1.05
# A post going out later than this past its slot pushes the channel's pace row, so whoever
# reserves there next (any process) starts from the actual post, not the planned one.
LATE_TOLERANCE = 0.05
SEND_TIMEOUT = 10.0
CLAIM_LIMIT = 1000
PER_CHANNEL = 2
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = 300.0
SEND_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, ValueError)
# A workspace without a usable token (waiting for a reinstall) is looked at again this often;
# the reinstall itself makes its cards due at once.
NO_TOKEN_WAIT = timedelta(minutes=10)
# A refresh that failed is retried with its own backoff; the card looks again after this.
EXPIRED_WAIT = timedelta(seconds=60)
# Marking a posted card sent is retried this often (doubling) while the database is away.
MARK_RETRY_FIRST = 0.5
MARK_RETRY_MAX = 4.0

CHANNEL_FIX = {
    "channel_not_found": "The channel was deleted or is private without the app. Subscribe another channel.",
    "is_archived": "The channel is archived. Unarchive it, or subscribe another channel.",
    "not_in_channel": "Invite the app to the channel (/invite @WhatConverts), then resume the subscription.",
    "restricted_action": "Workspace settings don't let the app post there. Ask an admin, or subscribe another channel.",
    "restricted_action_read_only_channel": (
        "The channel is read-only (only admins post). Let the app post there, or subscribe another channel."
    ),
    "restricted_action_thread_only_channel": (
        "The channel takes thread replies only, and cards are new messages. Subscribe another channel."
    ),
}


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    updated: int = 0
    held: int = 0


async def posting_client(services: Services, team_id: str) -> AsyncWebClient | None:
    """A client to post as the bot in background work; None while the workspace has no usable token."""
    creds = await services.tokens.get(enterprise_id=None, team_id=team_id)
    if creds is None:
        return None
    # No rate-limit retry handler here: the outbox schedules its own retries from Retry-After.
    # The process's pooled session: a burst of posts reuses keep-alive connections instead of
    # opening one connection per card.
    return AsyncWebClient(
        token=creds.bot_token,
        base_url=services.slack.base_url,
        team_id=team_id,
        timeout=15,
        session=services.slack.session,
    )


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
        restarts = services.metrics.background_restarts
        self._marks: GroupCommit[dict, None] = GroupCommit(
            services.sessions, self._write_marks, name="marks", on_restart=restarts.labels("sender.marks").inc
        )
        # Late posts push their channel's pace before going out; a burst of them shares a transaction.
        # A burst of 429s (another app posting to the channels, say) is rescheduled in shared transactions.
        self._limited: GroupCommit[tuple[Delivery, float], None] = GroupCommit(
            services.sessions,
            self._write_limited,
            linger=0.002,
            name="rate-limited",
            on_restart=restarts.labels("sender.rate_limited").inc,
        )
        self._pushes: GroupCommit[tuple[str, str, float], None] = GroupCommit(
            services.sessions,
            outbox.push_back_channels,
            linger=0.002,
            name="pace-pushes",
            on_restart=restarts.labels("sender.pace_pushes").inc,
        )
        self._last_post: dict[tuple[str, str], float] = {}
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
                taken[key] += 1
            # Nobody may take a delivery over while it waits for its slot: the claim lasts past the send.
            await outbox.extend_claims(
                session, owner=self.owner, until={i: s + SEND_TIMEOUT + margin for i, s in slots.items()}
            )
            subs = await subscription_store.get_many(session, ids=sorted({d.subscription_id for d in claimed}))
            # One card per lead per channel: the other subscriptions it stands for merge their options in.
            merged = await routing.merged_into(session, claimed)
            access = await connection_store.card_settings(
                session, connection_ids=sorted({s.connection_id for s in subs.values()})
            )
            # Read after the claim above: a claim taken from here on flags these rows for one more edit.
            held = await claim_store.of_leads(session, leads={(d.team_id, d.lead_id) for d in claimed})
        report.claimed = len(claimed)
        writable = {
            sub_id: grants_write(a.kind, a.oauth_scopes)
            for sub_id, s in subs.items()
            if (a := access.get(s.connection_id)) is not None
        }
        locales = {
            sub_id: formats.Locale(a.currency, a.country)
            for sub_id, s in subs.items()
            if (a := access.get(s.connection_id)) is not None
        }
        clients: dict[str, AsyncWebClient | None] = {}
        for team_id in {d.team_id for d in claimed}:
            clients[team_id] = await self._client(team_id)
        gone = await personal.stopped(self.services, subs.values(), clients)
        outcomes = await asyncio.gather(
            *(
                self._send(
                    d,
                    slots[d.id or 0],
                    subs.get(d.subscription_id),
                    clients[d.team_id],
                    report,
                    actions=writable.get(d.subscription_id, False),
                    locale=locales.get(d.subscription_id, formats.DEFAULT),
                    others=merged.get(d.id or 0, []),
                    gone=gone,
                    claim=claim_shown(held.get((d.team_id, d.lead_id))),
                )
                for d in claimed
            ),
            return_exceptions=True,
        )
        # One card's failure (its bookkeeping, with the database away) fails the tick only once every
        # other card of the batch is done: none is left running behind a tick that has ended.
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return report

    async def _client(self, team_id: str) -> AsyncWebClient | None:
        return await posting_client(self.services, team_id)

    async def _send(
        self,
        delivery: Delivery,
        slot: float,
        subscription: Subscription | None,
        client: AsyncWebClient | None,
        report: SendReport,
        *,
        actions: bool,
        locale: formats.Locale,
        others: Sequence[Subscription] = (),
        gone: dict[tuple[str, str], str] | None = None,
        claim: cards.CardClaim | None = None,
    ) -> None:
        assert delivery.id is not None
        if subscription is None:
            return  # deleted meanwhile; its deliveries went with it
        if client is None:
            # Uninstalled workspaces lose their deliveries with their connections; this one waits.
            await self._defer(delivery, NO_TOKEN_WAIT, "the workspace needs a reinstall")
            report.retried += 1
            return
        if subscription.owner_user_id and (reason := (gone or {}).get((delivery.team_id, subscription.owner_user_id))):
            # Their alerts stop, and this card (with any others waiting for them) is never sent.
            report.failed += 1
            self.services.metrics.deliveries_failed.labels(reason).inc()
            await self._break(subscription, reason)
            return
        rules = filters.from_json(subscription.filters_json)
        merged = [(sub, filters.from_json(sub.filters_json)) for sub in others]
        options = overlap.card_options([rules, *(r for _, r in merged)])
        lead = Lead.from_api(json.loads(delivery.lead_json))
        if delivery.status == "updating":
            await self._edit(
                delivery, subscription, options, lead, slot, client, report, actions=actions, locale=locale, claim=claim
            )
            return
        if overlap.held_quietly(subscription, rules, merged, lead, utcnow()):
            async with transaction(self.services.sessions) as session:
                await outbox.hold(session, delivery_id=delivery.id, owner=self.owner, reason="quiet")
            report.held += 1
            return
        message = cards.lead_card(
            lead,
            compact=options.compact,
            actions=actions,
            locale=locale,
            notify=options.notify,
            claims=True,
            claim=claim,
        )
        await self._wait_for(slot, delivery)
        async with self._semaphore:
            await self._keep_gap(delivery)
            try:
                response = await self._as_bot(
                    client,
                    delivery,
                    lambda: client.chat_postMessage(
                        channel=delivery.channel_id, unfurl_links=False, unfurl_media=False, **message
                    ),
                )
            except SEND_ERRORS as exc:
                self._posted(delivery)
                await self._failed(delivery, subscription, classify(exc), report, token=client.token)
                return
            self._posted(delivery)
        # Posted to a user id, the card is in the app's DM: Slack names it (D…), and edits need that id.
        sla = overlap.escalation([rules, *(r for _, r in merged)])
        await self._mark(
            delivery, slot, ts=response.get("ts"), card_channel=response.get("channel"), sla=sla.sla if sla else None
        )
        report.sent += 1
        self.services.metrics.deliveries_sent.inc()
        if delivery.uncertain:
            self.services.metrics.deliveries_uncertain.inc()

    async def _write_limited(self, session: AsyncSession, limited: Sequence[tuple[Delivery, float]]) -> None:
        """Slack said 429 (Retry-After): nobody posts to the channel before then, and the card waits."""
        await outbox.push_back_channels(session, [(d.team_id, d.channel_id, until) for d, until in limited])
        for delivery, until in limited:
            await outbox.mark_retry(
                session,
                delivery_id=delivery.id or 0,
                owner=self.owner,
                at=datetime.fromtimestamp(until, UTC),
                error="ratelimited",
                refund_attempt=True,
            )

    async def _mark(
        self,
        delivery: Delivery,
        slot: float,
        *,
        ts: str | None,
        card_channel: str | None = None,
        sla: timedelta | None = None,
    ) -> None:
        """The card shows the lead as claimed; returns once that is committed.

        Slack has the card already, so with the database away the mark is retried for as long as
        the claim lasts: a short outage costs no duplicate. Past the claim it gives up; the row is
        still `sending`, and whoever claims it next resends it marked uncertain.
        """
        key, now = (delivery.team_id, delivery.channel_id), utcnow()
        # +sla: the card's reminders count from now (bot.alerts.escalations).
        escalation = None
        if sla:
            escalation = {"delivery_id": delivery.id, "team_id": delivery.team_id, "lead_id": delivery.lead_id}
            escalation.update(posted_at=now, due_at=now + sla)
        mark = {
            "delivery_id": delivery.id,
            "ts": ts,
            "card_channel": card_channel,
            "now": now,
            "shown_json": delivery.lead_json,
            "channel": key,
            "answered": self._last_post.get(key, time.time()),
            "escalation": escalation,
        }
        claim_ends = slot + SEND_TIMEOUT + self.services.settings.delivery_claim_seconds
        delay = MARK_RETRY_FIRST
        while True:
            try:
                await self._marks.submit(mark)
                return
            except UNAVAILABLE:
                if time.time() + delay >= claim_ends:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MARK_RETRY_MAX)

    async def _write_marks(self, session: AsyncSession, marks: Sequence[dict]) -> None:
        # The channel is released to other senders with these marks: whoever posts there next starts
        # from when this post was answered, not from the slot it was planned for.
        gap = min(MIN_GAP, self.spacing)
        await outbox.push_back_channels(session, [(*m["channel"], m["answered"] + gap) for m in marks])
        await outbox.mark_many_sent(session, marks, owner=self.owner)
        await escalation_store.schedule(session, [m["escalation"] for m in marks if m.get("escalation")])

    async def aclose(self) -> None:
        await self._marks.aclose()
        await self._pushes.aclose()
        await self._limited.aclose()

    async def _edit(
        self,
        delivery: Delivery,
        subscription: Subscription,
        options: overlap.CardOptions,
        lead: Lead,
        slot: float,
        client: AsyncWebClient,
        report: SendReport,
        *,
        actions: bool,
        locale: formats.Locale,
        claim: cards.CardClaim | None,
    ) -> None:
        """The lead (or who has it) changed after its card was posted: edit the card, and say what
        changed in the lead in thread."""
        assert delivery.id is not None
        notes = json.loads(delivery.notes_json or "[]")
        message = cards.lead_card(
            lead,
            compact=options.compact,
            actions=actions,
            notes=notes,
            locale=locale,
            notify=options.notify,
            claims=True,
            claim=claim,
        )
        await self._wait_for(slot, delivery)
        await self._keep_gap(delivery)
        try:
            await self._as_bot(
                client,
                delivery,
                lambda: client.chat_update(channel=delivery.card_channel, ts=delivery.message_ts or "", **message),
            )
            if options.thread and delivery.shown_json:
                lines = changes.describe(Lead.from_api(json.loads(delivery.shown_json)), lead, locale)
                if lines:
                    await client.chat_postMessage(
                        channel=delivery.card_channel,
                        thread_ts=delivery.message_ts,
                        text=escape_mrkdwn("\n".join(lines)),
                        unfurl_links=False,
                        unfurl_media=False,
                    )
            self._posted(delivery)
        except SEND_ERRORS as exc:
            self._posted(delivery)
            error = classify(exc)
            if not isinstance(error, SlackMessageGone):
                await self._failed(delivery, subscription, error, report, token=client.token)
                return
        await self._mark(delivery, slot, ts=None)
        report.updated += 1
        self.services.metrics.cards_updated.inc()

    async def _as_bot(self, client: AsyncWebClient, delivery: Delivery, call: Callable[[], Awaitable[Any]]) -> Any:
        return await as_bot(self.services.tokens, client, delivery.team_id, call)

    async def _defer(self, delivery: Delivery, wait: timedelta, reason: str) -> None:
        async with transaction(self.services.sessions) as session:
            await outbox.defer(
                session, delivery_ids=[delivery.id or 0], owner=self.owner, at=utcnow() + wait, error=reason
            )

    async def _wait_for(self, slot: float, delivery: Delivery) -> None:
        if (wait := slot - time.time()) > 0:
            await asyncio.sleep(wait)
        if (late := time.time()) - slot > LATE_TOLERANCE:
            # Group-committed: under load most of a batch is late, and a transaction each would
            # serialise the batch behind the database (and make it later still). Only a hint for
            # other processes (this one keeps its own gap): with the database away, post anyway.
            with contextlib.suppress(*UNAVAILABLE):
                await self._pushes.submit((delivery.team_id, delivery.channel_id, late + self.spacing))

    def _posted(self, delivery: Delivery) -> None:
        self._last_post[(delivery.team_id, delivery.channel_id)] = time.time()

    async def _keep_gap(self, delivery: Delivery) -> None:
        """A post goes out at least MIN_GAP after this process's previous post to the channel was
        answered, however late that one was: a post delayed by a busy CPU or a new connection must
        not reach Slack right before its channel's next one."""
        key = (delivery.team_id, delivery.channel_id)
        now = time.time()
        last = self._last_post.get(key)
        if last is not None and (wait := last + min(MIN_GAP, self.spacing) - now) > 0:
            await asyncio.sleep(wait)
            now = time.time()
        self._last_post[key] = now
        if len(self._last_post) > 100_000:
            self._last_post = {k: t for k, t in self._last_post.items() if now - t < MIN_GAP}

    async def _failed(
        self,
        delivery: Delivery,
        subscription: Subscription,
        error: SlackError,
        report: SendReport,
        *,
        token: str | None = None,
    ) -> None:
        assert delivery.id is not None
        metrics = self.services.metrics
        now = utcnow()
        if isinstance(error, SlackRateLimited):
            metrics.slack_rate_limited.inc()
            metrics.deliveries_retried.labels("ratelimited").inc()
            report.retried += 1
            await self._limited.submit((delivery, time.time() + error.retry_after))
            return
        if isinstance(error, SlackChannelGone):
            report.failed += 1
            metrics.deliveries_failed.labels(error.reason).inc()
            await self._break(subscription, error.reason)
            return
        if isinstance(error, SlackTokenRevoked):
            report.retried += 1
            metrics.deliveries_retried.labels(error.reason).inc()
            await workspaces.token_refused(
                self.services, team_id=delivery.team_id, token=token or "", reason=error.reason
            )
            await self._defer(delivery, NO_TOKEN_WAIT, f"the workspace needs a reinstall ({error.reason})")
            return
        if isinstance(error, SlackMissingScope):
            # Not this card's fault and not transient: the workspace waits for a reinstall, like a dead token.
            report.retried += 1
            metrics.deliveries_retried.labels(error.reason).inc()
            await workspaces.scope_missing(
                self.services, team_id=delivery.team_id, token=token or "", needed=error.needed
            )
            await self._defer(delivery, NO_TOKEN_WAIT, f"the workspace needs a reinstall ({error.reason})")
            return
        if isinstance(error, SlackTokenExpired):
            # The refresh failed just now; it is retried with its own backoff, and the card waits.
            report.retried += 1
            metrics.deliveries_retried.labels(error.reason).inc()
            await self._defer(delivery, EXPIRED_WAIT, error.reason)
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
                subject=f"lead {delivery.lead_id} in {destination(delivery.channel_id)}",
                message=f"Slack refused the lead card ({error.reason})."
                if gave_up
                else f"Posting failed {delivery.attempts} times ({error.reason}); we stopped retrying.",
                fix="This is a bug on our side; please report it." if gave_up else "Check Slack's status page.",
            )

    async def _break(self, subscription: Subscription, reason: str) -> None:
        await break_subscription(self.services, subscription, reason)


async def break_subscription(services: Services, subscription: Subscription, reason: str) -> None:
    """Slack won't take posts in the subscription's channel: mark it broken and tell its creator, once.

    A personal subscription's "channel" is its owner's DM: it stops without a DM (bot.alerts.personal).
    """
    assert subscription.id is not None
    if subscription.owner_user_id:
        await personal.stop(services, subscription, reason)
        return
    fix = CHANNEL_FIX.get(reason, "Check the channel, then subscribe again.")
    async with transaction(services.sessions) as session:
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
        await notify(
            services,
            team_id=subscription.team_id,
            user_ids=[subscription.created_by],
            text=f":warning: Lead alerts for <#{subscription.channel_id}> stopped: Slack says `{reason}`. {fix}",
        )
