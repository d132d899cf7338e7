"""Personal alerts (`subscribe @me`): whether a person may still get their cards, and stopping them.

A personal subscription's cards are posted to the person's user id, so Slack puts them in the
app's direct messages with them (its Messages tab). Slack takes such a post even when the person
was deactivated (the DM outlives them), so before anything is sent to a person the sender and the
digests ask users.info (cached by `bot.slack.permissions.UserDirectory`); deactivated, or a guest
now, their subscriptions break with the reason, their waiting cards are parked, never sent, and
admins see why in `status`, `list all` and the Home tab.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from storage import problems
from storage import subscriptions as subscription_store
from storage.db import transaction
from storage.models import Subscription

# Why a person's alerts stopped, by reason (a users.info answer, or what Slack refused), and what to do.
FIX = {
    "user_disabled": "The user was deactivated. Remove the subscription, or resume it if they come back.",
    "user_restricted": "The user is a guest now, and guests get no lead data. Remove the subscription.",
    "messages_tab_disabled": "The app's Messages tab is off: turn it on (App Home), then resume the subscription.",
    "user_not_found": "The user isn't in this workspace any more. Remove the subscription.",
    "channel_not_found": "Slack doesn't know the user any more. Remove the subscription.",
}
LOOKUP_ERRORS = (SlackApiError, aiohttp.ClientError, TimeoutError)


async def standing(services: Services, client: AsyncWebClient, owner: str) -> str | None:
    """Why `owner`'s alerts must stop, or None (also when Slack can't say now: the card goes out)."""
    try:
        return await services.users.standing(client, user_id=owner)
    except LOOKUP_ERRORS:
        return None


async def stopped(
    services: Services, subs: Iterable[Subscription], clients: dict[str, AsyncWebClient | None]
) -> dict[tuple[str, str], str]:
    """For the personal subscriptions among `subs`: (team, person) → why their alerts must stop."""
    gone: dict[tuple[str, str], str] = {}
    for team_id, owner in sorted({(s.team_id, s.owner_user_id or "") for s in subs if s.owner_user_id}):
        client = clients.get(team_id)
        if client is not None and (reason := await standing(services, client, owner)):
            gone[(team_id, owner)] = reason
    return gone


async def stop(services: Services, subscription: Subscription, reason: str) -> None:
    """A person's alerts can't reach them: each of their subscriptions breaks (their waiting cards are
    parked, never sent) and admins see why. Nobody is DMed: the DM is what failed."""
    owner = subscription.owner_user_id or subscription.channel_id
    fix = FIX.get(reason, "Check the user in Slack, then subscribe again.")
    async with transaction(services.sessions) as session:
        # Every subscription posting to their DM is theirs (its channel is their user id).
        theirs = await subscription_store.list_subscriptions(
            session, team_id=subscription.team_id, channel_id=subscription.channel_id
        )
        for sub in theirs:
            if await subscription_store.mark_broken(session, subscription_id=sub.id or 0, reason=reason):
                await problems.record(
                    session,
                    team_id=sub.team_id,
                    subject=f"subscription {sub.id}, personal alerts of <@{owner}>",
                    message=f"Lead cards can't be sent to them ({reason}).",
                    fix=fix,
                )
