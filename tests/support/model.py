"""The app outside pytest's fixtures, for model tests whose hypothesis examples each need a fresh one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.alerts.filters import Filters, to_json
from bot.app import build_services
from bot.services import Services
from storage import connections, polling, subscriptions
from storage.db import transaction
from storage.migrate import upgrade
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.install import seed_installation
from tests.support.settings import make_settings


@dataclass
class Standalone:
    slack: FakeSlack
    wc: FakeWhatConverts
    services: Services
    url: str
    connection_id: int

    async def poll_due(self, now: datetime) -> None:
        """The connection's next poll is due at `now`."""
        async with transaction(self.services.sessions) as session:
            await polling.reschedule(session, connection_id=self.connection_id, next_run_at=now)


@asynccontextmanager
async def standalone(
    db: Path, *, start: datetime, channels: Sequence[tuple[str, Filters]]
) -> AsyncIterator[Standalone]:
    """The fakes, a migrated SQLite database at `db` and the app's services: workspace T1 installed (its
    token good for days), the profile key connected by U1 and each (channel, filters) subscribed from
    `start`. Everything is closed after."""
    with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as slack, FakeWhatConverts() as wc:
        slack.add_team("T1")
        wc.add_profile_key(PROFILE_TOKEN, PROFILE_SECRET)
        url = f"sqlite+aiosqlite:///{db}"
        await asyncio.to_thread(upgrade, url)
        services = build_services(make_settings(url, slack, wc))
        try:
            await seed_installation(services, slack, expires_in=10**6)  # days: past any time a model travels
            async with transaction(services.sessions) as session:
                conn = await connections.create_connection(
                    session, team_id="T1", label="main", kind="api_key", owner_user_id="U1",
                    api_token=PROFILE_TOKEN, api_secret=PROFILE_SECRET,
                )  # fmt: skip
                for channel, rules in channels:
                    await subscriptions.create_subscription(
                        session, team_id="T1", connection_id=conn.id, channel_id=channel, filters_json=to_json(rules),
                        created_by="U1", start_at=start,
                    )  # fmt: skip
            assert conn.id is not None
            yield Standalone(slack, wc, services, url, conn.id)
        finally:
            await services.aclose()
