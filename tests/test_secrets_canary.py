"""Log canary: with DEBUG logging everywhere, no secret reaches the log output or the database."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from bot import ids
from bot.alerts.delivery import Sender
from bot.app import create_app
from bot.config import Settings
from bot.connect import credentials
from bot.logs import setup_logging
from storage import connections as store
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import button_url, connect_key, connect_link, local, submit_key
from tests.support.constants import (
    CLIENT_SECRET,
    ENCRYPTION_KEY,
    MASTER_SECRET,
    PROFILE_SECRET,
    PROFILE_TOKEN,
    SIGNING_SECRET,
    WC_OAUTH_CLIENT_SECRET,
)
from tests.support.install import install, seed_installation
from tests.support.oauth import authorize, callback, query
from tests.support.payloads import message_press
from tests.support.server import serve
from tests.support.settings import make_settings, oauth_overrides


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_no_secret_in_debug_logs_or_database(
    fmt: str, captured_logs: io.StringIO, settings: Settings, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    redactor = setup_logging(level="DEBUG", fmt=fmt, stream=captured_logs)
    app = create_app(settings, run_scheduler=False, redactor=redactor)
    async with (
        serve(app) as url,
        SlackClient(url, SIGNING_SECRET, response_url=fake_slack.response_url(), replies=fake_slack) as slack,
    ):
        assert (await install(url, fake_slack)).status_code == 200
        await seed_installation(app.state.services, fake_slack, team_id="T2", expires_in=60)
        assert await app.state.services.bot_client(team_id="T2") is not None  # a refresh, logged at DEBUG
        for text in ("help", "nonsense", "connect"):
            assert (await slack.command(text)).status_code == 200
        await slack.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
        await fake_slack.wait_for_calls("views.publish")
        await asyncio.sleep(0.2)

    logs = captured_logs.getvalue()
    assert "oauth.v2.access" in logs  # slack_sdk did log its request bodies: the filter had work to do
    secrets = [CLIENT_SECRET, SIGNING_SECRET, ENCRYPTION_KEY, *fake_slack.issued_secrets()]
    assert len(secrets) > 6
    leaked = [s for s in secrets if s in logs]
    assert leaked == []
    stored = await rawdb.dump_text(sqlite_url)
    assert [s for s in secrets if s in stored] == []


async def test_whatconverts_secrets_reach_no_log_page_or_slack_call(
    captured_logs: io.StringIO, sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    redactor = setup_logging(level="DEBUG", fmt="text", stream=captured_logs)
    settings = make_settings(sqlite_url, fake_slack, fake_wc, **oauth_overrides(fake_wc))
    fake_wc.add_lead()
    pages: list[str] = []
    app = create_app(settings, run_scheduler=False, redactor=redactor)
    async with (
        serve(app) as url,
        SlackClient(url, SIGNING_SECRET, response_url=fake_slack.response_url(), replies=fake_slack) as slack,
    ):
        assert (await install(url, fake_slack)).status_code == 200
        reply = await slack.ask("connect")
        pages.append(json.dumps(reply))
        landing, back, cookie = await authorize(url, button_url(reply))
        done = await callback(url, back, cookie)
        pages += [landing.text, done.text, str(landing.headers), str(done.headers)]
        async with app.state.services.sessions() as session:
            (row,) = await store.list_connections(session, team_id="T1")
        first_access, first_refresh = row.oauth_access_token, row.oauth_refresh_token
        fake_wc.expire_access_token(first_access)
        services = app.state.services
        await credentials.call_api(services, row, lambda c: services.wc.leads_page(c, leads_per_page=1))
        async with services.sessions() as session:
            (refreshed,) = await store.list_connections(session, team_id="T1")
        pages.append(json.dumps(await slack.ask("status")))

    secrets = [
        PROFILE_SECRET,
        WC_OAUTH_CLIENT_SECRET,
        query(back)["code"],
        first_access,
        first_refresh,
        refreshed.oauth_access_token,
        refreshed.oauth_refresh_token,
    ]
    assert all(secrets) and refreshed.oauth_access_token != first_access
    logs = captured_logs.getvalue()
    assert "oauth/token" in logs  # the token requests were logged: the filter had work to do
    assert [s for s in secrets if s in logs] == []
    assert [s for s in secrets[:1] + secrets[3:] if s in "".join(pages)] == []
    assert [s for s in secrets if s in repr([c.params for c in fake_slack.calls])] == []
    assert [s for s in secrets if s in await rawdb.dump_text(sqlite_url)] == []


async def test_api_key_secret_reaches_no_log_or_page(
    captured_logs: io.StringIO, settings: Settings, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    redactor = setup_logging(level="DEBUG", fmt="json", stream=captured_logs)
    app = create_app(settings, run_scheduler=False, redactor=redactor)
    async with (
        serve(app) as url,
        SlackClient(url, SIGNING_SECRET, response_url=fake_slack.response_url(), replies=fake_slack) as slack,
    ):
        assert (await install(url, fake_slack)).status_code == 200
        link = await connect_link(slack)
        _, wrong = await submit_key(url, link, token=PROFILE_TOKEN, secret=MASTER_SECRET)
        page, right = await submit_key(url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
        status = json.dumps(await slack.ask("status"))

    logs = captured_logs.getvalue()
    assert "GET /api/v1/leads" in logs or "api/v1/leads" in logs
    for secret in (PROFILE_SECRET, MASTER_SECRET):
        assert secret not in logs
        assert secret not in wrong.text + page.text + right.text + status
        assert secret not in repr([c.params for c in fake_slack.calls])
        assert secret not in await rawdb.dump_text(sqlite_url)


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_no_webhook_token_or_response_url_in_debug_logs(
    fmt: str, captured_logs: io.StringIO, database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    redactor = setup_logging(level="DEBUG", fmt=fmt, stream=captured_logs)
    app = create_app(make_settings(database_url, fake_slack, fake_wc), run_scheduler=False, redactor=redactor)
    # A distinct response URL per request, each with a random tail no ordinary log line could contain.
    hooks = [fake_slack.response_url(f"T1/{n}/{secrets.token_hex(12)}") for n in range(5)]
    async with serve(app) as url, SlackClient(url, SIGNING_SECRET, response_url=hooks[0], replies=fake_slack) as slack:
        assert (await install(url, fake_slack)).status_code == 200
        await connect_key(url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
        await slack.ask("subscribe", response_url=hooks[1])
        shown = await slack.ask("webhook", response_url=hooks[2])
        webhook_url = shown["text"].split("```")[1]
        token = webhook_url.rsplit("/", 1)[1]
        published = fake_slack.mark("views.publish")
        await slack.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
        home = await fake_slack.next_call(published, "views.publish")
        lead = fake_wc.add_lead(lead_type="phone_call", contact_name="Hook Caller")
        async with httpx.AsyncClient() as http:
            posted = await http.post(local(webhook_url, url), json=fake_wc.webhook_payload(lead))
        await Sender(app.state.services, spacing=0).tick()
        (card,) = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "C1"]
        (message,) = fake_slack.messages("C1")
        await slack.ask("status", response_url=hooks[3])
        press = message_press(
            card.params, ids.ACTION_LEAD_QUOTABLE, user_id="U1", message_ts=message["ts"], response_url=hooks[4]
        )
        updated = fake_slack.mark("chat.update")
        await slack.interaction(press)
        await fake_slack.next_call(updated, "chat.update")
        await asyncio.sleep(0.2)

    logs = captured_logs.getvalue()
    # The admin was really shown the URL (command and Home), the lead really came in through it, and
    # every command really answered on its response URL (the button's travels only in the payload).
    assert len(token) >= 40 and token in json.dumps(shown) and token in json.dumps(home.params)
    assert posted.status_code == 200 and "Hook Caller" in json.dumps(card.params)
    assert {c.path for c in fake_slack.calls_to("response_url")} >= {urlsplit(h).path for h in hooks[:4]}
    assert "/whatconverts/webhook/[REDACTED]" in logs and "/hooks/[REDACTED]" in logs  # there was work to do
    assert token not in logs
    assert [h for h in hooks if h.rsplit("/", 1)[1] in logs] == []
