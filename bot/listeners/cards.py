"""Lead card buttons (quotable, not quotable, add value) and the value modal; older cards' Spam button."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import card_actions, ids, modals
from bot.errors import UserFacingError
from bot.payloads import Action
from bot.permissions import Actor, require_member
from bot.services import Services

# Slack closes a view submission after 3 s; the write-back must fit or be reported inline.
VALUE_DEADLINE = 2.5


def register(app: AsyncApp, services: Services) -> None:
    async def pressed(
        body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> tuple[Action, Actor, card_actions.CardContext]:
        """Who pressed a card's button (a member, not a guest), and the card it is on."""
        action = Action.from_payload(body)
        installer = context.get("installer_user_id")
        actor = await services.actor(client, user_id=action.user_id, installer_user_id=installer)
        require_member(actor)
        card = await card_actions.card_context(
            services, team_id=action.team_id, channel_id=action.channel_id or "", message_ts=action.message_ts or ""
        )
        return action, actor, card

    def button(action_id: str, change: card_actions.Change) -> None:
        @app.action(action_id)
        async def on_press(
            ack: AsyncAck,
            body: dict[str, Any],
            client: AsyncWebClient,
            context: AsyncBoltContext,
            respond: AsyncRespond,
        ) -> None:
            await ack()

            async def work() -> None:
                _, actor, card = await pressed(body, client, context)
                await card_actions.apply(services, client, actor=actor, context=card, change=change)

            services.after_ack(work(), body=body, client=client, respond=respond)

    button(ids.ACTION_LEAD_QUOTABLE, card_actions.quotable_change(True))
    button(ids.ACTION_LEAD_NOT_QUOTABLE, card_actions.quotable_change(False))

    @app.action(ids.ACTION_LEAD_SPAM)
    async def on_spam(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        """Cards posted before spam write-back was dropped still carry a Spam button: say where to mark it."""
        await ack()

        async def work() -> None:
            raise card_actions.spam_elsewhere()

        services.after_ack(work(), body=body, client=client, respond=respond)

    @app.action(ids.ACTION_LEAD_VALUE)
    async def on_value(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        await ack()

        async def work() -> None:
            action, _, card = await pressed(body, client, context)
            lead = card_actions.current_lead(card)
            await client.views_open(
                trigger_id=action.trigger_id,
                view=modals.value_modal(
                    lead_id=lead.lead_id,
                    channel_id=card.delivery.channel_id,
                    message_ts=card.delivery.message_ts or "",
                    quote_value=lead.quote_value,
                    sales_value=lead.sales_value,
                ),
            )

        services.after_ack(work(), body=body, client=client, respond=respond)

    @app.view(ids.VIEW_LEAD_VALUE)
    async def on_value_submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        try:
            values = modals.read_value_modal(body.get("view") or {})
        except modals.ModalErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        user_id = (body.get("user") or {}).get("id", "")
        team_id = (body.get("team") or {}).get("id") or context.team_id or ""
        actor = await services.actor(client, user_id=user_id, installer_user_id=context.get("installer_user_id"))
        try:
            async with asyncio.timeout(VALUE_DEADLINE):
                card = await card_actions.card_context(
                    services, team_id=team_id, channel_id=values.channel_id, message_ts=values.message_ts
                )
                await card_actions.apply(
                    services,
                    client,
                    actor=actor,
                    context=card,
                    change=card_actions.value_change(
                        values.quote_value, values.sales_value, currency=card.connection.currency
                    ),
                )
        except TimeoutError:
            await ack(response_action="errors", errors={ids.BLOCK_VALUE_QUOTE: "WhatConverts is slow; try again."})
            return
        except UserFacingError as exc:
            # Inline on the form: the modal is still open, so that's where the user is looking.
            await ack(response_action="errors", errors={ids.BLOCK_VALUE_QUOTE: exc.message[:150]})
            return
        await ack()
