"""Button presses (`block_actions`): ack at once, then act and answer the presser."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.connect import commands as connect_commands
from bot.connect import messages as connect_messages
from bot.services import Services
from bot.slack.boundary import respond_checked
from bot.slack.payloads import Action


def register(app: AsyncApp, services: Services) -> None:
    @app.action(ids.ACTION_CONNECT_LINK)
    async def on_connect_link(ack: AsyncAck) -> None:
        # A link button still sends block_actions; acknowledging avoids a warning icon in Slack.
        await ack()

    @app.action(ids.ACTION_DISCONNECT_CANCEL)
    async def on_disconnect_cancel(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond_checked(respond, replace_original=True, **connect_messages.cancelled_message())

    @app.action(ids.ACTION_DISCONNECT_CONFIRM)
    async def on_disconnect_confirm(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()

        async def work() -> None:
            action = Action.from_payload(body)
            installer = context.get("installer_user_id")
            actor = await services.actor(client, user_id=action.user_id, installer_user_id=installer)
            reply = await connect_commands.confirm_disconnect(services, action, actor)
            await respond_checked(respond, replace_original=True, **reply)

        services.after_ack(work(), body=body, client=client, respond=respond)
