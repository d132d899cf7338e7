"""`GET /slack/install` is open to anyone: the install states it stores are bounded.

At most `INSTALL_STATES_PER_MINUTE` are handed out a minute (then 429, storing nothing), and
expired ones are purged whenever a new one is issued.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine

from bot.config import Settings
from bot.slack.stores import INSTALL_STATES_PER_MINUTE
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.install import install
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def states(url: str) -> int:
    return len((await rawdb.dump(url))["slack_oauth_states"])


async def test_install_links_past_the_rate_get_429_and_store_nothing(
    app_url: str, fake_slack: FakeSlack, database_url: str
) -> None:
    async with httpx.AsyncClient() as browser:
        handed_out = [await browser.get(f"{app_url}/slack/install") for _ in range(INSTALL_STATES_PER_MINUTE)]
        refused = await browser.get(f"{app_url}/slack/install")

        assert {r.status_code for r in handed_out} == {302}
        assert refused.status_code == 429 and "Too many installs" in refused.text
        assert "location" not in refused.headers and "set-cookie" not in refused.headers
        assert await states(database_url) == INSTALL_STATES_PER_MINUTE
        # A minute later installs start again, and the states handed out earlier still work.
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
            assert (await browser.get(f"{app_url}/slack/install")).status_code == 302
            assert (await install(app_url, fake_slack)).status_code == 200


async def test_expired_install_states_are_purged_when_one_is_issued(app_url: str, database_url: str) -> None:
    async with httpx.AsyncClient() as browser:
        for _ in range(5):
            assert (await browser.get(f"{app_url}/slack/install")).status_code == 302
        assert await states(database_url) == 5

        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
            assert (await browser.get(f"{app_url}/slack/install")).status_code == 302

    assert await states(database_url) == 1
