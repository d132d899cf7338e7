"""The one error boundary for Slack requests: typed errors become a short answer on a surface the
user can still see.

Before the ack the answer is the ack itself (an ephemeral reply). After it, Slack's 3-second rules
(platform truth S6) decide what still works: the modal the work belongs to (`views.update` has no
time limit while it is open), the response URL (30 minutes), a new modal only while the request's
trigger_id is young, then a message: ephemeral in the channel the work is about, else a DM. Unknown
errors are logged with a correlation id and shown generically, never as a trace.

Work after the ack runs through `after_ack`, not inside the listener: slack_bolt's async runner
can lose an ack when a listener raises within ~10 ms of acking (the request then times out as
"unhandled"), so the listener returns at once and the work reports its own errors here. A modal
opens through `after_ack.open_modal` the moment its listener returns, never behind the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserFacingError
from bot.slack import messages
from bot.slack.errors import error_code

log = logging.getLogger(__name__)

# Slack's trigger_id lives 3 s from the click; the request reached us some time after it, so a
# trigger is only trusted this long after the listener saw it.
TRIGGER_SECONDS = 2.0
# How long, in steps, to wait for an ack's response_action to land before a modal counts as closed.
ACK_LANDING_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _ephemeral(reply: dict) -> BoltResponse:
    body = json.dumps({"response_type": "ephemeral", **reply})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


async def respond_checked(respond: AsyncRespond, **reply: Any) -> None:
    """Reply through the response URL. Slack answers a refused reply (invalid_blocks, expired_url)
    with an HTTP error that slack_sdk returns instead of raising: log it, so it is never silent."""
    answered = await respond(**reply)
    if answered.status_code != 200:
        log.warning("Slack refused a reply: HTTP %s %s", answered.status_code, str(answered.body or "")[:200])


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


@dataclass(frozen=True)
class Modal:
    """An open modal that work after the ack shows its outcome in: known by the id `views.open`
    returned, or, after a submission, by the external_id of the "Saving…" view its ack put up."""

    view_id: str | None = None
    external_id: str | None = None

    @classmethod
    def saving(cls, submitted_view_id: str) -> Modal:
        """The modal of a submission acked with a "Saving…" view carrying this external_id."""
        return cls(external_id=f"saving-{submitted_view_id}")

    async def show(self, client: AsyncWebClient, view: dict) -> bool:
        """Replace what the modal shows with `view`; False when the user has closed it meanwhile."""
        if self.view_id:
            return await _update(client, view, view_id=self.view_id)
        # Slack applies the ack's "Saving…" view when the response reaches it, which a fast outcome
        # may beat: the external_id appears with it, so "not found" means "not yet", for a while.
        for pause in ACK_LANDING_PAUSES:
            if await _update(client, view, external_id=self.external_id):
                return True
            await asyncio.sleep(pause)
        return False


async def _update(client: AsyncWebClient, view: dict, **which: str | None) -> bool:
    try:
        await client.views_update(view=view, **which)
    except SlackApiError as exc:
        if error_code(exc) == "not_found":
            return False
        raise
    return True


@dataclass(frozen=True)
class Reach:
    """Where the user behind a request can still be told something once it has been acked."""

    client: AsyncWebClient
    user_id: str
    trigger_id: str | None
    received: float  # time.monotonic() when the listener saw the request
    respond: AsyncRespond | None = None
    modal: Modal | None = None  # the open modal the work belongs to
    channel_id: str | None = None  # the channel the work is about (a card's)

    @classmethod
    def of(
        cls,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None = None,
        *,
        modal: Modal | None = None,
        channel_id: str | None = None,
    ) -> Reach:
        user = body.get("user") or {}
        return cls(
            client=client,
            user_id=str(user.get("id") or body.get("user_id") or ""),
            trigger_id=body.get("trigger_id") or None,
            received=time.monotonic(),
            respond=respond if body.get("response_url") else None,
            modal=modal,
            channel_id=channel_id,
        )

    def _surfaces(self, reply: dict) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
        """Every surface that may still reach the user, best first."""
        client, modal = self.client, messages.error_modal(reply)
        found: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        if self.modal is not None:
            found.append(("views.update", partial(self.modal.show, client, modal)))
        if self.respond is not None:
            found.append(("response_url", partial(self._respond, reply)))
        if self.trigger_id and time.monotonic() - self.received < TRIGGER_SECONDS:
            found.append(("views.open", partial(client.views_open, trigger_id=self.trigger_id, view=modal)))
        if self.user_id and self.channel_id:
            found.append(
                (
                    "chat.postEphemeral",
                    partial(client.chat_postEphemeral, channel=self.channel_id, user=self.user_id, **reply),
                )
            )
        if self.user_id:
            found.append(("DM", partial(client.chat_postMessage, channel=self.user_id, **reply)))
        return found

    async def _respond(self, reply: dict) -> bool:
        assert self.respond is not None
        # An expired or refused response URL answers 4xx, which slack_sdk returns instead of raising.
        answered = await self.respond(response_type="ephemeral", replace_original=False, **reply)
        return answered.status_code == 200

    async def tell(self, reply: dict) -> None:
        """Show `reply` ({"text", "blocks"}) on the first surface that still reaches the user."""
        for name, show in self._surfaces(reply):
            try:
                if await show() is not False:  # False: the modal was closed
                    return
                log.info("couldn't show a reply by %s (closed); trying the next surface", name)
            except Exception as exc:  # refused, or the network: either way the next surface may still work
                log.info("couldn't show a reply by %s (%s); trying the next surface", name, _why(exc))
        log.warning("couldn't show a reply to the user on any surface")


def _why(exc: Exception) -> str:
    return error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__


async def report_after_ack(error: Exception, *, body: dict[str, Any], reach: Reach) -> None:
    """Tell the user about an error in work that ran after the ack."""
    await reach.tell(_reply(error, body))


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
        modal: Modal | None = None,
        channel_id: str | None = None,
    ) -> None:
        """Queue `work`; its errors go to `modal`, else the response URL, else a message (ephemeral
        in `channel_id`, or a DM)."""
        reach = Reach.of(body, client, respond, modal=modal, channel_id=channel_id)
        self._spawn(self._queued(work, body, reach))

    def open_modal(
        self,
        view: dict,
        *,
        fill: Callable[[Modal], Coroutine[Any, Any, None]],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None = None,
    ) -> None:
        """Open `view` now, with the request's trigger_id (S6: good for 3 s), then queue `fill(modal)`,
        which shows the real content with `modal.show`; its errors are shown in the modal."""
        reach = Reach.of(body, client, respond)

        async def run() -> None:
            try:
                opened = await client.views_open(trigger_id=reach.trigger_id or "", view=view)
                modal = Modal(view_id=str(opened["view"]["id"]))
            except Exception as exc:  # refused, timed out or malformed: the press still gets an answer
                log.warning("views.open failed (%s)", _why(exc))
                # The trigger is spent: no modal can open for this press any more.
                failed = UserFacingError(f"Slack didn't open the form ({_why(exc)}). Press the button again.")
                await report_after_ack(failed, body=body, reach=replace(reach, trigger_id=None))
                return
            await self._queued(fill(modal), body, replace(reach, modal=modal))

        self._spawn(run())

    async def _queued(self, work: Coroutine[Any, Any, None], body: dict[str, Any], reach: Reach) -> None:
        async with self._slots:
            try:
                await work
            except Exception as error:  # every error after the ack is reported here: this is the boundary
                await report_after_ack(error, body=body, reach=reach)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        # The work reports its own errors; one that got past the boundary itself must not vanish.
        if not task.cancelled() and task.exception() is not None:
            log.error("work after the ack failed outside its error boundary", exc_info=task.exception())

    async def drain(self, grace: float = 10.0) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace)


def register(app: AsyncApp) -> None:
    @app.error
    async def boundary(error: Exception, body: dict[str, Any], context: AsyncBoltContext) -> BoltResponse:
        return _ephemeral(_reply(error, body))
