"""Claiming a lead from its card: "I'll take it", Release, and "Hand over to…".

Who may do what: any member takes a lead nobody has; the holder, or someone with configure rights
(workspace admins and owners, the installer, the connection's owner), releases it or hands it to
another member. Guests can't use the app at all. Whoever else presses is told privately why
nothing changed; nothing is ever changed by a press that lost a race (storage.claims decides that in
one statement, whatever the engine and the number of processes).

A change never edits a card here: it flags every card of the lead in the workspace (one per
channel) for the sender, which redraws them at each channel's pace with its retries
(`storage.claims.refresh_cards`), and is nudged so that happens at once.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import claim_messages
from bot.alerts.card_actions import CardContext
from bot.errors import NotFound, PermissionDenied, UserFacingError
from bot.services import Services
from bot.slack.boundary import Reach
from bot.slack.escape import is_user_id, mention
from bot.slack.notify import notify
from bot.slack.permissions import Actor, require_member
from storage import claims as claim_store
from storage.db import transaction
from storage.models import LeadClaim
from storage.types import utcnow


async def take(services: Services, *, actor: Actor, context: CardContext, reach: Reach) -> bool:
    """Claim the card's lead for the presser; True if they got it. Someone else has it: they are
    told who, and since when, and nothing changes."""
    require_member(actor)
    delivery = context.delivery
    now = utcnow()
    async with services.sessions() as session:
        # Most presses on a claimed lead are answered without taking the write lock; when it looks
        # free, the take below decides any race.
        current = await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
    if current is None or current.claimed_by is None:
        async with transaction(services.sessions) as session:
            arrived = await claim_store.first_card_at(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
            arrived = arrived or delivery.sent_at
            if arrived is None:
                raise NotFound("This card's record is gone, so the lead can't be claimed from it.")
            taken = await claim_store.take(
                session,
                team_id=delivery.team_id,
                lead_id=delivery.lead_id,
                user_id=actor.user_id,
                arrived_at=arrived,
                now=now,
            )
            if taken.won:
                await claim_store.refresh_cards(session, team_id=delivery.team_id, lead_id=delivery.lead_id, now=now)
        if taken.won:
            services.metrics.lead_claims.labels("take").inc()
            services.nudge_sender()
            return True
        current = taken.claim
    if current.claimed_by is None:  # held when the take ran, released the moment after
        await reach.tell(claim_messages.changed_meanwhile(None))
        return False
    since = current.claimed_at
    await reach.tell(claim_messages.held_already(holder=current.claimed_by, since=since, viewer=actor.user_id, now=now))
    return False


def _may_change(actor: Actor, claim: LeadClaim, context: CardContext) -> bool:
    return claim.claimed_by == actor.user_id or actor.may_configure(owner_user_id=context.connection.owner_user_id)


def _refused(holder: str) -> PermissionDenied:
    return PermissionDenied(
        f"{mention(holder)} has this lead: only they, or an admin, can release it or hand it over.", mrkdwn=True
    )


async def release(services: Services, *, actor: Actor, context: CardContext, reach: Reach) -> bool:
    """The holder (or an admin) gives the lead back: its cards offer "I'll take it" again. True if released."""
    require_member(actor)
    delivery = context.delivery
    now = utcnow()
    async with transaction(services.sessions) as session:
        current = await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
        if current is None or current.claimed_by is None:
            changed = None
        else:
            if not _may_change(actor, current, context):
                raise _refused(current.claimed_by)
            changed = await claim_store.release(
                session, team_id=delivery.team_id, lead_id=delivery.lead_id, holder=current.claimed_by, now=now
            )
            if changed is not None:
                await claim_store.refresh_cards(session, team_id=delivery.team_id, lead_id=delivery.lead_id, now=now)
        latest = changed or await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
    if changed is None:
        await reach.tell(_unchanged(current, latest))
        return False
    services.metrics.lead_claims.labels("release").inc()
    services.nudge_sender()
    return True


def _unchanged(read: LeadClaim | None, latest: LeadClaim | None) -> dict:
    if read is None or read.claimed_by is None:
        return claim_messages.nobody_holds()
    return claim_messages.changed_meanwhile(latest.claimed_by if latest else None)


async def _check_receiver(services: Services, client: AsyncWebClient, user_id: str | None) -> str:
    """The member a lead may be handed to; UserFacingError for nobody, a bot or a guest."""
    if not user_id or not is_user_id(user_id):
        raise UserFacingError("Pick the person to hand this lead over to.")
    receiver = await services.actor(client, user_id=user_id, installer_user_id=None)
    if not receiver.is_person:
        raise UserFacingError(f"{mention(user_id)} isn't a person who can take a lead.", mrkdwn=True)
    if receiver.is_guest:
        raise UserFacingError(
            f"{mention(user_id)} is a guest, and guests can't use WhatConverts for Slack "
            "(lead data contains personal information).",
            mrkdwn=True,
        )
    return user_id


async def hand_over(
    services: Services,
    client: AsyncWebClient,
    *,
    actor: Actor,
    context: CardContext,
    to: str | None,
    reach: Reach,
) -> bool:
    """The holder (or an admin) gives the lead to another member, who gets a direct message. True if handed over."""
    require_member(actor)
    receiver = await _check_receiver(services, client, to)
    delivery = context.delivery
    now = utcnow()
    async with transaction(services.sessions) as session:
        current = await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
        changed = None
        if current is not None and current.claimed_by is not None and current.claimed_by != receiver:
            if not _may_change(actor, current, context):
                raise _refused(current.claimed_by)
            changed = await claim_store.hand_over(
                session,
                team_id=delivery.team_id,
                lead_id=delivery.lead_id,
                holder=current.claimed_by,
                to=receiver,
                now=now,
            )
            if changed is not None:
                await claim_store.refresh_cards(session, team_id=delivery.team_id, lead_id=delivery.lead_id, now=now)
        latest = changed or await claim_store.get(session, team_id=delivery.team_id, lead_id=delivery.lead_id)
    if changed is None:
        if current is not None and current.claimed_by == receiver:
            await reach.tell(claim_messages.has_it_already(receiver))
        else:
            await reach.tell(_unchanged(current, latest))
        return False
    services.metrics.lead_claims.labels("hand_over").inc()
    services.nudge_sender()
    if receiver != actor.user_id:
        text = claim_messages.handed_to_you(by=actor.user_id, lead_id=delivery.lead_id, channel_id=delivery.channel_id)
        await notify(services, team_id=delivery.team_id, user_ids=[receiver], text=text)
    return True
