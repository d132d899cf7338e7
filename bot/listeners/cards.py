"""Lead card buttons (quotable, not quotable, add value), the value modal, older cards' Spam button,
and claiming a lead from its card (I'll take it, Release, Hand over to…)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.alerts import card_actions, claims, value_modal
from bot.home import modal_states
from bot.services import Services
from bot.slack import views
from bot.slack.boundary import Modal, Reach
from bot.slack.payloads import Action
from bot.slack.permissions import Actor, require_member

# What a card button does once the press is parsed: (client, action, actor, card, reach) → done.
ButtonHandler = Callable[[AsyncWebClient, Action, Actor, card_actions.CardContext, Reach], Coroutine[Any, Any, object]]


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

    def button(action_id: str, handle: ButtonHandler) -> None:
        """A card button or menu: acked at once, then `handle` runs with who pressed it on which card;
        whatever the presser must be told (why nothing changed) reaches only them, in the card's channel."""

        @app.action(action_id)
        async def on_press(
            ack: AsyncAck,
            body: dict[str, Any],
            client: AsyncWebClient,
            context: AsyncBoltContext,
            respond: AsyncRespond,
        ) -> None:
            await ack()
            channel_id = Action.from_payload(body).channel_id
            reach = Reach.of(body, client, respond, channel_id=channel_id)

            async def work() -> None:
                action, actor, card = await pressed(body, client, context)
                await handle(client, action, actor, card, reach)

            services.after_ack(work(), body=body, client=client, respond=respond, channel_id=channel_id)

    def write(change: card_actions.Change) -> ButtonHandler:
        return lambda client, action, actor, card, reach: card_actions.apply(
            services, client, actor=actor, context=card, change=change
        )

    buttons: dict[str, ButtonHandler] = {
        ids.ACTION_LEAD_QUOTABLE: write(card_actions.quotable_change(True)),
        ids.ACTION_LEAD_NOT_QUOTABLE: write(card_actions.quotable_change(False)),
        ids.ACTION_LEAD_CLAIM: lambda client, action, actor, card, reach: claims.take(
            services, actor=actor, context=card, reach=reach
        ),
        ids.ACTION_LEAD_RELEASE: lambda client, action, actor, card, reach: claims.release(
            services, actor=actor, context=card, reach=reach
        ),
        ids.ACTION_LEAD_HAND_OVER: lambda client, action, actor, card, reach: claims.hand_over(
            services, client, actor=actor, context=card, to=action.selected_user, reach=reach
        ),
    }
    for action_id, handle in buttons.items():
        button(action_id, handle)

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

        async def fill(modal: Modal) -> None:
            _, _, card = await pressed(body, client, context)
            lead = card_actions.current_lead(card)
            form = value_modal.value_modal(
                lead_id=lead.lead_id,
                channel_id=card.delivery.card_channel,
                message_ts=card.delivery.message_ts or "",
                quote_value=lead.quote_value,
                sales_value=lead.sales_value,
                currency=card.connection.currency,
            )
            await modal.show(client, form)

        # The trigger_id dies 3 s after the press (S6): open now, fill in once the card is looked up.
        services.after_ack.open_modal(
            modal_states.loading_view(value_modal.VALUE_TITLE), fill=fill, body=body, client=client, respond=respond
        )

    @app.view(ids.VIEW_LEAD_VALUE)
    async def on_value_submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        try:
            values = value_modal.read_value_modal(body.get("view") or {})
        except views.ModalErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        # Answered at once (S6): WhatConverts may take longer than Slack waits for the ack, and the
        # value must be written once, whatever it takes; the outcome replaces "Saving…".
        modal = Modal.saving(str(body["view"]["id"]))
        await ack(
            response_action="update",
            view=modal_states.saving_view(value_modal.VALUE_TITLE, external_id=modal.external_id),
        )

        async def work() -> None:
            user_id = (body.get("user") or {}).get("id", "")
            team_id = (body.get("team") or {}).get("id") or context.team_id or ""
            installer = context.get("installer_user_id")
            actor = await services.actor(client, user_id=user_id, installer_user_id=installer)
            card = await card_actions.card_context(
                services, team_id=team_id, channel_id=values.channel_id, message_ts=values.message_ts
            )
            change = card_actions.value_change(
                values.quote_value, values.sales_value, currency=card.connection.currency
            )
            lead = await card_actions.apply(services, client, actor=actor, context=card, change=change)
            saved = modal_states.notice(f"Saved in WhatConverts: {change.shown(lead)}. The card shows it.")
            await modal.show(client, modal_states.notice_view(value_modal.VALUE_TITLE, saved))

        # A failure goes to the "Saving…" modal, or (closed meanwhile) to the presser in the card's channel.
        services.after_ack(work(), body=body, client=client, modal=modal, channel_id=values.channel_id)
