"""Subcommands `subscribe`, `unsubscribe` and `list`: which channels (or people) get which leads.

A channel's subscriptions are configuration (admins, the installer, the connection's owner); any
member but a guest may have personal alerts of their own (`subscribe @me`), in the app's DM.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import filters, overlap, quiet
from bot.commands import subscription_messages as build
from bot.commands.table import Invocation, echo
from bot.connect.commands import actor_of
from bot.errors import NotFound, PermissionDenied, UsageError, UserFacingError
from bot.home import overview
from bot.services import Services
from bot.slack.errors import error_code
from bot.slack.payloads import parse_id
from bot.slack.permissions import Actor, require_configure, require_member
from storage import connections as connection_store
from storage import subscriptions as store
from storage.db import transaction
from storage.models import Connection, Subscription
from storage.types import utcnow

DAY_SECONDS = 86400


async def _connections(services: Services, team_id: str) -> list[Connection]:
    async with services.sessions() as session:
        return await connection_store.list_connections(session, team_id=team_id)


def choose_connection(rows: list[Connection], label: str | None) -> Connection:
    """The connection a command means: the one named, or the only one."""
    if not rows:
        raise NotFound("Connect WhatConverts first: `/whatconverts connect`.")
    if label:
        for row in rows:
            if row.label == label:
                return row
        raise UsageError(f"No connection called `{label[:40]}`. Connections: {', '.join(r.label for r in rows)}.")
    if len(rows) > 1:
        labels = ", ".join(f"`connection:{r.label}`" for r in rows)
        raise UsageError(f"This workspace has several connections; add one of {labels}.")
    return rows[0]


async def check_channel(client: AsyncWebClient, channel_id: str) -> str | None:
    """Refuse a channel the bot can't post in, with what to do; returns the channel's name."""
    try:
        info = (await client.conversations_info(channel=channel_id)).get("channel") or {}
    except SlackApiError as exc:
        if error_code(exc) == "channel_not_found":
            raise UserFacingError(
                "I can't see that channel. If it's private, invite me first (`/invite @WhatConverts`), then try again."
            ) from None
        raise UserFacingError("Slack didn't let me check that channel; please try again.") from None
    if info.get("is_archived"):
        raise UserFacingError("That channel is archived; pick another one.")
    if (info.get("is_private") or info.get("is_im") or info.get("is_mpim")) and not info.get("is_member"):
        raise UserFacingError("I'm not in that private channel. Invite me (`/invite @WhatConverts`), then subscribe.")
    return info.get("name")


async def save_subscription(
    services: Services,
    client: AsyncWebClient,
    *,
    actor: Actor,
    team_id: str,
    connection: Connection,
    channel_id: str,
    rules: filters.Filters,
    subscription_id: int | None = None,
    owner_user_id: str | None = None,
) -> Subscription:
    """Create (or, with `subscription_id`, change) a subscription: the one path for commands and modals.

    With `owner_user_id` it is that person's own alerts, posted to their user id (Slack puts them in
    the app's DM): any member may have them, for themselves only, and the channel is their user id.
    """
    if owner_user_id is None:
        require_configure(actor, owner_user_id=connection.owner_user_id)
        name = await check_channel(client, channel_id)
    else:
        require_member(actor)
        if owner_user_id != actor.user_id:
            raise PermissionDenied("Personal alerts are for yourself only: `/whatconverts subscribe @me`.")
        if rules.notify:
            raise UsageError("`+notify` is for a channel's subscriptions: your personal alerts are yours already.")
        if rules.sla is not None:
            # A reminder in your own DM would mention people who can't see the card.
            raise UsageError(
                "`+sla` and `+escalate` are for a channel's cards, where the people they name can see them."
            )
        channel_id, name = owner_user_id, None
    # The connection lives on the row; stored filters are about leads only (`list` adds it back).
    rules = dataclasses.replace(rules, connection=None)
    assert connection.id is not None
    async with transaction(services.sessions) as session:
        for sub in await store.list_subscriptions(session, team_id=team_id, channel_id=channel_id):
            same = sub.connection_id == connection.id and filters.from_json(sub.filters_json) == rules
            if same and sub.id != subscription_id:
                # A real mention (a channel id from Slack), so Slack shows the channel's name.
                where = "You already have" if owner_user_id else f"<#{channel_id}> already has"
                raise UserFacingError(f"{where} that subscription (id {sub.id}).", mrkdwn=True)
        if subscription_id is not None:
            current = await store.get_subscription(session, subscription_id=subscription_id)
            if current is not None and current.owner_user_id != owner_user_id:
                # A channel's subscription never turns into someone's DMs, nor the other way round.
                raise UserFacingError(
                    "That subscription is someone's personal alerts: they change it with `/whatconverts subscribe @me`."
                    if current.owner_user_id
                    else "That subscription belongs to a channel; it can't become personal alerts."
                )
            updated = await store.update_subscription(
                session,
                team_id=team_id,
                subscription_id=subscription_id,
                connection_id=connection.id,
                channel_id=channel_id,
                channel_name=name,
                filters_json=filters.to_json(rules),
            )
            if updated is None:
                raise NotFound("That subscription was removed meanwhile.")
            return updated
        return await store.create_subscription(
            session,
            team_id=team_id,
            connection_id=connection.id,
            channel_id=channel_id,
            channel_name=name,
            filters_json=filters.to_json(rules),
            created_by=actor.user_id,
            owner_user_id=owner_user_id,
            tz=actor.tz,
            start_at=utcnow().replace(microsecond=0),
            # Today's digest time may have passed already: the first digest is tomorrow's, not an empty one now.
            last_digest_on=_digest_done_today(rules, actor.tz),
        )


async def overlapping(services: Services, sub: Subscription) -> list[tuple[int, filters.Filters]]:
    """The channel's other active subscriptions of the same connection that a lead could match with `sub`.

    Their leads post one card between them (bot.alerts.overlap); subscriptions of other connections merge
    only when both see the same lead, so they aren't named.
    """
    rules = filters.from_json(sub.filters_json)
    async with services.sessions() as session:
        others = await store.list_subscriptions(session, team_id=sub.team_id, channel_id=sub.channel_id)
    return [
        (other.id or 0, other_rules)
        for other in others
        if other.id != sub.id and other.connection_id == sub.connection_id and other.status == "active"
        if overlap.may_overlap(rules, other_rules := filters.from_json(other.filters_json))
    ]


def _digest_done_today(rules: filters.Filters, tz: str | None) -> date | None:
    """A subscription made after today's digest time gets its first digest tomorrow, not an empty one now."""
    here = quiet.local(utcnow(), tz)
    if rules.digest is None or here.time().replace(tzinfo=None) < rules.digest:
        return None
    return here.date()


def personal_owner(target: filters.ChannelRef | None, actor: Actor, *, verb: str = "subscribe") -> str | None:
    """Whose direct messages `subscribe @me` (or a mention of oneself) means; None for a channel."""
    if target is None or target.user is None:
        return None
    if target.user not in ("me", actor.user_id):
        raise UsageError(
            f"You can {verb} only yourself: `/whatconverts {verb} @me`. To have a channel's cards mention "
            "someone, add `+notify:@name` to the channel's subscription."
        )
    return actor.user_id


async def subscribe(services: Services, inv: Invocation) -> dict:
    actor = await actor_of(services, inv)
    require_member(actor)
    channel, rules = filters.parse_subscription(inv.args)
    owner = personal_owner(channel, actor)
    if channel is not None and owner is None and not channel.id:
        raise UsageError(
            f"Pick the channel from Slack's autocomplete so it becomes a link (I got `#{(channel.name or '')[:40]}`)."
        )
    connection = choose_connection(await _connections(services, inv.command.team_id), rules.connection)
    assert inv.client is not None
    sub = await save_subscription(
        services,
        inv.client,
        actor=actor,
        team_id=inv.command.team_id,
        connection=connection,
        channel_id=channel.id if channel and channel.id else inv.command.channel_id,
        rules=rules,
        owner_user_id=owner,
    )
    overlaps = await overlapping(services, sub)
    return build.subscribed_message(sub, connection_label=connection.label, rules=rules, overlaps=overlaps)


def _may_manage(actor: Actor, sub: Subscription, owners: dict[int, str]) -> bool:
    mine = actor.user_id in (sub.created_by, sub.owner_user_id)
    return actor.may_configure(owner_user_id=owners.get(sub.connection_id)) or mine


UNSUBSCRIBE_USAGE = "Usage: `/whatconverts unsubscribe [id|all|@me]`."


async def unsubscribe(services: Services, inv: Invocation) -> dict:
    actor = await actor_of(services, inv)
    require_member(actor)
    if len(inv.args) > 1:
        raise UsageError(UNSUBSCRIBE_USAGE)
    target = inv.args[0].lower() if inv.args else None
    team_id = inv.command.team_id
    owners = {c.id or 0: c.owner_user_id for c in await _connections(services, team_id)}
    async with services.sessions() as session:
        if inv.args and (person := filters.person_of(inv.args[0])):
            # `@me`: stop all of your own alerts (their channel is your user id).
            personal_owner(filters.ChannelRef(id=None, name=None, user=person), actor, verb="unsubscribe")
            chosen = await store.list_subscriptions(session, team_id=team_id, channel_id=actor.user_id)
            if not chosen:
                raise NotFound("You have no personal alerts. `/whatconverts list` shows what you have.")
        elif target is None or target == "all":
            chosen = await store.list_subscriptions(session, team_id=team_id, channel_id=inv.command.channel_id)
            if not chosen:
                raise NotFound("This channel has no subscriptions.")
            if target is None and len(chosen) > 1:
                ids = ", ".join(str(s.id) for s in chosen)
                raise UsageError(f"This channel has several subscriptions ({ids}); name one, or say `all`.")
        else:
            subscription_id = parse_id(target)
            if subscription_id is None:
                raise UsageError(f"`{echo(target)}` isn't a subscription id. {UNSUBSCRIBE_USAGE}")
            sub = await store.get_subscription(session, subscription_id=subscription_id)
            if sub is None or sub.team_id != team_id:
                raise NotFound(f"There's no subscription {subscription_id}. `/whatconverts list all` shows them.")
            chosen = [sub]
    if not all(_may_manage(actor, s, owners) for s in chosen):
        require_configure(actor, owner_user_id=None)
    async with transaction(services.sessions) as session:
        removed = await store.delete_subscriptions(session, team_id=team_id, ids=[s.id or 0 for s in chosen])
    return build.unsubscribed_message(chosen[:removed] if removed else [])


async def list_(services: Services, inv: Invocation) -> dict:
    """`list`: this channel's subscriptions and your own personal alerts; `list all`: every channel's,
    with everyone's personal alerts for admins (and only your own for anyone else)."""
    actor = await actor_of(services, inv)
    require_member(actor)
    if inv.args and inv.args != ("all",):
        raise UsageError("Usage: `/whatconverts list` (this channel) or `/whatconverts list all`.")
    everywhere = bool(inv.args)
    team_id = inv.command.team_id
    several = len(await _connections(services, team_id)) > 1
    if everywhere:
        rows = overview.visible_to(actor, await overview.subscription_lines(services, team_id=team_id))
        return build.list_message(rows, everywhere=True, several_connections=several)
    rows = await overview.subscription_lines(services, team_id=team_id, channel_id=inv.command.channel_id)
    mine = await overview.subscription_lines(services, team_id=team_id, channel_id=actor.user_id)
    return build.list_message(rows, everywhere=False, several_connections=several, personal=mine)
