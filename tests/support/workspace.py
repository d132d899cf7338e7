"""A workspace set up as people do it — installed, an API key connected, a channel subscribed — then left.

The app runs in-process only for the set-up; what the test exercises next runs as its own processes.
"""

from __future__ import annotations

import re
import time

from bot.app import create_app
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN, SIGNING_SECRET
from tests.support.install import install
from tests.support.server import serve
from tests.support.settings import make_settings

# A quota no poll interval is stretched for, so a lead is polled within a second or two.
UNMETERED = 10**7


async def seed_workspace(database_url: str, slack: FakeSlack, wc: FakeWhatConverts, *, channel: str = "C1") -> None:
    """T1 installed by U1, the profile key connected and `channel` subscribed to its leads."""
    wc.set_daily_limit(PROFILE_TOKEN, None)
    app = create_app(make_settings(database_url, slack, wc, whatconverts_daily_quota=UNMETERED), run_scheduler=False)
    async with (
        serve(app) as url,
        SlackClient(url, SIGNING_SECRET, response_url=slack.response_url(), replies=slack) as client,
    ):
        assert (await install(url, slack)).status_code == 200
        await connect_key(url, client, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
        reply = await client.ask("subscribe", channel_id=channel)
        assert "now gets new leads" in reply["text"], reply
    slack.clear()


def wait_for_lead(slack: FakeSlack, channel: str, lead_id: int, timeout: float = 30) -> dict:
    """The parameters of the `chat.postMessage` that put the card for `lead_id` in `channel`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in slack.calls_to("chat.postMessage"):
            if call.params.get("channel") == channel and re.search(rf"Lead #{lead_id}\b", repr(call.params)):
                return dict(call.params)
        time.sleep(0.2)
    raise AssertionError(f"lead {lead_id} was not posted to {channel} within {timeout} s")
