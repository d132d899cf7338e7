"""Only correctly signed, fresh requests get through; everything else is a 401 with no side effect."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from slack_bolt.async_app import AsyncBoltRequest

from bot.app import create_app
from bot.config import Settings
from bot.ids import ROUTE_SLACK_EVENTS
from tests.fakes.signing import SlackClient, SlackSigner, command_body, event_body
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.constants import SIGNING_SECRET
from tests.support.install import install
from tests.support.raw_signing import signed_headers


@pytest.fixture
async def installed(app_url: str, fake_slack: FakeSlack) -> None:
    await install(app_url, fake_slack)
    fake_slack.clear()


def _bad_requests() -> dict[str, tuple[str, dict[str, str]]]:
    body, content_type = command_body("help", response_url="http://127.0.0.1:9/hooks/x")
    good = SlackSigner(SIGNING_SECRET).headers(body, content_type=content_type)
    now = int(time.time())
    return {
        "unsigned": (body, {"content-type": content_type}),
        "wrong secret": (body, SlackSigner("not-the-secret").headers(body, content_type=content_type)),
        "tampered body": (body.replace("help", "status"), good),
        "six minutes old": (body, SlackSigner(SIGNING_SECRET).headers(body, now - 360, content_type=content_type)),
        "six minutes ahead": (body, SlackSigner(SIGNING_SECRET).headers(body, now + 360, content_type=content_type)),
        "garbage timestamp": (body, {**good, "x-slack-request-timestamp": "yesterday"}),
    }


@pytest.mark.parametrize("case", list(_bad_requests()))
async def test_bad_signatures_are_refused_and_nothing_runs(
    case: str, installed: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    body, headers = _bad_requests()[case]

    response = await slack.post_raw(body, headers)

    assert response.status_code == 401
    assert fake_slack.calls == []


async def test_unsigned_event_is_not_recorded(
    installed: None, slack: SlackClient, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    body, content_type = event_body({"type": "app_uninstalled"}, event_id="EvForged")

    response = await slack.post_raw(body, {"content-type": content_type})

    assert response.status_code == 401
    dump = await rawdb.dump(sqlite_url)
    assert dump["slack_events"] == []
    assert len(dump["slack_installations"]) == 1


async def _post(app_url: str, body: bytes, headers: dict[str, str | bytes]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app_url) as http:
        return await http.post(ROUTE_SLACK_EVENTS, content=body, headers=headers)


@pytest.mark.parametrize(("signed", "expected"), [(False, 401), (True, 400)], ids=["unsigned", "signed"])
async def test_a_body_that_is_not_utf8_is_refused_and_nothing_runs(
    signed: bool, expected: int, installed: None, app_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    text, content_type = command_body("help", response_url="http://127.0.0.1:9/hooks/x")
    body = text.encode() + b"&text=\xff\xfe"
    if signed:
        headers: dict[str, str | bytes] = {**signed_headers(body, SIGNING_SECRET, content_type=content_type)}
    else:
        headers = {"content-type": content_type, "x-slack-request-timestamp": str(int(time.time()))}

    response = await _post(app_url, body, headers)

    assert response.status_code == expected
    assert fake_slack.calls == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


async def test_a_timestamp_of_superscript_digits_is_refused(
    installed: None, app_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = command_body("help", response_url="http://127.0.0.1:9/hooks/x")
    # "²³".isdigit() is True; latin-1 is how the server decodes header bytes, so it arrives as "²³".
    headers: dict[str, str | bytes] = {
        **SlackSigner(SIGNING_SECRET).headers(body, content_type=content_type),
        "x-slack-request-timestamp": "²³".encode("latin-1"),
    }

    response = await _post(app_url, body.encode(), headers)

    assert response.status_code == 401
    assert fake_slack.calls == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


async def test_bolts_own_check_never_logs_an_unverified_body(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Our check runs first, so Bolt's never fails today; if it ever did, the body must stay out of the log.
    caplog.set_level(logging.DEBUG)
    slack_app = create_app(settings, run_scheduler=False).state.slack_app
    body, content_type = command_body("canary-bolt-body-51c7", response_url="http://127.0.0.1:9/hooks/x")
    headers = SlackSigner("not-the-secret").headers(body, content_type=content_type)

    response = await slack_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    assert response.status == 401
    assert "canary-bolt-body-51c7" not in caplog.text
