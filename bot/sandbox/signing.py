"""Build and send Slack-signed requests to the app's ``/slack/events`` endpoint in tests.

``SlackSigner`` produces the ``x-slack-signature`` / ``x-slack-request-timestamp`` headers Bolt
verifies, and body builders shaped like Slack's real slash-command, Events API and interactivity
payloads. ``SlackClient`` wraps an ``httpx.AsyncClient`` (a live server or an in-process ASGI
transport) and posts those signed bodies. Like Slack, it checks what the app answers in the HTTP ack
(a command's reply, a view submission's ``response_action``) against Block Kit's rules: a body Slack
would refuse raises :class:`~bot.sandbox.blockkit.InvalidPayload`.
"""

from __future__ import annotations

import itertools
import json
import time
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from .blockkit import ack_errors, require_valid
from .slack import APP_ID, bot_user_id_for

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# Fresh event IDs by default, so tests that don't care about retries never trip event dedupe.
_event_ids = itertools.count(1)


class SlackSigner:
    """Signs request bodies the way Slack does (``v0`` HMAC-SHA256 of ``v0:{ts}:{body}``)."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret
        self._verifier = SignatureVerifier(signing_secret)

    def headers(
        self, body: bytes | str, timestamp: int | None = None, content_type: str | None = None
    ) -> dict[str, str]:
        """Signature headers for ``body``; pass an old ``timestamp`` to test replay rejection."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        headers = {"x-slack-signature": signature, "x-slack-request-timestamp": ts}
        if content_type:
            headers["content-type"] = content_type
        return headers


def command_body(
    text: str,
    *,
    team_id: str = "T1",
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str,
    command: str = "/whatconverts",
    trigger_id: str = "111.222.abc",
    enterprise_id: str | None = None,
    channel_name: str = "leads",
    user_name: str | None = None,
    api_app_id: str = APP_ID,
) -> tuple[str, str]:
    """A slash-command form body with Slack's field set and order; returns (body, content type)."""
    fields: list[tuple[str, str]] = [
        ("token", "fake-verification-token"),
        ("team_id", team_id),
        ("team_domain", team_id.lower()),
    ]
    if enterprise_id:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", "Acme Grid")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields), FORM


def event_body(
    event: dict[str, Any],
    *,
    team_id: str = "T1",
    event_id: str = "Ev1",
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    event_time: int | None = None,
) -> tuple[str, str]:
    """An Events API ``event_callback`` envelope around ``event``; returns (body, content type).

    ``event_time`` (epoch seconds, default now) dates the event: Slack delivers late, and redelivers.
    """
    now = int(time.time()) if event_time is None else event_time
    envelope: dict[str, Any] = {
        "token": "fake-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id_for(team_id),
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    if enterprise_id:
        envelope["enterprise_id"] = enterprise_id
    return json.dumps(envelope), JSON


def interaction_body(payload: dict[str, Any]) -> tuple[str, str]:
    """An interactivity request (``payload=<json>`` form field); returns (body, content type)."""
    return urlencode({"payload": json.dumps(payload)}), FORM


def _json_body(response: httpx.Response) -> Any:
    if response.status_code != 200 or not response.content.strip():
        return None
    if not response.headers.get("content-type", "").startswith(JSON):
        return None
    try:
        return response.json()
    except ValueError:
        return None


class SlackClient:
    """Posts signed Slack requests to ``{base_url}/slack/events``.

    Pass ``transport=httpx.ASGITransport(app=...)`` to drive an ASGI app in-process, or leave it
    out to hit a live server. ``response_url`` becomes the default for :meth:`command`.
    ``validate=False`` takes ack bodies Slack would refuse without raising.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        response_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        replies: Any = None,
        validate: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/slack/events"
        self.signer = SlackSigner(signing_secret)
        self.response_url = response_url
        self.replies = replies
        self.validate = validate
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def _post_signed(
        self, body: str, content_type: str, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = self.signer.headers(body, content_type=content_type)
        headers.update(extra_headers or {})
        response = await self._http.post(self.url, content=body.encode(), headers=headers)
        if self.validate:
            require_valid(ack_errors(_json_body(response)), f"the ack body {response.text[:2000]}")
        return response

    async def command(self, text: str, **kw: Any) -> httpx.Response:
        """Send a slash command; ``kw`` goes to :func:`command_body`."""
        if "response_url" not in kw and self.response_url is not None:
            kw["response_url"] = self.response_url
        return await self._post_signed(*command_body(text, **kw))

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        **kw: Any,
    ) -> httpx.Response:
        """Send an Events API callback; ``retry_num`` marks it as Slack's redelivery of ``event_id``."""
        event_id = event_id or f"Ev{next(_event_ids):08d}"
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._post_signed(*event_body(event, event_id=event_id, **kw), extra)

    async def ask(self, text: str, **kw: Any) -> dict[str, Any]:
        """Run a command and return its answer: the ack's body, or what it posted to the response URL.

        Needs ``replies`` (the fake Slack that records response_url posts) set on the client.
        """
        assert self.replies is not None, "SlackClient(replies=fake_slack) is needed for ask()"
        before = len(self.replies.calls_to("response_url"))
        response = await self.command(text, **kw)
        assert response.status_code == 200, response.text
        if response.content.strip():
            return dict(response.json())
        calls = await self.replies.wait_for_calls("response_url", before + 1)
        if self.validate:
            require_valid(list(getattr(calls[before], "refused", [])), f"the reply to {text!r}")
        return dict(calls[before].params)

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        """Send a block_actions / view_submission / shortcut payload."""
        return await self._post_signed(*interaction_body(payload))

    async def post_raw(self, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
        """Send ``body`` with exactly ``headers`` (no signing) for negative tests."""
        content = body.encode() if isinstance(body, str) else body
        return await self._http.post(self.url, content=content, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
