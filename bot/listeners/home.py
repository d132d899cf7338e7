"""App Home: publish the tab when opened; its buttons and the subscription modal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.home import actions as home_actions
from bot.home import modal_states, modals, overview
from bot.services import Services
from bot.slack import views
from bot.slack.boundary import Modal
from bot.slack.payloads import Action
from bot.slack.permissions import Actor

HomeHandler = Callable[[Action, Actor, AsyncWebClient], Awaitable[None]]
# A modal button's handler also gets the open modal it fills.
ModalHandler = Callable[[Action, Actor, AsyncWebClient, Modal], Awaitable[None]]


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

    def modal_button(action_id: str, title: str, handler: ModalHandler) -> None:
        """A Home button that opens a modal: it opens at once (the trigger_id lives 3 s, S6) and
        `handler` fills it in after the ack."""

        @app.action(action_id)
        async def on_press(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
        ) -> None:
            await ack()

            async def fill(modal: Modal) -> None:
                action = Action.from_payload(body)
                installer = context.get("installer_user_id")
                actor = await services.actor(client, user_id=action.user_id, installer_user_id=installer)
                await handler(action, actor, client, modal)

            services.after_ack.open_modal(modal_states.loading_view(title), fill=fill, body=body, client=client)

    modal_button(
        ids.ACTION_HOME_CONNECT,
        home_actions.CONNECT_TITLE,
        lambda a, actor, c, modal: home_actions.open_connect(services, c, a, actor, reconnect=False, modal=modal),
    )
    modal_button(
        ids.ACTION_HOME_RECONNECT,
        home_actions.CONNECT_TITLE,
        lambda a, actor, c, modal: home_actions.open_connect(services, c, a, actor, reconnect=True, modal=modal),
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
    modal_button(
        ids.ACTION_HOME_SUB_ADD,
        modals.subscription_title(editing=False),
        lambda a, actor, c, modal: home_actions.open_subscription_modal(services, c, a, actor, edit=False, modal=modal),
    )
    modal_button(
        ids.ACTION_HOME_SUB_EDIT,
        modals.subscription_title(editing=True),
        lambda a, actor, c, modal: home_actions.open_subscription_modal(services, c, a, actor, edit=True, modal=modal),
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
        view = body.get("view") or {}
        try:
            choice = modals.read_subscription_modal(view)
        except views.ModalErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        # Answered at once (S6): checking the channel and saving take Slack and database calls.
        title = modals.subscription_title(editing=choice.subscription_id is not None)
        modal = Modal.saving(str(view["id"]))
        await ack(response_action="update", view=modal_states.saving_view(title, external_id=modal.external_id))

        async def work() -> None:
            user_id = (body.get("user") or {}).get("id", "")
            team_id = (body.get("team") or {}).get("id") or context.team_id or ""
            installer = context.get("installer_user_id")
            actor = await services.actor(client, user_id=user_id, installer_user_id=installer)
            shown, saved = await home_actions.submit_subscription(
                services, client, team_id=team_id, actor=actor, choice=choice
            )
            await modal.show(client, shown)
            if saved:
                await overview.publish_home(
                    services, client, team_id=team_id, user_id=user_id, installer_user_id=installer
                )

        services.after_ack(work(), body=body, client=client, modal=modal)
