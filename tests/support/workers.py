"""`whatconverts-slack worker` processes for scale-out and crash tests, pointed at the fakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET

SCRIPT = str(Path(sys.executable).parent / "whatconverts-slack")


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
