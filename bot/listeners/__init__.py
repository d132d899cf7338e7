"""Slack listeners, one module per surface; `register` wires them all onto the app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, cards, commands, home, lifecycle
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    lifecycle.register(app, services)
    home.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    cards.register(app, services)
