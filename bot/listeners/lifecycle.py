"""Install lifecycle events: `app_uninstalled` removes the workspace; `tokens_revoked` only its tokens."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.slack import workspaces
from bot.slack.payloads import TeamRef


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_uninstalled")
    async def on_uninstalled(body: dict[str, Any]) -> None:
        await workspaces.uninstalled(services, TeamRef.from_event_body(body), at=workspaces.event_time(body))

    @app.event("tokens_revoked")
    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Revoking a bot token does not uninstall the app (Slack's auth.revoke docs): connections and
        # subscriptions stay for the reinstall. We hold no user tokens, so `tokens.oauth` changes nothing.
        bots = (event.get("tokens") or {}).get("bot") or []
        await workspaces.tokens_revoked(
            services,
            TeamRef.from_event_body(body),
            bot_user_ids=[str(b) for b in bots] if isinstance(bots, list) else [],
            at=workspaces.event_time(body),
        )
