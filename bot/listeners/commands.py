"""The `/whatconverts` slash command: parse at the edge, dispatch through the table, answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import messages
from bot.commands import CommandTable, Invocation, Subcommand
from bot.errors import UsageError
from bot.ids import COMMAND
from bot.payloads import Command
from bot.services import Services


def build_table(services: Services) -> CommandTable:
    table = CommandTable()

    async def help_(_: Invocation) -> dict:
        return messages.help_message(table.usages)

    table.add(Subcommand("help", "help", "what this app can do", help_, aliases=("?", "usage")))
    return table


def register(app: AsyncApp, services: Services) -> None:
    table = build_table(services)

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        command = Command.from_payload(body)
        try:
            sub, invocation = table.parse(command)
        except UsageError as exc:
            await ack(response_type="ephemeral", **messages.usage_message(exc.message, table.usages))
            return
        reply = await sub.handler(invocation)
        await ack(response_type="ephemeral", **reply)
