"""The demo's `/sandbox` routes: every channel as Slack would show it, a command box, App Home, modals.

Everything a visitor does here reaches the app as Slack would send it: commands (escaped as Slack
escapes them), button presses, modal submissions and closes are signed requests to
`/slack/events`. What the app answers comes back through the fake Slack: posted messages, the
published Home tab, open modals, and replies to the response URLs handed out here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.ids import COMMAND
from bot.sandbox import interactions
from bot.sandbox.command_text import escape_command
from bot.sandbox.page import render_page
from bot.sandbox.render import Names, blocks_to_html, message_to_html
from bot.sandbox.replies import Replies, Reply
from bot.sandbox.signing import SlackClient
from bot.sandbox.view_render import view_to_html
from bot.sandbox.view_state import required_errors, state_values, view_key
from bot.sandbox.whatconverts import FakeWhatConverts
from bot.sandbox.workspace import SandboxSlack
from bot.slack.escape import escape_mrkdwn

TEAM, TEAM_NAME = "T1", "Sandbox Co"
CHANNELS = {"C0LEADS": "leads", "C0CALLS": "calls"}
USER, USER_NAME = "U1", "ada"
PEOPLE = {USER: USER_NAME, "U2": "grace"}
APP_NAME = "WhatConverts"
# Slack gives up on an interaction the app hasn't acked within 3 s and says so in the modal.
ACK_DEADLINE = 3.0
NO_ANSWER = "We had some trouble connecting. Try again?"
COMMAND_CHARS = 4000
SHOWN_MESSAGES = 30
SHOWN_REPLIES = 5
SHOWN_THREAD_REPLIES = 3


def _row(body: str, *, extra: str = "", note: str = "", classes: str = "slack-row") -> str:
    """A message row as Slack draws it: the app's avatar, its name and APP badge, then the message."""
    head = f'<div><span class="author">{APP_NAME}</span><span class="app-badge">APP</span>{note}</div>'
    return f'<div class="{classes}"><div class="avatar">W</div><div class="row-body">{head}{body}{extra}</div></div>'


class Sandbox:
    """The state behind the page: the fake Slack, the signed client to the app, replies, modal errors."""

    def __init__(self, slack: SandboxSlack, client: SlackClient) -> None:
        self.slack = slack
        self.client = client
        self.replies = Replies(slack, prefix=f"{TEAM}/sandbox")
        self.person = interactions.Person(TEAM, "sandbox", USER, USER_NAME)
        # Errors under a modal's inputs, per (view id, hash): a views.update (new hash) clears them.
        self.errors: dict[tuple[str, str], dict[str, str]] = {}

    @property
    def names(self) -> Names:
        return self.slack.names(TEAM)

    # --- what the page shows --------------------------------------------------------------------

    def channel_html(self, channel: str) -> str:
        posted = self.slack.messages(channel, TEAM)
        threads: dict[str, list[dict[str, Any]]] = {}
        for message in posted:
            if message.get("thread_ts"):
                threads.setdefault(message["thread_ts"], []).append(message)
        messages = [m for m in posted if not m.get("thread_ts")][-SHOWN_MESSAGES:]
        if not messages:
            return '<p class="empty">No leads yet: the first arrives within a few seconds.</p>'
        rows = []
        for m in messages:
            extra = self._thread_html(channel, threads.get(m["ts"], []))
            rows.append(_row(message_to_html(m, message_id=f"{channel}:{m['ts']}", names=self.names), extra=extra))
        return "".join(rows)

    def _thread_html(self, channel: str, replies: list[dict[str, Any]]) -> str:
        """Under a message, its reply count and its latest replies, as Slack's thread view shows them."""
        if not replies:
            return ""
        count = len(replies)
        shown = "".join(
            _row(message_to_html(r, message_id=f"{channel}:{r['ts']}", names=self.names), classes="slack-row reply")
            for r in replies[-SHOWN_THREAD_REPLIES:]
        )
        earlier = count - min(count, SHOWN_THREAD_REPLIES)
        more = (
            f'<div class="thread-more">{earlier} earlier repl{"ies" if earlier > 1 else "y"}</div>' if earlier else ""
        )
        head = f'<div class="thread-replies">{count} repl{"ies" if count > 1 else "y"}</div>'
        return f'{head}<div class="thread">{more}{shown}</div>'

    def replies_html(self, channel: str) -> str:
        def row(reply: Reply) -> str:
            note = "" if reply.shared else '<span class="eph-note">Only visible to you</span>'
            body = message_to_html(reply.message, message_id=f"reply:{channel}:{reply.id}", names=self.names)
            return _row(body, note=note, classes="slack-row" + ("" if reply.shared else " slack-ephemeral"))

        return "".join(row(r) for r in self.replies.in_channel(channel)[-SHOWN_REPLIES:])

    def home_html(self) -> str:
        view = self.slack.published_view(USER, TEAM)
        return blocks_to_html(view.get("blocks", []), message_id="home", names=self.names) if view else ""

    def modal_state(self) -> dict[str, Any] | None:
        """The modal on top (the newest one's top view), drawn with its errors, or None."""
        views = self.slack.open_modals()
        shown = {(v["id"], v.get("hash", "")) for v in views}
        self.errors = {key: value for key, value in self.errors.items() if key in shown}
        if not views:
            return None
        view = views[-1]
        errors = self.errors.get((view["id"], view.get("hash", "")), {})
        behind = len({v.get("root_view_id") for v in views}) - 1
        html = view_to_html(view, errors=errors, names=self.names)
        return {"id": view["id"], "key": view_key(view, errors), "html": html, "behind": behind}

    def state(self) -> dict[str, Any]:
        return {
            "channels": {c: self.channel_html(c) for c in CHANNELS},
            "replies": {c: self.replies_html(c) for c in CHANNELS},
            "home": self.home_html(),
            "modal": self.modal_state(),
        }

    # --- what the person does -------------------------------------------------------------------

    async def command(self, text: str, channel: str) -> None:
        """Run `/whatconverts text` in `channel`; returns once the answer is in (or after 5 s)."""
        origin = self.replies.new_command()
        response = await self.client.command(
            escape_command(text[:COMMAND_CHARS], self.names),
            team_id=TEAM,
            user_id=USER,
            user_name=USER_NAME,
            channel_id=channel,
            channel_name=CHANNELS[channel],
            response_url=self.replies.url(channel, origin),
            trigger_id=self.slack.new_trigger_id(),
        )
        if response.content.strip():
            self.replies.acked(channel, origin, dict(response.json()))
            return
        deadline = time.monotonic() + 5
        while not self.replies.posted(channel, origin) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def _open_view(self, view_id: str) -> dict[str, Any] | None:
        return next((v for v in self.slack.open_modals() if v["id"] == view_id), None)

    async def press(self, data: dict[str, Any]) -> httpx.Response:
        """A button press (or a person picked in a message's menu), wherever it is: a posted message, a
        reply, App Home or a modal."""
        where = str(data.get("message") or "")
        trigger_id = self.slack.new_trigger_id()
        action: dict[str, Any] = {
            "action_id": str(data.get("action_id") or ""),
            "block_id": str(data.get("block_id") or ""),
        }
        if data.get("type") == "users_select":
            # A person chosen in a menu: Slack sends who, not a value or a label.
            action.update(type="users_select", selected_user=str(data.get("selected") or ""))
        else:
            action.update(
                type="button",
                value=str(data.get("value") or ""),
                text={"type": "plain_text", "text": str(data.get("text") or "").strip(), "emoji": True},
            )
        kw: dict[str, Any] = {}
        if where == "home":
            view = self.slack.published_view(USER, TEAM) or {"id": "", "type": "home"}
            kw = {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        elif where.startswith("view:"):
            view = self._open_view(where[len("view:") :]) or {"id": where[len("view:") :], "type": "modal"}
            typed = data.get("values") if isinstance(data.get("values"), dict) else {}
            names = self.names
            values = state_values(view, typed, channels=names.channels, users=names.users)
            kw = {"container": {"type": "view", "view_id": view["id"]}, "view": {**view, "state": {"values": values}}}
        else:
            if where.startswith("reply:"):
                channel, _, reply_id = where[len("reply:") :].partition(":")
                container = {"type": "message", "message_ts": f"{time.time():.6f}", "is_ephemeral": True}
                message, origin = None, reply_id
            else:
                channel, _, ts = where.partition(":")
                container = {"type": "message", "message_ts": ts}
                message = next((m for m in self.slack.messages(channel, TEAM) if m["ts"] == ts), None)
                origin = f"m{ts}"
            if channel not in CHANNELS:
                return httpx.Response(404)
            kw = {
                "container": {**container, "channel_id": channel},
                "channel": {"id": channel, "name": CHANNELS[channel]},
                "message": message,
                "response_url": self.replies.url(channel, origin),
            }
        payload = interactions.block_actions(self.person, action=action, trigger_id=trigger_id, **kw)
        return await self.client.interaction(payload)

    async def submit(self, view_id: str, typed: dict[str, Any]) -> None:
        """The Submit button: Slack's own required-field check, then the signed view_submission."""
        view = self._open_view(view_id)
        if view is None:
            return
        key = (view_id, view.get("hash", ""))
        names = self.names
        values = state_values(view, typed, channels=names.channels, users=names.users)
        if missing := required_errors(view, values):
            self.errors[key] = missing
            return
        payload = interactions.view_submission(
            self.person, view=view, values=values, trigger_id=self.slack.new_trigger_id()
        )
        # Shielded: Slack stops waiting after 3 s, but the app goes on with the request.
        sent = asyncio.ensure_future(self.client.interaction(payload))
        try:
            response = await asyncio.wait_for(asyncio.shield(sent), ACK_DEADLINE)
        except TimeoutError:
            self.errors[key] = {"": NO_ANSWER}
            return
        if response.status_code != 200:
            self.errors[key] = {"": NO_ANSWER}
            return
        ack = dict(response.json()) if response.content.strip() else None
        if ack and ack.get("response_action") == "errors" and isinstance(ack.get("errors"), dict):
            self.errors[key] = {str(k): str(v) for k, v in ack["errors"].items()}
        self.slack.answer_submission(view_id, ack)

    async def close(self, view_id: str) -> None:
        """The close button (or the title bar's close, or Esc): the modal goes; `view_closed` if the view asked for it."""
        view = self._open_view(view_id)
        if view is None:
            return
        self.slack.close_view(view_id)
        if view.get("notify_on_close"):
            payload = interactions.view_closed(self.person, view=view, is_cleared=bool(view.get("clear_on_close")))
            await self.client.interaction(payload)


def routes(slack: SandboxSlack, client: SlackClient, wc: FakeWhatConverts | None = None) -> list[Route]:
    sandbox = Sandbox(slack, client)

    async def page(_: Request) -> Response:
        await client.event({"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"})
        html = render_page(CHANNELS, team=TEAM_NAME, app=APP_NAME)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def state(_: Request) -> Response:
        return JSONResponse(sandbox.state())

    async def command(request: Request) -> Response:
        data = await request.json()
        text = str(data.get("text") or "").strip()
        channel = str(data.get("channel") or "")
        channel = channel if channel in CHANNELS else next(iter(CHANNELS))
        word, _, rest = text.partition(" ")
        if word.startswith("/") and word != COMMAND:
            # What Slack itself answers; the app never hears of it.
            refusal = {"text": f"`{escape_mrkdwn(word[:40])}` is not a valid command."}
            sandbox.replies.acked(channel, sandbox.replies.new_command(), refusal)
            return JSONResponse({"ok": False})
        await sandbox.command(rest.strip() if word == COMMAND else text, channel)
        return JSONResponse({"ok": True})

    async def action(request: Request) -> Response:
        response = await sandbox.press(await request.json())
        return JSONResponse({"ok": response.status_code == 200, "status": response.status_code})

    async def submit(request: Request) -> Response:
        data = await request.json()
        typed = data.get("values") if isinstance(data.get("values"), dict) else {}
        await sandbox.submit(str(data.get("view_id") or ""), typed)
        return JSONResponse({"modal": sandbox.modal_state()})

    async def close(request: Request) -> Response:
        data = await request.json()
        await sandbox.close(str(data.get("view_id") or ""))
        return JSONResponse({"modal": sandbox.modal_state()})

    async def slow_whatconverts(request: Request) -> Response:
        # To try (and test) the app against a slow WhatConverts: the next reads and writes of one lead wait.
        data = await request.json()
        seconds = min(max(float(data.get("seconds") or 0), 0.0), 30.0)
        times = min(max(int(data.get("times") or 1), 1), 100)
        lead_id = str(data.get("lead_id") or "")
        if wc is None or not seconds or not lead_id.isdigit():
            return JSONResponse({"ok": False}, status_code=400)
        wc.delay_next(f"/api/v1/leads/{lead_id}", seconds, times)
        return JSONResponse({"ok": True, "seconds": seconds, "times": times})

    return [
        Route("/sandbox", page, methods=["GET"]),
        Route("/sandbox/whatconverts/slow", slow_whatconverts, methods=["POST"]),
        Route("/sandbox/state", state, methods=["GET"]),
        Route("/sandbox/command", command, methods=["POST"]),
        Route("/sandbox/action", action, methods=["POST"]),
        Route("/sandbox/view/submit", submit, methods=["POST"]),
        Route("/sandbox/view/close", close, methods=["POST"]),
    ]
