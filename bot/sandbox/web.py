"""The demo's `/sandbox` page: every channel as Slack would show it, a command box, the Home tab, live.

Everything a visitor does here goes to the app as Slack would send it: commands and button
presses are signed requests to `/slack/events`; replies come back through the response URL the
fake Slack records.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.signing import SlackClient
from bot.sandbox.slack import FakeSlack
from bot.sandbox_render import STYLE, blocks_to_html, message_to_html, mrkdwn_to_html

CHANNELS = {"C0LEADS": "leads", "C0CALLS": "calls"}
USER = "U1"

PAGE = """<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>WhatConverts for Slack — sandbox</title>
<style>
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;margin:0;background:#f8f8f8;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:.8rem 1.2rem}header b{font-size:1.1rem}
main{display:grid;grid-template-columns:1fr 1fr 1fr;gap:1rem;padding:1rem}
section.pane{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:.8rem;
max-height:80vh;overflow:auto}
h2{font-size:1rem;margin:.2rem 0 .6rem}#reply{margin-top:.6rem}
form#command{display:flex;gap:.4rem}form#command input{flex:1;padding:.5rem;font-size:.95rem}
%(style)s
</style></head><body>
<header><b>WhatConverts for Slack — sandbox</b> · a fake Slack workspace and a fake WhatConverts
account, wired to the real app. New leads arrive every few seconds.</header>
<main>
<section class=pane><h2># leads</h2><div id="channel-C0LEADS"></div></section>
<section class=pane><h2># calls</h2><div id="channel-C0CALLS"></div></section>
<section class=pane><h2>Try a command (as an admin, in #leads)</h2>
<form id=command><input id=command-text name=text value="/whatconverts list" autocomplete=off>
<button type=submit id=run>Send</button></form><div id=reply class=slack-message></div>
<h2 style="margin-top:1.2rem">App Home</h2><div id=home></div></section>
</main>
<script>
async function refresh(){
  const r = await fetch('/sandbox/state'); const s = await r.json();
  for (const [id, html] of Object.entries(s.channels)) {
    const el = document.getElementById('channel-' + id); if (el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; }
  }
  const home = document.getElementById('home'); if (home.dataset.html !== s.home) { home.innerHTML = s.home; home.dataset.html = s.home; }
}
document.getElementById('command').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = document.getElementById('command-text').value;
  const r = await fetch('/sandbox/command', {method:'POST', headers:{'content-type':'application/json'}, body: JSON.stringify({text})});
  document.getElementById('reply').innerHTML = (await r.json()).html;
});
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button.slack-button'); if (!b) return;
  e.preventDefault();
  await fetch('/sandbox/action', {method:'POST', headers:{'content-type':'application/json'},
    body: JSON.stringify({message: b.dataset.message, action_id: b.dataset.actionId, value: b.dataset.value,
                          block_id: b.dataset.blockId})});
  setTimeout(refresh, 300); setTimeout(refresh, 1200);
});
refresh(); setInterval(refresh, 1500);
</script></body></html>"""


def routes(slack: FakeSlack, client: SlackClient) -> list[Route]:
    def channel_html(channel: str) -> str:
        messages = [m for m in slack.messages(channel) if not m.get("thread_ts")]
        if not messages:
            return '<p class="slack-context">No leads yet: the first arrives within a few seconds.</p>'
        return "".join(message_to_html(m, message_id=f"{channel}:{m['ts']}") for m in reversed(messages[-30:]))

    def home_html() -> str:
        view = slack.published_view(USER)
        return blocks_to_html((view or {}).get("blocks", []), message_id="home") if view else ""

    async def page(_: Request) -> Response:
        await client.event({"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"})
        return HTMLResponse(PAGE % {"style": STYLE}, headers={"cache-control": "no-store"})

    async def state(_: Request) -> Response:
        return JSONResponse({"channels": {c: channel_html(c) for c in CHANNELS}, "home": home_html()})

    async def command(request: Request) -> Response:
        data = await request.json()
        text = str(data.get("text") or "").strip()
        if text.startswith("/whatconverts"):
            text = text[len("/whatconverts") :].strip()
        reply = await client.ask(text[:500], user_id=USER, channel_id="C0LEADS")
        body = blocks_to_html(reply.get("blocks") or [], message_id="reply") or mrkdwn_to_html(reply.get("text", ""))
        return JSONResponse({"html": body})

    async def action(request: Request) -> Response:
        data: dict[str, Any] = await request.json()
        where = str(data.get("message") or "")
        if where == "home":
            container: dict[str, Any] = {"type": "view", "view_id": "V0HOME"}
            channel = None
        else:
            channel, _, ts = where.partition(":")
            container = {"type": "message", "channel_id": channel, "message_ts": ts}
        payload = {
            "type": "block_actions",
            "user": {"id": USER, "team_id": "T1"},
            "team": {"id": "T1", "domain": "sandbox"},
            "api_app_id": "A1",
            "container": container,
            "trigger_id": slack.new_trigger_id(),
            "actions": [
                {
                    "action_id": str(data.get("action_id") or ""),
                    "block_id": str(data.get("block_id") or ""),
                    "value": str(data.get("value") or ""),
                    "type": "button",
                    "action_ts": "1",
                }
            ],
        }
        if channel:
            payload["channel"] = {"id": channel, "name": CHANNELS.get(channel, channel)}
            payload["response_url"] = slack.response_url(f"T1/sandbox/{channel}")
        await client.interaction(payload)
        return JSONResponse({"ok": True})

    return [
        Route("/sandbox", page, methods=["GET"]),
        Route("/sandbox/state", state, methods=["GET"]),
        Route("/sandbox/command", command, methods=["POST"]),
        Route("/sandbox/action", action, methods=["POST"]),
    ]
