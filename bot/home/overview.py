"""What a workspace looks like right now, gathered once for `status`, `list` and the Home tab."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import filters, poll_plan, webhook_trust, webhooks
from bot.commands.subscription_messages import DAY, SubscriptionLine
from bot.connect import service as connections
from bot.connect.messages import ConnectionStatus, ProblemLine
from bot.home.view import HomeData, WaitingLead, home_view
from bot.services import Services
from bot.slack import workspaces
from bot.slack.permissions import Actor
from bot.whatconverts import scopes
from bot.whatconverts.leads import Lead
from bot.whatconverts.quota import key_budget
from storage import claims as claim_store
from storage import connections as connection_store
from storage import installations, outbox, polling, problems
from storage import subscriptions as subscription_store
from storage.models import Connection
from storage.types import utcnow


async def connection_statuses(
    services: Services, *, team_id: str, with_webhooks: bool = False
) -> list[ConnectionStatus]:
    """Each connection's state; `with_webhooks` adds the (secret) webhook URLs, for admins only."""
    settings = services.settings
    now = utcnow()
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=team_id)
        ids = [c.id for c in rows if c.id is not None]
        key_ids = {c.key_id for c in rows}
        # Counted per key: what every connection of the key spent, in this workspace or another.
        used = await connection_store.requests_on(session, key_ids=key_ids, day=utcnow().date())
        members = await connection_store.key_members(session, key_ids=key_ids)
        polls = await polling.states(session, connection_ids=ids)
        fresh = await webhook_trust.trusted(session, settings, connection_ids=ids, now=now)
        missed = await webhook_trust.last_missed(session, connection_ids=ids, now=now)
    coverage = {c.id: scopes.coverage(c.key_type, connections.scope_of(c), fresh.get(c.id or 0, set())) for c in rows}
    share = services.settings.whatconverts_quota_share
    budgets = {
        c.id: key_budget(members.get(c.key_id, []), default_share=share, fallback_quota=c.daily_quota) for c in rows
    }
    return [
        ConnectionStatus(
            label=c.label,
            kind=c.kind,
            key_type=c.key_type,
            scope=connections.scope_of(c),
            status=c.status,
            last_error=c.last_error,
            last_poll_at=polls[c.id].last_poll_at if c.id in polls else None,
            next_poll_at=polls[c.id].next_run_at if c.id in polls else None,
            last_poll_error=polls[c.id].last_error if c.id in polls else None,
            quota_used=used.get(c.key_id, 0),
            quota_limit=budgets[c.id].quota,
            quota_share=budgets[c.id].share,
            key_connections=len(members.get(c.key_id, [])) or 1,
            connection_id=c.id,
            webhook_active=coverage[c.id].complete,
            webhook_profiles=coverage[c.id].profiles,
            webhook_fresh_minutes=settings.webhook_fresh_minutes,
            webhook_missed_at=missed.get(c.id or 0),
            # Only what is polled sweeps: a connection without subscriptions, or paused, makes no requests.
            sweep=poll_plan.sweep_plan(settings, sweep_requests=polls[c.id].sweep_requests)
            if c.id in polls and c.status in ("ok", "error")
            else None,
            webhook_url=webhooks.webhook_url(services, await webhooks.ensure_token(services, c))
            if with_webhooks
            else None,
        )
        for c in rows
    ]


async def webhook_coverage(services: Services, connection: Connection) -> tuple[scopes.Coverage, datetime | None]:
    """Which of the connection's profiles sent webhooks lately, and when one last missed a lead
    (for `/whatconverts webhook`)."""
    ids, now = [connection.id or 0], utcnow()
    async with services.sessions() as session:
        fresh = await webhook_trust.trusted(session, services.settings, connection_ids=ids, now=now)
        missed = await webhook_trust.last_missed(session, connection_ids=ids, now=now)
    coverage = scopes.coverage(connection.key_type, connections.scope_of(connection), fresh.get(ids[0], set()))
    return coverage, missed.get(ids[0])


async def subscription_lines(
    services: Services, *, team_id: str, channel_id: str | None = None
) -> list[SubscriptionLine]:
    async with services.sessions() as session:
        labels = {c.id: c.label for c in await connection_store.list_connections(session, team_id=team_id)}
        subs = await subscription_store.list_subscriptions(session, team_id=team_id, channel_id=channel_id)
        counts = await outbox.counts_by_subscription(
            session, subscription_ids=[s.id or 0 for s in subs], since=utcnow() - DAY
        )
    lines = []
    for s in subs:
        count = counts.get(s.id or 0, {})
        lines.append(
            SubscriptionLine(
                id=s.id or 0,
                channel_id=s.channel_id,
                connection_label=labels.get(s.connection_id, "?"),
                grammar=filters.render(filters.from_json(s.filters_json), shown=True),
                status=s.status,
                broken_reason=s.broken_reason,
                sent_24h=count.get("sent", 0),
                pending=count.get("pending", 0) + count.get("sending", 0),
                failed=count.get("failed", 0),
                owner_user_id=s.owner_user_id,
            )
        )
    return lines


def visible_to(actor: Actor, lines: list[SubscriptionLine]) -> list[SubscriptionLine]:
    """Every channel's subscriptions, and people's own alerts: all of them for admins (and the
    installer), only their own for anyone else."""
    if actor.may_configure():
        return lines
    return [line for line in lines if line.owner_user_id in (None, actor.user_id)]


async def recent_problems(services: Services, *, team_id: str, limit: int = 10) -> list[ProblemLine]:
    async with services.sessions() as session:
        rows = await problems.recent(session, team_id=team_id, limit=limit)
    return [ProblemLine(at=p.at, subject=p.subject, message=p.message, fix=p.fix) for p in rows]


async def workspace_notice(services: Services, *, team_id: str) -> str | None:
    """What admins must do for the workspace itself (a reinstall), or None when nothing."""
    async with services.sessions() as session:
        rows = await installations.find_team_installations(session, team_id=team_id, enterprise_id=None)
    waiting = [r for r in rows if r.status == installations.NEEDS_REINSTALL]
    if not waiting:
        return None
    return f"This workspace needs a reinstall: {waiting[0].status_reason or 'Slack refused the app'}. " + (
        workspaces.reinstall_fix(services)
    )


WAITING_SHOWN = 10
# Spam cards have no buttons (nobody can claim them): read a few more than shown, to leave them out.
WAITING_READ = WAITING_SHOWN + 10


async def unclaimed_leads(services: Services, *, team_id: str) -> tuple[int, list[WaitingLead]]:
    """How many posted leads nobody has claimed right now, and the oldest few, with how long they waited."""
    now = utcnow()
    async with services.sessions() as session:
        total, rows = await claim_store.unclaimed(session, team_id=team_id, limit=WAITING_READ)
    shown: list[WaitingLead] = []
    for row in rows:
        lead = Lead.from_api(json.loads(row.lead_json))
        if lead.spam:
            total -= 1
            continue
        shown.append(WaitingLead(row.lead_id, lead.lead_type, row.channel_id, now - row.arrived_at))
    return total, shown[:WAITING_SHOWN]


async def home_data(services: Services, *, team_id: str, actor: Actor) -> HomeData:
    if actor.is_guest:
        return HomeData(role="guest")
    subs = visible_to(actor, await subscription_lines(services, team_id=team_id))
    waiting_total, waiting = await unclaimed_leads(services, team_id=team_id)
    async with services.sessions() as session:
        owners = {c.owner_user_id for c in await connection_store.list_connections(session, team_id=team_id)}
    if actor.is_admin or actor.is_installer or actor.user_id in owners:
        conns = await connection_statuses(services, team_id=team_id, with_webhooks=True)
        return HomeData(
            role="admin",
            connections=conns,
            subscriptions=subs,
            problems=await recent_problems(services, team_id=team_id),
            notice=await workspace_notice(services, team_id=team_id),
            waiting=waiting,
            waiting_total=waiting_total,
        )
    creds = await services.tokens.get(enterprise_id=None, team_id=team_id)
    contacts = tuple(
        dict.fromkeys([*([creds.installer_user_id] if creds and creds.installer_user_id else []), *owners])
    )
    return HomeData(role="member", subscriptions=subs, contacts=contacts, waiting=waiting, waiting_total=waiting_total)


async def publish_home(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, installer_user_id: str | None
) -> None:
    """Build and publish one user's Home tab from the database as it is now."""
    actor = await services.actor(client, user_id=user_id, installer_user_id=installer_user_id)
    view = home_view(await home_data(services, team_id=team_id, actor=actor))
    await client.views_publish(user_id=user_id, view=view)
