"""The one error boundary for Slack requests: typed errors become a short ephemeral answer.

Unknown errors are logged with a correlation id and shown generically, never as a trace.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse

from bot import messages
from bot.errors import UserFacingError

log = logging.getLogger(__name__)


def _ephemeral(reply: dict) -> BoltResponse:
    body = json.dumps({"response_type": "ephemeral", **reply})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


def register(app: AsyncApp) -> None:
    @app.error
    async def boundary(error: Exception, body: dict[str, Any], respond: AsyncRespond | None = None) -> BoltResponse:
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
        if body.get("type") == "block_actions" and respond is not None:
            # Button handlers ack first; the answer goes to the presser alone, the card stays as it was.
            await respond(response_type="ephemeral", replace_original=False, **reply)
            return BoltResponse(status=200, body="")
        return _ephemeral(reply)
