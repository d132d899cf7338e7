"""Log canary: with DEBUG logging everywhere, no secret reaches the log output or the database."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from bot.app import create_app
from bot.config import Settings
from bot.logs import setup_logging
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.constants import CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET
from tests.support.install import install, seed_installation
from tests.support.server import serve


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
    async with serve(app) as url, SlackClient(url, SIGNING_SECRET, response_url=fake_slack.response_url()) as slack:
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
