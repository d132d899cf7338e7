"""The one error boundary for Slack requests: typed errors become a short answer on the right surface.

Before the ack the answer is the ack itself (an ephemeral reply). After it, the answer goes to
the response URL, or, for Home tab buttons (which have none), into a small modal. Unknown errors
are logged with a correlation id and shown generically, never as a trace.

Work after the ack runs through `after_ack`, not inside the listener: slack_bolt's async runner
can lose an ack when a listener raises within ~10 ms of acking (the request then times out as
"unhandled"), so the listener returns at once and the work reports its own errors here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.errors import UserFacingError
from bot.slack_errors import error_code

log = logging.getLogger(__name__)


def _ephemeral(reply: dict) -> BoltResponse:
    body = json.dumps({"response_type": "ephemeral", **reply})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


def _reply(error: Exception, body: dict[str, Any]) -> dict:
    if isinstance(error, UserFacingError):
        return messages.error_message(error.message, mrkdwn=error.mrkdwn)
    correlation_id = secrets.token_hex(6)
    log.error(
        "unhandled error in %s (correlation id %s)",
        body.get("type") or body.get("command") or "request",
        correlation_id,
        exc_info=error,
    )
    return messages.generic_error_message(correlation_id)


async def report_after_ack(
    error: Exception, *, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond | None
) -> None:
    """Tell the user about an error in work that ran after the ack."""
    reply = _reply(error, body)
    try:
        if respond is not None and body.get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, **reply)
        elif body.get("trigger_id"):
            await client.views_open(trigger_id=body["trigger_id"], view=messages.error_modal(reply))
    except SlackApiError as exc:
        log.warning("couldn't show an error to the user: %s", error_code(exc))


class AfterAck:
    """Runs work after the ack as tasks it keeps (so they aren't collected) until they finish."""

    def __init__(self, concurrency: int = 8) -> None:
        self.tasks: set[asyncio.Task] = set()
        # A burst of presses must not starve the acks of the next requests: the work after the ack
        # waits here (cheaply) instead of all of it running at once on the event loop.
        self._slots = asyncio.Semaphore(concurrency)

    def __call__(
        self,
        work: Coroutine[Any, Any, None],
        *,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None = None,
    ) -> None:
        async def run() -> None:
            async with self._slots:
                try:
                    await work
                except Exception as error:  # every error after the ack is reported here: this is the boundary
                    await report_after_ack(error, body=body, client=client, respond=respond)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, grace: float = 10.0) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace)


def register(app: AsyncApp) -> None:
    @app.error
    async def boundary(error: Exception, body: dict[str, Any], context: AsyncBoltContext) -> BoltResponse:
        return _ephemeral(_reply(error, body))
