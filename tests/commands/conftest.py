"""Shared by the command tests: a workspace with the profile key connected and no subscription yet."""

from __future__ import annotations

import pytest

from tests.fakes.signing import SlackClient
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import connect_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN


@pytest.fixture
async def connected(installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    """The profile key connected, its quota unlimited; one old lead names the profile and is never delivered."""
    fake_wc.set_daily_limit(PROFILE_TOKEN, None)
    fake_wc.add_lead(date_created="2020-01-01T00:00:00Z")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET)
