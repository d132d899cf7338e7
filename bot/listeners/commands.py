"""The `/whatconverts` slash command: parse at the edge, dispatch through the table, answer."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import find as find_commands
from bot.commands import help_messages
from bot.commands import leads as lead_commands
from bot.commands import subscribe as subscribe_commands
from bot.commands.table import CommandTable, Invocation, Subcommand, echo
from bot.connect import commands as connect_commands
from bot.errors import UsageError
from bot.ids import COMMAND
from bot.services import Services
from bot.slack import messages
from bot.slack.boundary import respond_checked
from bot.slack.payloads import Command


def build_table(services: Services) -> CommandTable:
    table = CommandTable()

    async def help_(inv: Invocation) -> dict:
        """`help` lists the subcommands; `help <subcommand>` (or an alias) shows that one's page."""
        if not inv.args:
            return help_messages.overview_message(table.usages)
        sub = table.find(inv.args[0].removeprefix("/"))
        if sub is None:
            return help_messages.unknown_message(echo(inv.args[0]), table.names)
        details = help_messages.DETAILS.get(sub.name, [])
        return help_messages.subcommand_message(
            usage=sub.usage, summary=sub.summary, aliases=sub.aliases, details=details
        )

    entries = [
        Subcommand("connect", "connect [label]", "connect a WhatConverts account (admins)",
                   partial(connect_commands.connect, services), aliases=("reconnect",), slow=True),
        Subcommand("disconnect", "disconnect [label]", "remove a connection and its credentials (admins)",
                   partial(connect_commands.disconnect, services), slow=True),
        Subcommand("status", "status", "connections, their health and today's quota",
                   partial(connect_commands.status, services), slow=True),
        Subcommand("quota", "quota [label] [percent]", "share of a key's daily API quota the app may spend",
                   partial(connect_commands.quota, services), slow=True),
        Subcommand("webhook", "webhook [rotate] [label]", "the instant-alerts URL to paste into WhatConverts (admins)",
                   partial(connect_commands.webhook, services), slow=True),
        Subcommand("connection", "connection [label] [currency|country <code>]", "money and phone formats on cards",
                   partial(connect_commands.connection, services), slow=True),
        Subcommand("subscribe", "subscribe [#channel|@me] [filters]",
                   "new leads in a channel (or your DMs), e.g. `calls forms +source:google -medium:organic`",
                   partial(subscribe_commands.subscribe, services), aliases=("sub",), slow=True),
        Subcommand("unsubscribe", "unsubscribe [id|all|@me]", "stop a subscription in this channel (or yours)",
                   partial(subscribe_commands.unsubscribe, services), aliases=("unsub",), slow=True),
        Subcommand("list", "list [all]", "subscriptions in this channel (or the workspace)",
                   partial(subscribe_commands.list_, services), aliases=("ls",), slow=True),
        Subcommand("leads", "leads [today|yesterday|7d|30d] [filters]", "the latest 10 leads, just for you",
                   partial(lead_commands.leads, services), slow=True),
        Subcommand("stats", "stats [today|yesterday|7d|30d] [filters]", "counts by type and source, values",
                   partial(lead_commands.stats, services), slow=True),
        Subcommand("find", "find <phone|email> [connection:label]", "one contact's leads, just for you",
                   partial(find_commands.find, services), slow=True),
        Subcommand("test", "test", "post a sample lead card in this channel",
                   partial(lead_commands.test, services), slow=True),
        Subcommand("help", "help", "what this app can do; `help <subcommand>` explains one", help_,
                   aliases=("?", "usage")),
    ]  # fmt: skip
    for entry in entries:
        table.add(entry)
    return table


def register(app: AsyncApp, services: Services) -> None:
    table = build_table(services)

    @app.command(COMMAND)
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        command = Command.from_payload(body)
        try:
            sub, invocation = table.parse(command, client=client, installer_user_id=context.get("installer_user_id"))
        except UsageError as exc:
            await ack(response_type="ephemeral", **messages.usage_message(exc.message, table.usages))
            return
        if sub.slow:
            await ack()

            async def answer() -> None:
                await respond_checked(respond, response_type="ephemeral", **await sub.handler(invocation))

            services.after_ack(answer(), body=body, client=client, respond=respond)
            return
        reply = await sub.handler(invocation)
        await ack(response_type="ephemeral", **reply)
