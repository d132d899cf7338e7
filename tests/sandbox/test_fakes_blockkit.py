"""Self-test of Slack's Block Kit rules in the fakes (platform truth S7): what Slack refuses, they refuse.

The fake Slack answers an invalid message `invalid_blocks` (with Slack's `errors`), an invalid view
`invalid_arguments`, and an invalid response_url post HTTP 400; the test client raises on an ack body
Slack would refuse. If these fail, "every payload passed validation" means nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.blockkit import InvalidPayload, ack_errors, message_errors, view_errors
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support.server import serve


def section(text: str, **extra: Any) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str, action_id: str = "a") -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


VALID = [
    {"type": "header", "text": {"type": "plain_text", "text": "New lead", "emoji": True}},
    section("*Ada* &amp; <#C1>", block_id="lead", accessory=button("Open")),
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Phone*\n555", "verbatim": True}]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "via Google"}]},
    {"type": "divider"},
    {"type": "actions", "elements": [button("Quotable", "q"), {**button("Open", "o"), "url": "https://x.test/1"}]},
]

# What Slack refuses, and the error it names.
REFUSED = {
    "section over 3,000": ([section("x" * 3001)], "cannot exceed 3000 characters"),
    "empty section": ([section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    "empty context text": (
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": ""}]}],
        "must be more than 0 characters",
    ),
    "header over 150": ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "150"),
    "mrkdwn header": ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "must be a plain_text object"),
    "button over 75": ([{"type": "actions", "elements": [button("b" * 76)]}], "cannot exceed 75 characters"),
    "11 context elements": (
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        "cannot exceed 10 elements",
    ),
    "field over 2,000": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        "must be less than 2001 characters",
    ),
    "51 blocks": ([{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
    "duplicate block_id": ([section("a", block_id="b"), section("c", block_id="b")], "duplicate block_id"),
    "duplicate action_id": ([{"type": "actions", "elements": [button("x"), button("y")]}], "duplicate action_id"),
    "unknown property": ([section("a", colour="red")], "invalid additional property: colour"),
    "unknown block": ([{"type": "banner", "text": "hi"}], "unknown block type 'banner'"),
    "unknown element": ([{"type": "actions", "elements": [{"type": "slider"}]}], "unknown element type 'slider'"),
    "not a list": ("[{", "must provide an array"),
}


def test_a_card_shaped_message_passes() -> None:
    assert message_errors({"text": "New lead", "blocks": VALID}) == []


@pytest.mark.parametrize("case", REFUSED)
def test_what_slack_refuses_in_a_message_is_refused(case: str) -> None:
    blocks, error = REFUSED[case]

    errors = message_errors({"blocks": blocks})

    assert any(error in e for e in errors), errors


def modal(blocks: list[dict], **extra: Any) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Add value"}, "blocks": blocks, **extra}


def test_views_follow_slack_rules() -> None:
    form = [{"type": "input", "label": {"type": "plain_text", "text": "Quote"},
             "element": {"type": "plain_text_input", "action_id": "q"}}]  # fmt: skip
    assert view_errors({"type": "home", "blocks": [{"type": "divider"}] * 100}) == []
    assert view_errors(modal(form, submit={"type": "plain_text", "text": "Save"})) == []
    assert "between 1 and 100 blocks" in " ".join(view_errors({"type": "home", "blocks": [{"type": "divider"}] * 101}))
    assert "title must be between 1 and 24" in " ".join(
        view_errors(modal(VALID, title={"type": "plain_text", "text": "t" * 25}))
    )
    assert "must have a submit button" in " ".join(view_errors(modal(form)))
    assert "/view/blocks/0/text/text" in " ".join(view_errors({"type": "home", "blocks": [section("")]}))


def test_ack_bodies_are_checked_as_replies_or_views() -> None:
    assert ack_errors(None) == [] and ack_errors({"text": "ok", "blocks": VALID}) == []
    assert ack_errors({"response_action": "errors", "errors": {"quote": "Use a number."}}) == []
    assert ack_errors({"text": "x", "blocks": [section("")]})
    assert ack_errors({"response_action": "update", "view": {"type": "home", "blocks": []}})
    assert ack_errors({"response_action": "errors", "errors": {}})
    assert ack_errors({"response_action": "close"})


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_team("T1")
        yield server


async def test_the_fake_answers_invalid_blocks_and_keeps_no_message(fake: FakeSlack) -> None:
    token = fake.install("T1")["access_token"]
    client = AsyncWebClient(base_url=fake.api_url, token=token)

    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="x", blocks=[section("x" * 3001)])
    posted = await client.chat_postMessage(channel="C1", text="x", blocks=VALID)
    with pytest.raises(SlackApiError) as edit:
        await client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=[section("")])
    with pytest.raises(SlackApiError) as ephemeral:
        await client.chat_postEphemeral(channel="C1", user="U1", text="x", blocks=[{"type": "divider"}] * 51)

    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["errors"] == [
        "text attribute cannot exceed 3000 characters [json-pointer:/blocks/0]",
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ]
    assert edit.value.response["error"] == ephemeral.value.response["error"] == "invalid_blocks"
    assert [m["blocks"] for m in fake.messages("C1")] == [VALID]  # the refused edit changed nothing
    assert [c.method for c in fake.refusals()] == ["chat.postMessage", "chat.update", "chat.postEphemeral"]
    fake.clear()  # a test's set-up clearing calls doesn't hide a refusal
    with pytest.raises(InvalidPayload, match=r"chat.update: must be more than 0 characters"):
        fake.assert_no_refusals()
    fake.forget_refusals()
    fake.assert_no_refusals()


async def test_the_fake_refuses_an_invalid_view_as_invalid_arguments(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.install("T1")["access_token"])

    with pytest.raises(SlackApiError) as refused:
        await client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("")]})

    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be more than 0 characters [json-pointer:/view/blocks/0/text/text]"
    ]
    assert fake.published_view("U1") is None
    fake.forget_refusals()


async def test_a_response_url_answers_an_invalid_reply_with_400(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.response_url())

    refused = await webhook.send(text="x", blocks=[section("x" * 3001)])
    taken = await webhook.send(text="x", blocks=VALID)

    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    assert (taken.status_code, taken.body) == (200, "ok")
    assert "cannot exceed 3000" in fake.calls_to("response_url")[0].refused[0]
    assert fake.calls_to("response_url")[1].refused == []
    fake.forget_refusals()


@pytest.fixture
async def acking_app() -> AsyncIterator[tuple[str, list[Any]]]:
    """A stand-in app that acks every request with the next body in the list it yields."""
    bodies: list[Any] = []

    async def events(request: Request) -> Response:
        await request.body()
        body = bodies.pop(0)
        return JSONResponse(body) if body is not None else Response(b"")

    async with serve(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])) as url:
        yield url, bodies


async def test_the_client_refuses_an_ack_body_slack_would_refuse(acking_app: tuple[str, list[Any]]) -> None:
    url, bodies = acking_app
    bodies += [
        {"text": "ok", "blocks": VALID},
        None,
        {"text": "x", "blocks": [section("")]},
        {"response_action": "update", "view": {"type": "modal", "blocks": [section("x" * 3001)]}},
        {"text": "x", "blocks": [section("")]},
    ]
    async with SlackClient(url, "secret", response_url="http://127.0.0.1:9/hooks/x") as slack:
        assert (await slack.command("status")).json()["text"] == "ok"
        assert (await slack.interaction({"type": "block_actions"})).content == b""
        with pytest.raises(
            InvalidPayload, match=r"must be more than 0 characters \[json-pointer:/blocks/0/text/text\]"
        ):
            await slack.command("list")
        with pytest.raises(InvalidPayload, match=r"/view/blocks/0"):
            await slack.interaction({"type": "view_submission"})
    async with SlackClient(url, "secret", response_url="http://127.0.0.1:9/hooks/x", validate=False) as lax:
        assert (await lax.command("list")).status_code == 200


async def test_ask_refuses_a_reply_the_response_url_refused(fake: FakeSlack) -> None:
    """`ask` returns what was posted to the response URL, unless Slack refused it."""

    async def events(request: Request) -> Response:
        form = await request.form()
        async with httpx.AsyncClient() as http:
            await http.post(str(form["response_url"]), json={"text": "x", "blocks": [section("")]})
        return Response(b"")

    async with (
        serve(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])) as url,
        SlackClient(url, "secret", response_url=fake.response_url(), replies=fake) as slack,
    ):
        with pytest.raises(InvalidPayload, match="the reply to 'status'"):
            await slack.ask("status")
    fake.forget_refusals()
