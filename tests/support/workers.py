"""`whatconverts-slack worker` processes for scale-out and crash tests, pointed at the fakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key
from tests.support.constants import (
    CLIENT_ID,
    CLIENT_SECRET,
    ENCRYPTION_KEY,
    PROFILE_SECRET,
    PROFILE_TOKEN,
    SIGNING_SECRET,
)

SCRIPT = str(Path(sys.executable).parent / "whatconverts-slack")


async def subscribe_channels(
    app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, channels: Sequence[str],
    options: str = "",
) -> None:  # fmt: skip
    """Before starting workers: the profile key connected (quota unlimited) and each channel subscribed
    (`subscribe <options>`); Slack's record of all that cleared."""
    fake_wc.set_daily_limit(PROFILE_TOKEN, None)
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")  # history: names the profile, never delivered
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
    for channel in channels:
        fake_slack.add_channel("T1", channel, name=channel.lower())
        reply = await slack.ask(f"subscribe {options}".strip(), channel_id=channel)
        assert "now gets new leads" in reply["text"], reply["text"]
    fake_slack.clear()


def worker_env(database_url: str, slack: FakeSlack, wc: FakeWhatConverts, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WHATCONVERTS_", "POLL_", "DELIVERY_"))}
    env.update(
        DATABASE_URL=database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        TOKEN_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        SLACK_API_URL=slack.api_url,
        WHATCONVERTS_API_URL=wc.api_url,
        POLL_TICK_SECONDS="0.3",
        DELIVERY_TICK_SECONDS="0.3",
        POLL_MIN_INTERVAL_SECONDS="1",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


class Worker:
    """One worker process; `kill()` is SIGKILL (no cleanup), `stop()` is a clean SIGTERM."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen([SCRIPT, "worker"], env=env, stdout=self._log, stderr=self._log)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._log.close()
        return code
