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
        user = await self._lookup(client, user_id)
        # Least privilege when Slack can't tell us (the failure isn't remembered).
        return _actor(user if isinstance(user, dict) else {"is_restricted": True}, user_id, installer_user_id)

    async def standing(self, client: AsyncWebClient, *, user_id: str) -> str | None:
        """Why a person's alerts must stop, or None while they may get lead data (or Slack can't say now).

        "user_disabled": deactivated (`deleted` in users.info), or no such user; "user_restricted": a
        guest now. Slack still takes posts to a deactivated user's DM, so only this can tell.
        """
        user = await self._lookup(client, user_id)
        if user == "user_not_found" or (isinstance(user, dict) and user.get("deleted")):
            return "user_disabled"
        if isinstance(user, dict) and (user.get("is_restricted") or user.get("is_ultra_restricted")):
            return "user_restricted"
        return None

    async def _lookup(self, client: AsyncWebClient, user_id: str) -> dict | str:
        """users.info's user, kept for `ttl`; or Slack's error code, not kept."""
        # One bot token per workspace, so the token tells workspaces apart without another lookup.
        key = (client.token, user_id)
        cached = self._users.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
            user = response.get("user") or {}
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            return str(data.get("error") or "unknown_error")
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[key] = (time.monotonic() + self.ttl, user)
        return user


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
