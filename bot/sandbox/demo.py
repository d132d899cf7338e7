"""`whatconverts-slack demo`: the real app against built-in stand-ins for Slack and WhatConverts.

One process, an SQLite database in a temporary folder, bound to 127.0.0.1 only. The workspace is
installed, an API key connected and two channels subscribed through the app's real paths (OAuth,
the connect form, signed slash commands); then leads arrive by webhook every few seconds, some
of them later updated, calls nobody takes are escalated in their thread after a minute (`+sla:1m`), and
`/sandbox` shows what Slack would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from cryptography.fernet import Fernet

from bot.app import create_app
from bot.config import load_settings
from bot.sandbox import web
from bot.sandbox.driver import connect_key, install
from bot.sandbox.signing import SlackClient
from bot.sandbox.slack import FakeSlack
from bot.sandbox.whatconverts import FakeWhatConverts
from bot.sandbox.workspace import SandboxSlack

PRODUCTION = ("SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
TOKEN, SECRET = "demo-profile-token", "demo-profile-secret-" + "x" * 12
NAMES = ["Jane Doe", "Sam Patel", "Maria Garcia", "Wei Chen", "Olu Adeyemi", "Lena Schmidt", "Tom Baker"]
SOURCES = [
    ("google", "cpc"),
    ("google", "organic"),
    ("facebook", "paid social"),
    ("bing", "cpc"),
    ("(direct)", "(none)"),
]
TYPES = ["phone_call", "phone_call", "web_form", "web_form", "chat", "text_message", "email"]


def refuse_production() -> str | None:
    present = [name for name in PRODUCTION if os.environ.get(name)]
    if present:
        return f"demo refuses to start while {', '.join(present)} is set: it is a sandbox, unset them (or use serve)"
    return None


async def leads(slack: FakeSlack, wc: FakeWhatConverts, webhook: str, stop: asyncio.Event) -> None:
    """A steady trickle of realistic leads, each sent by webhook; some calls complete later and get values."""
    rng = random.Random()
    open_calls: list[int] = []
    async with httpx.AsyncClient() as http:
        while not stop.is_set():
            kind = rng.choice(TYPES)
            source, medium = rng.choice(SOURCES)
            fields = {
                "lead_type": kind,
                "contact_name": rng.choice(NAMES),
                "lead_source": source,
                "lead_medium": medium,
            }
            if kind == "phone_call" and rng.random() < 0.5:
                fields["lead_state"] = "In Progress"
            lead = wc.add_lead(**fields)
            # As an account whose webhook is set for New Lead and Update Lead: cards come in a
            # second, and polling is the backstop.
            with contextlib.suppress(httpx.HTTPError):
                await http.post(webhook, json=wc.webhook_payload(lead))
            if fields.get("lead_state") == "In Progress":
                open_calls.append(lead["lead_id"])
            if open_calls and rng.random() < 0.5:
                lead_id = open_calls.pop(0)
                done = wc.update_lead(lead_id, lead_state="Completed", call_duration_seconds=rng.randint(40, 600),
                                      quote_value=rng.choice([None, 250, 1200]))  # fmt: skip
                with contextlib.suppress(httpx.HTTPError):
                    await http.post(webhook, json={**wc.webhook_payload(done, trigger="update")})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rng.uniform(3, 6))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: Ctrl-C cancels `run`, which stops the server in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run(port: int) -> int:
    refusal = refuse_production()
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="whatconverts-demo-") as tmp,
        SandboxSlack() as slack,
        FakeWhatConverts() as wc,
    ):
        slack.add_team(web.TEAM, web.TEAM_NAME)
        for user_id, name in web.PEOPLE.items():
            slack.add_user(web.TEAM, user_id, is_admin=user_id == web.USER, name=name)
        for channel, name in web.CHANNELS.items():
            slack.add_channel(web.TEAM, channel, name=name)
        wc.add_profile_key(TOKEN, SECRET, account="Sandbox Co", profile="Main Site")
        wc.set_daily_limit(TOKEN, None)
        wc.add_lead(date_created="2020-01-01T00:00:00Z")
        signing_secret = secrets.token_hex(16)
        base = f"http://127.0.0.1:{port}"
        settings = load_settings(
            env_file=None,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
            app_base_url=base,
            port=port,
            slack_signing_secret=signing_secret,
            slack_client_id=slack.client_id,
            slack_client_secret=slack.client_secret,
            slack_api_url=slack.api_url,
            slack_authorize_url=slack.authorize_url,
            token_encryption_keys=Fernet.generate_key().decode(),
            whatconverts_api_url=wc.api_url,
            whatconverts_daily_quota=10**6,
            poll_min_interval_seconds=5,
            poll_tick_seconds=1,
            delivery_tick_seconds=0.5,
            escalation_tick_seconds=5,
            log_level="WARNING",
        )
        app = create_app(settings)
        client = SlackClient(base, signing_secret, response_url=slack.response_url("T1/sandbox"), replies=slack)
        app.router.routes.extend(web.routes(slack, client, wc))
        server = _Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
        )
        serving = asyncio.create_task(server.serve())
        stop = asyncio.Event()
        trickle: asyncio.Task[None] | None = None
        try:
            while not server.started:
                if serving.done():
                    return 1
                await asyncio.sleep(0.05)
            assert (await install(base, slack)).status_code == 200
            await connect_key(base, client, token=TOKEN, secret=SECRET)
            await client.ask("subscribe +thread", channel_id="C0LEADS")
            # Calls nobody takes within a minute get a reply in their thread mentioning @grace.
            await client.ask("subscribe calls +compact +sla:1m +escalate:<@U2|grace>", channel_id="C0CALLS")
            webhook = (await client.ask("webhook"))["text"].split("```")[1]
            trickle = asyncio.create_task(leads(slack, wc, webhook.replace(settings.app_base_url, base), stop))
            print(f"WhatConverts for Slack demo: open {base}/sandbox", flush=True)
            print("A fake Slack workspace and a fake WhatConverts account, wired to the real app. Ctrl-C stops it.")
            await asyncio.shield(serving)  # Ctrl-C cancels this wait, never the server itself
        finally:
            # Ctrl-C lands here at any moment, set-up included: the server shuts down through its
            # lifespan (closing the app's clients and database) before the stand-ins and the
            # temporary folder go, so nothing is left running against them.
            server.should_exit = True
            stop.set()
            await serving
            if trickle is not None:
                await trickle
            await client.aclose()
    return 0
