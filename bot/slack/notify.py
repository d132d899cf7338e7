"""Direct messages from the app to people in a workspace (admins, connection owners, the installer)."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack.tokens import as_bot

log = logging.getLogger(__name__)


async def notify(
    services: Services, *, team_id: str, user_ids: list[str], text: str, include_installer: bool = False
) -> None:
    """DM people from the app; failures are logged, never raised (the caller's work is done)."""
    creds = await services.tokens.get(enterprise_id=None, team_id=team_id)
    if creds is None:
        return
    recipients = list(dict.fromkeys([*user_ids, *([creds.installer_user_id] if include_installer else [])]))
    client = await services.bot_client(team_id=team_id)
    if client is None:
        return
    for user_id in recipients:
        if not user_id:
            continue
        try:
            await as_bot(
                services.tokens,
                client,
                team_id,
                lambda user_id=user_id: client.chat_postMessage(
                    channel=user_id, text=text, unfurl_links=False, unfurl_media=False
                ),
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            # A DM that fails must not undo the work it reports.
            log.warning("could not DM %s in %s: %s", user_id, team_id, type(exc).__name__)
