"""Install lifecycle events: `app_uninstalled` and `tokens_revoked` stop the workspace."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.payloads import TeamRef
from bot.services import Services
from bot.workspaces import stop_workspace


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_uninstalled")
    async def on_uninstalled(body: dict[str, Any]) -> None:
        await stop_workspace(services, TeamRef.from_event_body(body), reason="uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        # We hold only the bot token; a revoked user token (e.g. the installer's) changes nothing.
        if (event.get("tokens") or {}).get("bot"):
            await stop_workspace(services, TeamRef.from_event_body(body), reason="tokens_revoked")
