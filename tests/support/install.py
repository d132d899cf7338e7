"""Drives a real Slack install through the app's routes and the fake's authorize page."""

from __future__ import annotations

from slack_sdk.oauth.installation_store import Installation

from bot.sandbox.driver import install
from bot.services import Services
from bot.slack.stores import SQLInstallationStore
from tests.fakes.slack import FakeSlack, bot_id_for

__all__ = ["install", "seed_installation"]


async def seed_installation(
    services: Services, fake: FakeSlack, *, team_id: str = "T1", expires_in: int | None = None
) -> dict:
    """Store an installation as the OAuth flow would, optionally with a token close to expiry."""
    body = fake.install(team_id=team_id)
    if expires_in is not None:
        body["expires_in"] = expires_in
    store = SQLInstallationStore(sessions=services.sessions, client_id=services.settings.slack_client_id or "")
    await store.async_save(
        Installation(
            app_id=body["app_id"],
            team_id=body["team"]["id"],
            team_name=body["team"]["name"],
            bot_token=body["access_token"],
            bot_id=bot_id_for(team_id),
            bot_user_id=body["bot_user_id"],
            bot_scopes=body["scope"],
            bot_refresh_token=body.get("refresh_token"),
            bot_token_expires_in=body.get("expires_in"),
            user_id=body["authed_user"]["id"],
            token_type="bot",
        )
    )
    return body
