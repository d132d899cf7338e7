"""Workspace lifecycle: uninstalled, tokens revoked, waiting for a reinstall, reinstalled.

Slack's rules (../shared/reference/platform-truths.md S1-S5): only `app_uninstalled` means the
app is gone, and only then are the workspace's credentials deleted. A revoked bot token or a
dead refresh token leaves everything in place, marked as needing a reinstall; the reinstall
resumes delivery without reconnecting WhatConverts. An event older than the current token (a
reinstall landed before a late event) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ids import ROUTE_SLACK_INSTALL
from bot.services import Services
from bot.slack.errors import SlackTokenRevoked, classify
from bot.slack.notify import notify
from bot.slack.payloads import TeamRef
from storage import connections as connection_store
from storage import installations, outbox, problems
from storage.db import transaction
from storage.models import SlackInstallation
from storage.types import utcnow

log = logging.getLogger(__name__)

SUBJECT = "workspace"


def reinstall_fix(services: Services) -> str:
    url = services.settings.app_base_url + ROUTE_SLACK_INSTALL
    return f"Reinstall the app from {url}; WhatConverts connections and subscriptions are kept."


async def _record(session: AsyncSession, services: Services, team_id: str, message: str) -> None:
    """The workspace's one problem record (status, Home), with how to reinstall."""
    await problems.record(session, team_id=team_id, subject=SUBJECT, message=message, fix=reinstall_fix(services))


def event_time(body: dict[str, Any]) -> datetime | None:
    """When Slack says the event happened (whole seconds), if it says."""
    try:
        return datetime.fromtimestamp(int(body["event_time"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


async def uninstalled(services: Services, team: TeamRef, *, at: datetime | None) -> None:
    """`app_uninstalled`: delete the workspace's tokens and WhatConverts credentials; all its work
    stops. Idempotent; an installation made after `at` is a reinstall and stays, with its data."""
    # `event_time` has whole seconds: a token from the event's own second is the uninstalled one
    # (a reinstall takes a person through Slack's install pages, far longer than a second).
    before = at + timedelta(seconds=1) if at is not None else None
    async with transaction(services.sessions) as session:
        removed = await installations.delete_team_installations(
            session, team_id=team.team_id, enterprise_id=team.enterprise_id, issued_before=before
        )
        kept = await installations.find_team_installations(
            session, team_id=team.team_id, enterprise_id=team.enterprise_id
        )
        if team.team_id and not kept:
            # Subscriptions, poll state and pending deliveries go with their connections (ON DELETE CASCADE).
            await connection_store.delete_team_connections(session, team_id=team.team_id)
    services.tokens.forget(team_id=team.team_id)
    services.metrics.installations.labels("uninstalled").inc()
    if kept:
        log.info("workspace %s: app_uninstalled from before its reinstall ignored", team.team_id)
    else:
        log.info("workspace %s uninstalled; %d installation(s) removed", team.team_id, removed)


async def tokens_revoked(services: Services, team: TeamRef, *, bot_user_ids: list[str], at: datetime | None) -> None:
    """`tokens_revoked`: forget the named bot tokens issued before the event; keep everything else."""
    if not bot_user_ids:
        return  # user tokens only (we hold none)

    async def named(row: SlackInstallation) -> bool:
        if row.bot_user_id and row.bot_user_id not in bot_user_ids:
            return False
        if await _revoked(services, row, at):
            return True
        log.info("workspace %s: tokens_revoked predates its current token; kept", row.team_id)
        return False

    await _drop_tokens(services, team, reason="Slack revoked the app's bot token", metric="tokens_revoked", which=named)


async def _revoked(services: Services, row: SlackInstallation, at: datetime | None) -> bool:
    """Was the token we hold the one revoked? A token issued before the event was; one issued after
    it (a reinstall that beat a late event) is asked about, since `event_time` has whole seconds."""
    issued = row.bot_token_issued_at
    if at is None or issued is None or issued < at:
        return True
    client = AsyncWebClient(token=row.bot_token, base_url=services.slack.base_url, session=services.slack.session)
    try:
        await client.auth_test()
    except SlackApiError as exc:
        return isinstance(classify(exc), SlackTokenRevoked)
    return False


async def token_refused(services: Services, *, team_id: str, token: str, reason: str) -> None:
    """A Web API call said our bot token is dead (`token_revoked`, `invalid_auth` …): the workspace
    waits for a reinstall. A newer token than the refused one (a reinstall, a refresh elsewhere)
    is left alone."""

    async def refused(row: SlackInstallation) -> bool:
        return row.bot_token == token

    await _drop_tokens(
        services,
        TeamRef(team_id=team_id, enterprise_id=None),
        reason=f"Slack refused the app's token ({reason})",
        metric="token_refused",
        which=refused,
    )


async def scope_missing(services: Services, *, team_id: str, token: str, needed: str | None) -> None:
    """A call with `token` was refused for a scope it lacks (`missing_scope`): only a reinstall
    grants it (S8). The workspace is marked as needing one, the problem is recorded and the
    installer and connection owners get a DM, once; its cards wait and a reinstall sends them.
    The token is kept until it expires, for whatever it can still do (answer commands, show Home)."""
    scope = f"the `{needed}` permission" if needed else "a permission it needs"
    reason = f"Slack refused to post lead cards: the app lacks {scope} (missing_scope)"
    news = False
    async with transaction(services.sessions) as session:
        rows = await installations.find_team_installations(
            session, team_id=team_id, enterprise_id=None, for_update=True
        )
        for row in rows:
            # A newer token (a reinstall, with the scope) is left alone; so is a workspace already waiting.
            if row.bot_token == token and row.status == installations.ACTIVE:
                news = await installations.mark_needs_reinstall(session, installation=row, reason=reason) or news
        if news:
            await _record(session, services, team_id, f"{reason}: lead cards wait until the app is reinstalled.")
            owners = [c.owner_user_id for c in await connection_store.list_connections(session, team_id=team_id)]
    services.tokens.forget(team_id=team_id)
    if not news:
        return
    services.metrics.installations.labels("missing_scope").inc()
    log.warning("workspace %s: missing_scope (%s); waiting for a reinstall", team_id, needed or "unnamed")
    await notify(
        services,
        team_id=team_id,
        user_ids=owners,
        include_installer=True,
        text=f":warning: WhatConverts for Slack needs to be reinstalled in this workspace: {reason}. "
        "Lead cards wait until then. " + reinstall_fix(services),
    )


async def _drop_tokens(
    services: Services,
    team: TeamRef,
    *,
    reason: str,
    metric: str,
    which: Callable[[SlackInstallation], Awaitable[bool]],
) -> None:
    """Forget the tokens `which` picks; the workspace then waits, intact, for a reinstall."""
    dropped = False
    async with transaction(services.sessions) as session:
        rows = await installations.find_team_installations(
            session, team_id=team.team_id, enterprise_id=team.enterprise_id, for_update=True
        )
        for row in rows:
            if row.bot_token is not None and await which(row):
                dropped = (
                    await installations.mark_needs_reinstall(session, installation=row, reason=reason, drop_tokens=True)
                    or dropped
                )
        if dropped:
            await _record(
                session, services, team.team_id or "", f"{reason}: lead cards wait until the app is reinstalled."
            )
    services.tokens.forget(team_id=team.team_id)
    if dropped:
        services.metrics.installations.labels(metric).inc()
        log.warning("workspace %s: %s; waiting for a reinstall", team.team_id, reason)


async def needs_reinstall(services: Services, team_id: str, reason: str) -> None:
    """The workspace can't get a working token without a reinstall: say so where admins look
    (status, Home) and by DM while the current token still works."""
    async with transaction(services.sessions) as session:
        await _record(
            session, services, team_id, f"{reason}. Lead cards keep coming while the current token lasts, then wait."
        )
        owners = [c.owner_user_id for c in await connection_store.list_connections(session, team_id=team_id)]
    services.metrics.installations.labels("needs_reinstall").inc()
    await notify(
        services,
        team_id=team_id,
        user_ids=owners,
        include_installer=True,
        text=f":warning: WhatConverts for Slack needs to be reinstalled in this workspace: {reason}. "
        + reinstall_fix(services),
    )


async def reinstalled(services: Services, *, team_id: str | None) -> None:
    """A new token: cards that waited for it go out now."""
    if team_id is None:
        return
    async with transaction(services.sessions) as session:
        resumed = await outbox.resume_team(session, team_id=team_id, now=utcnow())
    services.tokens.forget(team_id=team_id)
    if resumed:
        log.info("workspace %s reinstalled: %d waiting card(s) resume", team_id, resumed)
        services.nudge_sender()
