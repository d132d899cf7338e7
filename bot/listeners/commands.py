"""The `/whatconverts` slash command: parse at the edge, dispatch through the table, answer."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import connect_commands, messages
from bot.commands import CommandTable, Invocation, Subcommand
from bot.errors import UsageError
from bot.ids import COMMAND
from bot.payloads import Command
from bot.services import Services


def build_table(services: Services) -> CommandTable:
    table = CommandTable()

    async def help_(_: Invocation) -> dict:
        return messages.help_message(table.usages)

    entries = [
        Subcommand("connect", "connect [label]", "connect a WhatConverts account (admins)",
                   partial(connect_commands.connect, services), aliases=("reconnect",)),
        Subcommand("disconnect", "disconnect [label]", "remove a connection and its credentials (admins)",
                   partial(connect_commands.disconnect, services)),
        Subcommand("status", "status", "connections, their health and today's quota",
                   partial(connect_commands.status, services)),
        Subcommand("help", "help", "what this app can do", help_, aliases=("?", "usage")),
    ]  # fmt: skip
    for entry in entries:
        table.add(entry)
    return table


def register(app: AsyncApp, services: Services) -> None:
    table = build_table(services)

    @app.command(COMMAND)
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        command = Command.from_payload(body)
        try:
            sub, invocation = table.parse(command, client=client, installer_user_id=context.get("installer_user_id"))
        except UsageError as exc:
            await ack(response_type="ephemeral", **messages.usage_message(exc.message, table.usages))
            return
        reply = await sub.handler(invocation)
        await ack(response_type="ephemeral", **reply)
