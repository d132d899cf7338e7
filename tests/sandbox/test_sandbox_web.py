"""What the sandbox page sends the app, and how it shows the answers: commands, presses, modal submissions.

The app here is a stand-in that checks Slack's signature, records each request and answers what
the test scripts, so every shape Slack can answer with (ack bodies, response_url posts, each
`response_action`, a late ack) is exercised; the real app's answers are in test_sandbox_browser.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox import web
from bot.sandbox.signing import SlackClient
from bot.sandbox.web import Sandbox
from bot.sandbox.workspace import SandboxSlack

SECRET = "sandbox-test-signing-secret"
TRIGGER = re.compile(r"[0-9]{13}\.[0-9]+\.[0-9a-f]{16,}")  # Slack's shape; the fake reads the time from it
Answer = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class StandIn:
    """The app's place: verifies each signed request, records its payload, answers with `answer`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: Answer = self.ack
        verifier = SignatureVerifier(SECRET)

        async def events(request: Request) -> Response:
            body = await request.body()
            assert verifier.is_valid_request(body, dict(request.headers))
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            payload = json.loads(form["payload"]) if "payload" in form else form
            self.received.append(payload)
            reply = await self.answer(payload)
            return Response(b"") if reply is None else JSONResponse(reply)

        self.app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])

    @staticmethod
    async def ack(payload: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [p for p in self.received if p.get("type") == kind]


@pytest.fixture
async def slack() -> AsyncIterator[SandboxSlack]:
    with SandboxSlack() as fake:
        fake.add_team(web.TEAM, web.TEAM_NAME)
        for user_id, name in web.PEOPLE.items():
            fake.add_user(web.TEAM, user_id, name=name, is_admin=user_id == web.USER)
        for channel_id, name in web.CHANNELS.items():
            fake.add_channel(web.TEAM, channel_id, name=name)
        yield fake


@pytest.fixture
def app() -> StandIn:
    return StandIn()


@pytest.fixture
async def sandbox(slack: SandboxSlack, app: StandIn) -> AsyncIterator[Sandbox]:
    client = SlackClient("http://app.test", SECRET, transport=httpx.ASGITransport(app=app.app))
    yield Sandbox(slack, client)
    await client.aclose()


@pytest.fixture
def bot(slack: SandboxSlack) -> AsyncWebClient:
    """The app's own Web API client, as the app would hold it."""
    return AsyncWebClient(base_url=slack.api_url, token=slack.install(web.TEAM)["access_token"])


async def respond(url: str, **message: Any) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, json=message)).status_code == 200


# --- commands ---------------------------------------------------------------------------------------


async def test_a_command_is_escaped_as_slack_escapes_it_and_its_answer_shows(sandbox: Sandbox, app: StandIn) -> None:
    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        return {"text": "Got <#C0CALLS> from <@U1> :white_check_mark:"}

    app.answer = answer
    await sandbox.command("subscribe #calls @ada @here #nowhere a&b <x>", "C0LEADS")
    (sent,) = app.received
    assert sent["text"] == "subscribe <#C0CALLS|calls> <@U1|ada> <!here> #nowhere a&amp;b &lt;x&gt;"
    assert (sent["command"], sent["channel_id"], sent["channel_name"], sent["user_id"], sent["user_name"]) == (
        "/whatconverts", "C0LEADS", "leads", "U1", "ada"
    )  # fmt: skip
    assert TRIGGER.fullmatch(sent["trigger_id"])
    shown = sandbox.replies_html("C0LEADS")
    assert 'Got <span class="slack-mention">#calls</span> from <span class="slack-mention">@ada</span>' in shown
    assert "Only visible to you" in shown and "✅" in shown
    assert sandbox.replies_html("C0CALLS") == ""


async def test_an_answer_through_the_response_url_shows_once_it_arrives(sandbox: Sandbox, app: StandIn) -> None:
    async def answer(payload: dict[str, Any]) -> None:
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(respond(payload["response_url"],
                                                                                          text="later")))  # fmt: skip
        return None

    app.answer = answer
    await sandbox.command("list", "C0CALLS")
    assert "later" in sandbox.replies_html("C0CALLS")


async def test_thread_replies_show_under_their_message(sandbox: Sandbox, bot: AsyncWebClient) -> None:
    card = await bot.chat_postMessage(channel="C0CALLS", text="A lead card")
    await bot.chat_postMessage(channel="C0CALLS", text="Another card")
    for n in range(1, 5):
        await bot.chat_postMessage(channel="C0CALLS", thread_ts=card["ts"], text=f":alarm_clock: reply {n} <@U2>")

    shown = sandbox.channel_html("C0CALLS")

    head, other = shown.split("Another card")
    assert "4 replies" in head and "1 earlier reply" in head  # the three latest, under their card
    assert "reply 1" not in head and all(f"reply {n} " in head for n in (2, 3, 4)) and "⏰" in head
    assert '<span class="slack-mention">@grace</span>' in head  # names, as Slack shows mentions
    assert "repl" not in other  # the other card has no thread


# --- button presses ---------------------------------------------------------------------------------


async def test_pressing_a_card_button_sends_slacks_block_actions(
    sandbox: Sandbox, app: StandIn, bot: AsyncWebClient
) -> None:
    blocks = [
        {
            "type": "actions",
            "block_id": "lead_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "lead_value",
                    "value": "42",
                    "text": {"type": "plain_text", "text": "Add"},
                }
            ],
        }
    ]
    posted = await bot.chat_postMessage(channel="C0LEADS", text="card", blocks=blocks)  # fmt: skip
    ts = posted["ts"]

    pressed = {"action_id": "lead_value", "block_id": "lead_actions", "value": "42", "text": "Add"}
    response = await sandbox.press({"message": f"C0LEADS:{ts}", **pressed})
    assert response.status_code == 200
    (press,) = app.of_type("block_actions")
    assert press["container"] == {"type": "message", "message_ts": ts, "channel_id": "C0LEADS"}
    assert press["channel"] == {"id": "C0LEADS", "name": "leads"}
    assert press["message"]["ts"] == ts and press["message"]["blocks"] == blocks
    assert press["user"] == {"id": "U1", "username": "ada", "name": "ada", "team_id": "T1"}
    assert press["team"]["id"] == "T1" and TRIGGER.fullmatch(press["trigger_id"])
    (action,) = press["actions"]
    assert {k: action[k] for k in ("action_id", "block_id", "value", "type")} == {
        "action_id": "lead_value", "block_id": "lead_actions", "value": "42", "type": "button"
    }  # fmt: skip
    assert press["response_url"].endswith(f"/C0LEADS/m{ts}")


async def test_picking_a_person_in_a_cards_menu_sends_slacks_block_actions(
    sandbox: Sandbox, app: StandIn, bot: AsyncWebClient
) -> None:
    menu = {"type": "users_select", "action_id": "lead_hand_over", "placeholder": {"type": "plain_text",
            "text": "Hand over to…"}}  # fmt: skip
    blocks = [{"type": "actions", "block_id": "lead_actions", "elements": [menu]}]
    ts = (await bot.chat_postMessage(channel="C0LEADS", text="card", blocks=blocks))["ts"]
    assert 'data-action-id="lead_hand_over"' in sandbox.channel_html("C0LEADS")
    assert '<option value="U2">grace</option>' in sandbox.channel_html("C0LEADS")

    picked = {"action_id": "lead_hand_over", "block_id": "lead_actions", "type": "users_select", "selected": "U2"}
    response = await sandbox.press({"message": f"C0LEADS:{ts}", **picked})

    assert response.status_code == 200
    (press,) = app.of_type("block_actions")
    (action,) = press["actions"]
    assert {k: v for k, v in action.items() if k != "action_ts"} == {
        "action_id": "lead_hand_over", "block_id": "lead_actions", "type": "users_select", "selected_user": "U2"
    }  # fmt: skip
    assert press["container"] == {"type": "message", "message_ts": ts, "channel_id": "C0LEADS"}
    assert press["message"]["blocks"] == blocks and press["response_url"].endswith(f"/C0LEADS/m{ts}")


async def test_an_answer_can_replace_or_delete_the_reply_its_button_was_in(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack
) -> None:
    confirm = {"type": "actions", "elements": [{"type": "button", "action_id": "yes", "text": {"type": "plain_text",
               "text": "Disconnect"}}]}  # fmt: skip

    async def answer(payload: dict[str, Any]) -> dict[str, Any] | None:
        if payload.get("command"):
            return {"text": "Sure?", "blocks": [confirm]}
        await respond(payload["response_url"], replace_original=True, text="Disconnected.")
        return None

    app.answer = answer
    await sandbox.command("disconnect", "C0LEADS")
    (reply_id,) = re.findall(r'data-message="reply:C0LEADS:([^"]+)"', sandbox.replies_html("C0LEADS"))
    await sandbox.press({"message": f"reply:C0LEADS:{reply_id}", "action_id": "yes"})
    (press,) = app.of_type("block_actions")
    assert press["container"]["is_ephemeral"] is True and press["channel"]["id"] == "C0LEADS"
    shown = sandbox.replies_html("C0LEADS")
    assert "Disconnected." in shown and "Sure?" not in shown

    await respond(press["response_url"], delete_original=True)
    assert "Disconnected." not in sandbox.replies_html("C0LEADS")
    await respond(press["response_url"], response_type="in_channel", text="For everyone")
    shared = sandbox.replies_html("C0LEADS")
    assert "For everyone" in shared and "Only visible to you" not in shared


async def test_pressing_a_home_button_names_the_published_view(
    sandbox: Sandbox, app: StandIn, bot: AsyncWebClient
) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    published = (await bot.views_publish(user_id="U1", view=home))["view"]
    await sandbox.press({"message": "home", "action_id": "home_sub_add"})
    (press,) = app.of_type("block_actions")
    assert press["container"] == {"type": "view", "view_id": published["id"]}
    assert press["view"]["id"] == published["id"] and "response_url" not in press


# --- modals ------------------------------------------------------------------------------------------

FORM = {
    "type": "modal",
    "callback_id": "lead_value_modal",
    "private_metadata": '{"lead_id":7}',
    "title": {"type": "plain_text", "text": "Lead value"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {"type": "input", "block_id": "q", "label": {"type": "plain_text", "text": "Quote"},
         "element": {"type": "plain_text_input", "action_id": "qi"}},
        {"type": "input", "block_id": "c", "optional": True, "label": {"type": "plain_text", "text": "Where"},
         "element": {"type": "conversations_select", "action_id": "ci"}},
    ],
}  # fmt: skip


async def opened(slack: SandboxSlack, bot: AsyncWebClient, view: dict[str, Any] = FORM) -> dict[str, Any]:
    return dict((await bot.views_open(trigger_id=slack.new_trigger_id(), view=view))["view"])


async def test_a_submission_carries_the_view_and_its_values_as_slack_sends_them(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack, bot: AsyncWebClient
) -> None:
    view = await opened(slack, bot)
    state = sandbox.modal_state()
    assert state is not None and state["id"] == view["id"] and state["behind"] == 0
    assert "Lead value" in state["html"] and "# calls" in state["html"]

    await sandbox.submit(view["id"], {"q": {"qi": "12"}, "c": {"ci": "C0CALLS"}})
    (sent,) = app.of_type("view_submission")
    assert {k: sent["view"][k] for k in ("id", "hash", "callback_id", "private_metadata")} == {
        "id": view["id"], "hash": view["hash"], "callback_id": "lead_value_modal", "private_metadata": '{"lead_id":7}'
    }  # fmt: skip
    assert sent["view"]["state"]["values"] == {
        "q": {"qi": {"type": "plain_text_input", "value": "12"}},
        "c": {"ci": {"type": "conversations_select", "selected_conversation": "C0CALLS"}},
    }
    assert sent["user"]["id"] == "U1" and TRIGGER.fullmatch(sent["trigger_id"])
    assert sandbox.modal_state() is None  # an empty ack closes it


async def test_slack_checks_required_fields_itself(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack, bot: AsyncWebClient
) -> None:
    view = await opened(slack, bot)
    await sandbox.submit(view["id"], {"q": {"qi": ""}})
    assert app.received == []
    state = sandbox.modal_state()
    assert state is not None and "Please complete this required field." in state["html"]


async def test_each_response_action_changes_the_modal_as_slack_does(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack, bot: AsyncWebClient
) -> None:
    answers: list[dict[str, Any] | None] = [
        {"response_action": "errors", "errors": {"q": "Enter an amount like 1200."}},
        {"response_action": "update", "view": {**FORM, "title": {"type": "plain_text", "text": "Saving…"}}},
        {"response_action": "push", "view": {**FORM, "title": {"type": "plain_text", "text": "Pushed"}}},
        None,
        {"response_action": "clear"},
    ]

    async def answer(payload: dict[str, Any]) -> dict[str, Any] | None:
        return answers.pop(0)

    app.answer = answer
    view = await opened(slack, bot)
    typed = {"q": {"qi": "x"}}

    await sandbox.submit(view["id"], typed)
    first = sandbox.modal_state()
    assert first is not None and "Enter an amount like 1200." in first["html"]
    await sandbox.submit(view["id"], typed)
    saving = sandbox.modal_state()
    assert saving is not None and saving["id"] == view["id"] and "Saving…" in saving["html"]
    assert "Enter an amount" not in saving["html"] and saving["key"] != first["key"]
    await sandbox.submit(view["id"], typed)
    pushed = sandbox.modal_state()
    assert pushed is not None and "Pushed" in pushed["html"] and pushed["id"] != view["id"]
    await sandbox.submit(pushed["id"], typed)  # empty ack: back to the view below
    below = sandbox.modal_state()
    assert below is not None and below["id"] == view["id"]
    await sandbox.submit(view["id"], typed)
    assert sandbox.modal_state() is None


async def test_the_app_updating_a_view_redraws_it(sandbox: Sandbox, slack: SandboxSlack, bot: AsyncWebClient) -> None:
    view = await opened(slack, bot)
    before = sandbox.modal_state()
    await bot.views_update(view_id=view["id"], view={**FORM, "title": {"type": "plain_text", "text": "Saved"}})
    after = sandbox.modal_state()
    assert before is not None and after is not None
    assert "Saved" in after["html"] and after["key"] != before["key"] and after["id"] == view["id"]


async def test_a_late_ack_shows_slacks_own_error(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack, bot: AsyncWebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web, "ACK_DEADLINE", 0.05)

    async def answer(payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.5)
        return None

    app.answer = answer
    view = await opened(slack, bot)
    await sandbox.submit(view["id"], {"q": {"qi": "12"}})
    state = sandbox.modal_state()
    assert state is not None and web.NO_ANSWER in state["html"]


async def test_closing_tells_the_app_only_when_the_view_asked(
    sandbox: Sandbox, app: StandIn, slack: SandboxSlack, bot: AsyncWebClient
) -> None:
    quiet = await opened(slack, bot)
    await sandbox.close(quiet["id"])
    assert app.received == [] and sandbox.modal_state() is None

    told = await opened(slack, bot, {**FORM, "notify_on_close": True})
    await sandbox.close(told["id"])
    (closed,) = app.of_type("view_closed")
    assert closed["view"]["id"] == told["id"] and closed["is_cleared"] is False
    assert closed["user"]["id"] == "U1"


async def test_modals_opened_at_once_are_all_kept(sandbox: Sandbox, slack: SandboxSlack, bot: AsyncWebClient) -> None:
    views = await asyncio.gather(*(opened(slack, bot) for _ in range(5)))
    state = sandbox.modal_state()
    assert state is not None and state["behind"] == 4
    assert state["id"] in {v["id"] for v in views}


async def test_the_command_box_runs_only_our_command(slack: SandboxSlack, app: StandIn) -> None:
    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        return {"text": "ok"}

    app.answer = answer
    client = SlackClient("http://app.test", SECRET, transport=httpx.ASGITransport(app=app.app))
    page = Starlette(routes=web.routes(slack, client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=page), base_url="http://sandbox.test") as browser:
        refused = await browser.post("/sandbox/command", json={"text": "/giphy <b>cats</b>", "channel": "C0CALLS"})
        ran = await browser.post("/sandbox/command", json={"text": "/whatconverts  list", "channel": "C0CALLS"})
        bare = await browser.post("/sandbox/command", json={"text": "help", "channel": "C9NOPE"})
        state = (await browser.get("/sandbox/state")).json()
    await client.aclose()

    assert refused.json() == {"ok": False} and ran.json() == bare.json() == {"ok": True}
    assert [(p["text"], p["channel_id"]) for p in app.received] == [("list", "C0CALLS"), ("help", "C0LEADS")]
    assert "<code>/giphy</code> is not a valid command." in state["replies"]["C0CALLS"]
