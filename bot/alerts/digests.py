"""Daily digests (`+digest:HH:MM`) and quiet-hours summaries (`+quiet:HH:MM-HH:MM`).

Both run on every instance from the scheduler; the database decides who posts: a digest is
claimed by moving the subscription's `last_digest_on` to today (one instance wins), and held
leads are claimed row by row before a summary is posted.

A digest also says how fast the day's leads were claimed from their cards (speed to lead), from
the records of the cards posted in the 24 hours before it.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot import formats
from bot.alerts import filters, personal, quiet, speed_records
from bot.alerts.digest_messages import digest_message, quiet_summary_message
from bot.services import Services
from bot.slack.errors import error_code
from bot.slack.tokens import as_bot
from bot.whatconverts.leads import Lead
from storage import connections as connection_store
from storage import outbox
from storage import subscriptions as subscription_store
from storage.db import transaction
from storage.models import Delivery, Subscription
from storage.types import utcnow

log = logging.getLogger(__name__)

CLAIM = timedelta(minutes=2)
DIGEST_PERIOD = timedelta(days=1)  # a digest's speed to lead covers the day before it


def digest_due(rules: filters.Filters, subscription: Subscription, now: datetime) -> bool:
    """Is today's digest (in the creator's time zone) due and not yet posted?"""
    if rules.digest is None:
        return False
    here = quiet.local(now, subscription.tz)
    if here.time().replace(tzinfo=None) < rules.digest:
        return False
    return subscription.last_digest_on is None or subscription.last_digest_on < here.date()


class Summaries:
    """One per process; `tick()` is what the scheduler calls every minute."""

    def __init__(self, services: Services, *, owner: str | None = None) -> None:
        self.services = services
        self.owner = owner or f"summaries-{secrets.token_hex(4)}"

    async def tick(self) -> int:
        """Post what is due; returns how many messages this instance posted."""
        now = utcnow()
        async with self.services.sessions() as session:
            subs = await subscription_store.with_schedules(session)
        posted = 0
        for sub in subs:
            rules = filters.from_json(sub.filters_json)
            if digest_due(rules, sub, now):
                posted += await self._digest(sub, now)
            if rules.quiet and not quiet.in_window(rules.quiet, quiet.local(now, sub.tz).time()):
                posted += await self._quiet_summary(sub, now)
        return posted

    async def _digest(self, sub: Subscription, now: datetime) -> int:
        assert sub.id is not None
        async with transaction(self.services.sessions) as session:
            claimed = await subscription_store.claim_digest(
                session, subscription_id=sub.id, day=quiet.local(now, sub.tz).date()
            )
        if not claimed:
            return 0
        rows = await self._take(sub, "digest", now)
        rules = filters.from_json(sub.filters_json)
        # The day's speed to lead for the leads this subscription picks, wherever their cards went.
        speed = await speed_records.measure(
            self.services,
            team_id=sub.team_id,
            connection_id=sub.connection_id,
            start=now - DIGEST_PERIOD,
            end=now,
            keep=lambda lead: filters.matches(rules, lead),
        )
        message = digest_message(
            self._leads(rows), channel_id=sub.channel_id, locale=await self._locale(sub), speed=speed
        )
        return await self._post(sub, rows, message, now)

    async def _quiet_summary(self, sub: Subscription, now: datetime) -> int:
        rows = await self._take(sub, "quiet", now)
        if not rows:
            return 0
        return await self._post(
            sub, rows, quiet_summary_message(self._leads(rows), locale=await self._locale(sub)), now
        )

    async def _take(self, sub: Subscription, reason: str, now: datetime) -> list[Delivery]:
        async with transaction(self.services.sessions) as session:
            return await outbox.claim_held(
                session, subscription_id=sub.id or 0, reason=reason, owner=self.owner, until=now + CLAIM, now=now
            )

    async def _locale(self, sub: Subscription) -> formats.Locale:
        """The currency and country of the subscription's connection, for the amounts and numbers shown."""
        async with self.services.sessions() as session:
            found = await connection_store.card_settings(session, connection_ids=[sub.connection_id])
        settings = found.get(sub.connection_id)
        return formats.Locale(settings.currency, settings.country) if settings else formats.DEFAULT

    @staticmethod
    def _leads(rows: list[Delivery]) -> list[Lead]:
        return [Lead.from_api(json.loads(r.lead_json)) for r in sorted(rows, key=lambda r: r.id or 0)]

    async def _post(self, sub: Subscription, rows: list[Delivery], message: dict, now: datetime) -> int:
        client = await self.services.bot_client(team_id=sub.team_id)
        if client is None:
            return 0
        if sub.owner_user_id and (reason := await personal.standing(self.services, client, sub.owner_user_id)):
            # A person who can't have lead data any more gets no summary either; their held leads stay parked.
            await personal.stop(self.services, sub, reason)
            return 0
        try:
            await as_bot(
                self.services.tokens,
                client,
                sub.team_id,
                lambda: client.chat_postMessage(
                    channel=sub.channel_id, unfurl_links=False, unfurl_media=False, **message
                ),
            )
        except SlackApiError as exc:
            # The held rows' claims expire and the next tick tries again.
            log.warning("summary for subscription %s not posted: %s", sub.id, error_code(exc))
            return 0
        async with transaction(self.services.sessions) as session:
            await outbox.mark_summarized(session, delivery_ids=[r.id or 0 for r in rows], owner=self.owner, now=now)
        return 1
