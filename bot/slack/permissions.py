"""Who may do what: admins/owners, the installer and connection owners configure; guests see no lead data."""

from __future__ import annotations

import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermissionDenied

GUEST_REFUSAL = (
    "Sorry, guests can't use WhatConverts for Slack: lead data contains personal information. "
    "Ask a member of this workspace for help."
)
CONFIGURE_REFUSAL = (
    "Only workspace admins and owners, the person who installed the app, or the person who made "
    "the connection can do that."
)


@dataclass(frozen=True)
class Actor:
    """The Slack user behind a request, as far as permissions go."""

    user_id: str
    is_admin: bool  # workspace admin or owner
    is_installer: bool
    is_guest: bool  # restricted or ultra-restricted
    tz: str | None = None
    tz_offset: int | None = None  # seconds east of UTC, for a `tz` name the tz database lacks
    is_person: bool = True  # False for bots, apps and deactivated accounts: nobody to hand a lead to

    def may_configure(self, *, owner_user_id: str | None = None) -> bool:
        if self.is_guest:
            return False
        return self.is_admin or self.is_installer or (owner_user_id is not None and owner_user_id == self.user_id)


class UserDirectory:
    """`users.info` answers, kept for a minute: every command and button needs them, Slack rate-limits them.

    A change of role (an admin demoted, a member made a guest) takes effect within `ttl` seconds.
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._users: dict[tuple[str | None, str], tuple[float, dict]] = {}

    async def actor(self, client: AsyncWebClient, *, user_id: str, installer_user_id: str | None) -> Actor:
        # One bot token per workspace, so the token tells workspaces apart without another lookup.
        key = (client.token, user_id)
        cached = self._users.get(key)
        if cached and cached[0] > time.monotonic():
            return _actor(cached[1], user_id, installer_user_id)
        try:
            response = await client.users_info(user=user_id)
            user = response.get("user") or {}
        except SlackApiError:
            # Least privilege when Slack can't tell us (and don't remember the failure).
            return _actor({"is_restricted": True}, user_id, installer_user_id)
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[key] = (time.monotonic() + self.ttl, user)
        return _actor(user, user_id, installer_user_id)


async def load_actor(client: AsyncWebClient, *, user_id: str, installer_user_id: str | None) -> Actor:
    """Look the user up with `users.info` (uncached); on failure assume the least privilege (a guest)."""
    return await UserDirectory(ttl=0).actor(client, user_id=user_id, installer_user_id=installer_user_id)


def _actor(user: dict, user_id: str, installer_user_id: str | None) -> Actor:
    return Actor(
        user_id=user_id,
        is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        is_installer=installer_user_id is not None and user_id == installer_user_id,
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        tz=user.get("tz"),
        tz_offset=user.get("tz_offset") if isinstance(user.get("tz_offset"), int) else None,
        is_person=not (user.get("is_bot") or user.get("is_app_user") or user.get("deleted")),
    )


def require_member(actor: Actor) -> None:
    if actor.is_guest:
        raise PermissionDenied(GUEST_REFUSAL)


def require_configure(actor: Actor, *, owner_user_id: str | None = None) -> None:
    require_member(actor)
    if not actor.may_configure(owner_user_id=owner_user_id):
        raise PermissionDenied(CONFIGURE_REFUSAL)
