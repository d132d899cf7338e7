"""Subcommands `connect`, `disconnect`, `status`, `quota`, `webhook` and `connection`, and the disconnect
confirmation buttons."""

from __future__ import annotations

import dataclasses
import re

from bot import formats
from bot.alerts import webhooks
from bot.commands.table import Invocation, echo
from bot.connect import messages as build
from bot.connect import service as connections
from bot.connect import settings, settings_messages
from bot.errors import NotFound, UsageError
from bot.home import overview
from bot.services import Services
from bot.slack.payloads import Action, parse_id
from bot.slack.permissions import Actor, require_configure, require_member
from storage import connections as store
from storage.models import Connection


async def actor_of(services: Services, inv: Invocation) -> Actor:
    assert inv.client is not None
    return await services.actor(inv.client, user_id=inv.command.user_id, installer_user_id=inv.installer_user_id)


async def _connections(services: Services, team_id: str) -> list[Connection]:
    async with services.sessions() as session:
        return await store.list_connections(session, team_id=team_id)


PERCENT = re.compile(r"^(\d{1,3})%?$")


def _pick(rows: list[Connection], label: str | None, *, example: str = "disconnect {label}") -> Connection:
    labels = ", ".join(f"`{c.label}`" for c in rows) or "none"
    if label is None:
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFound("No WhatConverts account is connected.")
        raise UsageError(
            f"Several connections exist ({labels}); name one, e.g. "
            f"`/whatconverts {example.format(label=rows[0].label)}`."
        )
    for row in rows:
        if row.label == label.lower():
            return row
    raise NotFound(f"No connection called `{label[:40]}`. Connections: {labels}.")


async def connect(services: Services, inv: Invocation) -> dict:
    if len(inv.args) > 1:
        raise UsageError("Usage: `/whatconverts connect [label]`.")
    label = connections.normalize_label(inv.args[0] if inv.args else None)
    actor = await actor_of(services, inv)
    existing = next((c for c in await _connections(services, inv.command.team_id) if c.label == label), None)
    require_configure(actor, owner_user_id=existing.owner_user_id if existing else None)
    url = await connections.start_connect(
        services, command=inv.command, label=label, reconnect_id=existing.id if existing else None
    )
    return build.connect_link_message(url, label=label, oauth=services.oauth is not None)


async def disconnect(services: Services, inv: Invocation) -> dict:
    if len(inv.args) > 1:
        raise UsageError("Usage: `/whatconverts disconnect [label]`.")
    actor = await actor_of(services, inv)
    require_member(actor)
    row = _pick(await _connections(services, inv.command.team_id), inv.args[0] if inv.args else None)
    require_configure(actor, owner_user_id=row.owner_user_id)
    assert row.id is not None
    return build.disconnect_confirm_message(label=row.label, connection_id=row.id, kind=row.kind)


async def status(services: Services, inv: Invocation) -> dict:
    if inv.args:
        raise UsageError("Usage: `/whatconverts status`.")
    require_member(await actor_of(services, inv))
    team_id = inv.command.team_id
    return build.status_message(
        await overview.connection_statuses(services, team_id=team_id),
        problems=await overview.recent_problems(services, team_id=team_id, limit=5),
        notice=await overview.workspace_notice(services, team_id=team_id),
    )


async def quota(services: Services, inv: Invocation) -> dict:
    """`quota [label]` shows a connection's key's quota today; `quota [label] <percent>` sets the share
    of the key's daily quota the app may spend (for every connection of the key: the budget is one)."""
    args = list(inv.args)
    percent = None
    if args and (match := PERCENT.match(args[-1])):
        percent = int(match.group(1))
        args.pop()
    if len(args) > 1 or (percent is not None and not 1 <= percent <= 100):
        raise UsageError("Usage: `/whatconverts quota [label] [percent]` (1 to 100), e.g. `quota acme 50`.")
    actor = await actor_of(services, inv)
    require_member(actor)
    team_id = inv.command.team_id
    row = _pick(await _connections(services, team_id), args[0] if args else None, example="quota {label} 50")
    if percent is not None:
        require_configure(actor, owner_user_id=row.owner_user_id)
        await settings.set_quota_share(services, row, percent / 100)
    (shown,) = [s for s in await overview.connection_statuses(services, team_id=team_id) if s.label == row.label]
    return build.quota_message(shown, changed=percent is not None)


async def confirm_disconnect(services: Services, action: Action, actor: Actor) -> dict:
    """The "Disconnect" button: permissions are checked again, the press may be stale."""
    connection_id = parse_id(action.value)
    if connection_id is None:
        raise NotFound("That connection no longer exists.")
    async with services.sessions() as session:
        row = await store.get_connection(session, connection_id=connection_id)
    if row is None or row.team_id != action.team_id:
        raise NotFound("That connection was already removed.")
    require_configure(actor, owner_user_id=row.owner_user_id)
    removed = await connections.disconnect(services, connection_id=connection_id)
    return build.disconnected_message(label=removed.label, kind=removed.kind)


async def webhook(services: Services, inv: Invocation) -> dict:
    """`webhook [label]` shows the connection's webhook URL; `webhook rotate [label]` replaces it."""
    args = list(inv.args)
    rotate = bool(args) and args[0].lower() == "rotate"
    if rotate:
        args.pop(0)
    if len(args) > 1:
        raise UsageError("Usage: `/whatconverts webhook [rotate] [label]`.")
    actor = await actor_of(services, inv)
    row = _pick(await _connections(services, inv.command.team_id), args[0] if args else None)
    require_configure(actor, owner_user_id=row.owner_user_id)
    token = await webhooks.ensure_token(services, row, rotate=rotate)
    coverage, missed_at = await overview.webhook_coverage(services, row)
    return build.webhook_message(
        label=row.label,
        url=webhooks.webhook_url(services, token),
        rotated=rotate,
        profiles=coverage.profiles,
        fresh_minutes=services.settings.webhook_fresh_minutes,
        missed_at=missed_at,
    )


# `connection [label] <setting> <code>`: each setting's name and how a typed code is read.
LOCALE_SETTINGS = {"currency": formats.currency_code, "country": formats.country_code}
CONNECTION_USAGE = (
    "Usage: `/whatconverts connection [label] [currency <code>] [country <code>]`, "
    "e.g. `connection acme currency EUR` or `connection acme country GB`."
)


def _locale_changes(words: list[str]) -> dict[str, str]:
    """`["currency", "eur", "country", "gb"]` → {"currency": "EUR", "country": "GB"}; UsageError otherwise."""
    if len(words) % 2:
        raise UsageError(CONNECTION_USAGE)
    changes: dict[str, str] = {}
    for name, value in zip(words[::2], words[1::2], strict=True):
        setting = name.lower()
        if setting not in LOCALE_SETTINGS or setting in changes:
            raise UsageError(CONNECTION_USAGE)
        try:
            changes[setting] = LOCALE_SETTINGS[setting](value)
        except ValueError as exc:
            raise UsageError(f"`{echo(value)}` isn't a {setting} I know: {exc}.") from None
    return changes


async def connection(services: Services, inv: Invocation) -> dict:
    """`connection [label]` shows how a connection's cards write money and phone numbers;
    `connection [label] currency EUR` / `country GB` changes that (admins, the installer, its owner)."""
    args = list(inv.args)
    # An odd count starts with a label: `connection acme`, `connection acme currency EUR`.
    label = args.pop(0) if len(args) % 2 else None
    if label is not None and label.lower() in LOCALE_SETTINGS and not args:
        raise UsageError(CONNECTION_USAGE)  # `connection currency`: the code is missing
    changes = _locale_changes(args)
    actor = await actor_of(services, inv)
    require_member(actor)
    row = _pick(await _connections(services, inv.command.team_id), label, example="connection {label} currency EUR")
    if changes:
        require_configure(actor, owner_user_id=row.owner_user_id)
        row = await settings.set_locale(services, row, dataclasses.replace(settings.locale_of(row), **changes))
    return settings_messages.locale_message(label=row.label, locale=settings.locale_of(row), changed=bool(changes))
