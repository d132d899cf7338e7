"""Only correctly signed, fresh requests get through; everything else is a 401 with no side effect."""

from __future__ import annotations

import time

import pytest

from tests.fakes.signing import SlackClient, SlackSigner, command_body, event_body
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.constants import SIGNING_SECRET
from tests.support.install import install


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
