"""App Home: publish the tab when opened; its buttons and the subscription modal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import home_actions, ids, overview
from bot.payloads import Action
from bot.permissions import Actor
from bot.services import Services

HomeHandler = Callable[[Action, Actor, AsyncWebClient], Awaitable[None]]


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        await overview.publish_home(
            services,
            client,
            team_id=context.team_id or "",
            user_id=event["user"],
            installer_user_id=context.get("installer_user_id"),
        )

    def button(action_id: str, handler: HomeHandler, *, republish: bool = True) -> None:
        @app.action(action_id)
        async def on_press(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
        ) -> None:
            await ack()

            async def work() -> None:
                action = Action.from_payload(body)
                installer = context.get("installer_user_id")
                actor = await services.actor(client, user_id=action.user_id, installer_user_id=installer)
                await handler(action, actor, client)
                if republish:
                    await home_actions.republish(services, client, action, installer)

            services.after_ack(work(), body=body, client=client)

    button(
        ids.ACTION_HOME_CONNECT,
        lambda a, actor, c: home_actions.open_connect(services, c, a, actor, reconnect=False),
        republish=False,
    )
    button(
        ids.ACTION_HOME_RECONNECT,
        lambda a, actor, c: home_actions.open_connect(services, c, a, actor, reconnect=True),
        republish=False,
    )
    button(
        ids.ACTION_HOME_CONNECTION_PAUSE,
        lambda a, actor, c: home_actions.set_connection_paused(services, a, actor, paused=True),
    )
    button(
        ids.ACTION_HOME_CONNECTION_RESUME,
        lambda a, actor, c: home_actions.set_connection_paused(services, a, actor, paused=False),
    )
    button(ids.ACTION_HOME_DISCONNECT, lambda a, actor, c: home_actions.disconnect(services, a, actor))
    button(ids.ACTION_HOME_WEBHOOK_ROTATE, lambda a, actor, c: home_actions.rotate_webhook(services, a, actor))
    button(
        ids.ACTION_HOME_SUB_ADD,
        lambda a, actor, c: home_actions.open_subscription_modal(services, c, a, actor, edit=False),
        republish=False,
    )
    button(
        ids.ACTION_HOME_SUB_EDIT,
        lambda a, actor, c: home_actions.open_subscription_modal(services, c, a, actor, edit=True),
        republish=False,
    )
    button(
        ids.ACTION_HOME_SUB_PAUSE,
        lambda a, actor, c: home_actions.set_subscription_paused(services, a, actor, paused=True),
    )
    button(
        ids.ACTION_HOME_SUB_RESUME,
        lambda a, actor, c: home_actions.set_subscription_paused(services, a, actor, paused=False),
    )
    button(ids.ACTION_HOME_SUB_REMOVE, lambda a, actor, c: home_actions.remove_subscription(services, a, actor))
    button(
        ids.ACTION_HOME_SUB_TEST,
        lambda a, actor, c: home_actions.send_test_card(services, c, a, actor),
        republish=False,
    )

    @app.view(ids.VIEW_SUBSCRIPTION)
    async def on_subscription_submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        user_id = (body.get("user") or {}).get("id", "")
        team_id = (body.get("team") or {}).get("id") or context.team_id or ""
        installer = context.get("installer_user_id")
        actor = await services.actor(client, user_id=user_id, installer_user_id=installer)
        errors = await home_actions.submit_subscription(
            services, client, team_id=team_id, actor=actor, view=body.get("view") or {}
        )
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        services.after_ack(
            overview.publish_home(services, client, team_id=team_id, user_id=user_id, installer_user_id=installer),
            body=body,
            client=client,
        )
