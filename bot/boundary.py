"""The one error boundary for Slack requests: typed errors become a short ephemeral answer.

Unknown errors are logged with a correlation id and shown generically, never as a trace.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

# Set on the request context once a listener has acked, so errors go to response_url instead.
ACKED = "whatconverts_acked"


def _ephemeral(reply: dict) -> BoltResponse:
    body = json.dumps({"response_type": "ephemeral", **reply})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


def register(app: AsyncApp) -> None:
    @app.error
    async def boundary(
        error: Exception,
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond | None = None,
    ) -> BoltResponse:
        if isinstance(error, UserFacingError):
            reply = messages.error_message(error.message)
        else:
            correlation_id = secrets.token_hex(6)
            log.error(
                "unhandled error in %s (correlation id %s)",
                body.get("type") or body.get("command") or "request",
                correlation_id,
                exc_info=error,
            )
            reply = messages.generic_error_message(correlation_id)
        acked = body.get("type") == "block_actions" or context.get(ACKED, False)
        if acked and respond is not None and (body.get("response_url") or context.response_url):
            # Acked already (buttons, slow commands): answer the user alone, leave any card as it was.
            await respond(response_type="ephemeral", replace_original=False, **reply)
            return BoltResponse(status=200, body="")
        if acked and body.get("trigger_id"):
            # Home tab buttons have no response_url; a small modal is the one place the user looks.
            await client.views_open(trigger_id=body["trigger_id"], view=messages.error_modal(reply))
            return BoltResponse(status=200, body="")
        return _ephemeral(reply)
