"""What the App Home buttons and the subscription modal do. Every change republishes the Home tab."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import cards, filters, webhooks
from bot.commands import subscription_messages as subscription_build
from bot.commands.subscribe import choose_connection, overlapping, save_subscription
from bot.connect import messages as connect_build
from bot.connect import service as connections
from bot.connect import settings
from bot.errors import NotFound, UserFacingError
from bot.home import modal_states, modals, overview
from bot.services import Services
from bot.slack.blocks import destination
from bot.slack.boundary import Modal
from bot.slack.errors import error_code
from bot.slack.escape import escape_mrkdwn
from bot.slack.payloads import Action, Command, parse_id
from bot.slack.permissions import Actor, require_configure
from storage import connections as connection_store
from storage import subscriptions as subscription_store
from storage.db import transaction
from storage.models import Connection, Subscription

CONNECT_TITLE = "Connect WhatConverts"


def _id(action: Action) -> int:
    found = parse_id(action.value)
    if found is None:
        raise NotFound("That item no longer exists. Reopen the Home tab for current buttons.")
    return found


async def _connection(services: Services, action: Action) -> Connection:
    async with services.sessions() as session:
        row = await connection_store.get_connection(session, connection_id=_id(action))
    if row is None or row.team_id != action.team_id:
        raise NotFound("That connection was removed meanwhile.")
    return row


async def _subscription(services: Services, team_id: str, subscription_id: int) -> tuple[Subscription, Connection]:
    async with services.sessions() as session:
        sub = await subscription_store.get_subscription(session, subscription_id=subscription_id)
        conn = await connection_store.get_connection(session, connection_id=sub.connection_id) if sub else None
    if sub is None or conn is None or sub.team_id != team_id:
        raise NotFound("That subscription was removed meanwhile.")
    return sub, conn


async def republish(services: Services, client: AsyncWebClient, action: Action, installer: str | None) -> None:
    await overview.publish_home(
        services, client, team_id=action.team_id, user_id=action.user_id, installer_user_id=installer
    )


async def open_connect(
    services: Services, client: AsyncWebClient, action: Action, actor: Actor, *, reconnect: bool, modal: Modal
) -> None:
    """Connect (or reconnect) from Home: a one-time link, shown in the open `modal` (only this user
    sees it)."""
    row = await _connection(services, action) if reconnect else None
    label = row.label if row else None
    require_configure(actor, owner_user_id=row.owner_user_id if row else None)
    command = Command(
        team_id=action.team_id,
        enterprise_id=action.enterprise_id,
        user_id=action.user_id,
        channel_id="",
        text="",
        response_url=None,
        trigger_id=action.trigger_id,
    )
    url = await connections.start_connect(services, command=command, label=label, reconnect_id=row.id if row else None)
    message = connect_build.connect_link_message(url, label=label, oauth=services.oauth is not None)
    await modal.show(client, modal_states.notice_view(CONNECT_TITLE, message))


async def set_connection_paused(services: Services, action: Action, actor: Actor, *, paused: bool) -> None:
    row = await _connection(services, action)
    require_configure(actor, owner_user_id=row.owner_user_id)
    async with transaction(services.sessions) as session:
        await connection_store.set_status(session, connection_id=row.id or 0, status="paused" if paused else "ok")


async def disconnect(services: Services, action: Action, actor: Actor) -> None:
    row = await _connection(services, action)
    require_configure(actor, owner_user_id=row.owner_user_id)
    await connections.disconnect(services, connection_id=row.id or 0)


async def open_subscription_modal(
    services: Services, client: AsyncWebClient, action: Action, actor: Actor, *, edit: bool, modal: Modal
) -> None:
    """The add (or edit) form, shown in the open `modal`."""
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=action.team_id)
    if not rows:
        raise UserFacingError("Connect a WhatConverts account first.")
    initial = channel_id = connection_id = subscription_id = None
    if edit:
        sub, conn = await _subscription(services, action.team_id, _id(action))
        require_configure(actor, owner_user_id=conn.owner_user_id)
        if sub.owner_user_id:
            # The form picks a channel: a person's alerts change with `subscribe @me`, by them.
            raise UserFacingError(
                "These are someone's personal alerts: they change them with `/whatconverts subscribe @me …`. "
                "Here you can pause or remove them."
            )
        initial = filters.from_json(sub.filters_json)
        channel_id, connection_id, subscription_id = sub.channel_id, sub.connection_id, sub.id
    elif not any(actor.may_configure(owner_user_id=r.owner_user_id) for r in rows):
        require_configure(actor)
    view = modals.subscription_modal(
        connections=[(r.id or 0, r.label) for r in rows],
        initial=initial,
        channel_id=channel_id,
        connection_id=connection_id,
        subscription_id=subscription_id,
    )
    await modal.show(client, view)


async def submit_subscription(
    services: Services, client: AsyncWebClient, *, team_id: str, actor: Actor, choice: modals.SubscriptionChoice
) -> tuple[dict, bool]:
    """Save a submitted subscription form (read and checked already); returns the view to show in its
    modal and whether anything was saved. A problem with the choice shows the form again, as
    submitted, with the problem at the top: the modal has been acked, so no inline error is left."""
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=team_id)
    if not rows:
        raise NotFound("That connection was removed meanwhile. Connect a WhatConverts account first.")

    def again(problem: str) -> tuple[dict, bool]:
        form = modals.subscription_modal(
            connections=[(r.id or 0, r.label) for r in rows],
            initial=choice.filters,
            channel_id=choice.channel_id,
            connection_id=choice.connection_id,
            subscription_id=choice.subscription_id,
            problem=problem,
        )
        return form, False

    try:
        connection = (
            next(r for r in rows if r.id == choice.connection_id)
            if choice.connection_id is not None
            else choose_connection(rows, None)
        )
    except (StopIteration, UserFacingError):
        return again("That connection was removed meanwhile: choose another one.")
    assert choice.channel_id is not None
    try:
        sub = await save_subscription(
            services,
            client,
            actor=actor,
            team_id=team_id,
            connection=connection,
            channel_id=choice.channel_id,
            rules=choice.filters,
            subscription_id=choice.subscription_id,
        )
    except NotFound:
        raise  # the edited subscription is gone: there is no form to show again
    except UserFacingError as exc:
        # Channel problems (private without the app, archived) and permissions: fix and resubmit.
        return again(exc.message if exc.mrkdwn else escape_mrkdwn(exc.message))
    reply = subscription_build.subscribed_message(
        sub, connection_label=connection.label, rules=choice.filters, overlaps=await overlapping(services, sub)
    )
    title = modals.subscription_title(editing=choice.subscription_id is not None)
    return modal_states.notice_view(title, reply), True


async def set_subscription_paused(services: Services, action: Action, actor: Actor, *, paused: bool) -> None:
    sub, conn = await _subscription(services, action.team_id, _id(action))
    if not (actor.may_configure(owner_user_id=conn.owner_user_id) or sub.created_by == actor.user_id):
        require_configure(actor)
    async with transaction(services.sessions) as session:
        await subscription_store.set_status(
            session, subscription_id=sub.id or 0, status="paused" if paused else "active", reason=None
        )


async def remove_subscription(services: Services, action: Action, actor: Actor) -> None:
    sub, conn = await _subscription(services, action.team_id, _id(action))
    if not (actor.may_configure(owner_user_id=conn.owner_user_id) or sub.created_by == actor.user_id):
        require_configure(actor)
    async with transaction(services.sessions) as session:
        await subscription_store.delete_subscriptions(session, team_id=action.team_id, ids=[sub.id or 0])


async def send_test_card(services: Services, client: AsyncWebClient, action: Action, actor: Actor) -> None:
    sub, conn = await _subscription(services, action.team_id, _id(action))
    require_configure(actor, owner_user_id=conn.owner_user_id)
    rules = filters.from_json(sub.filters_json)
    message = cards.sample_card(compact=rules.compact, locale=settings.locale_of(conn))
    try:
        await client.chat_postMessage(
            channel=sub.channel_id,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        raise UserFacingError(
            f"I couldn't post in {destination(sub.channel_id)} ({escape_mrkdwn(error_code(exc))}). "
            "Invite me there (`/invite @WhatConverts`) or pick another channel.",
            mrkdwn=True,
        ) from None


async def rotate_webhook(services: Services, action: Action, actor: Actor) -> None:
    row = await _connection(services, action)
    require_configure(actor, owner_user_id=row.owner_user_id)
    await webhooks.ensure_token(services, row, rotate=True)
