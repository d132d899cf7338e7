"""A connect link completes only the connection it was issued for, whatever label the form says.

The form's label names a new connection; it never selects an existing one. Giving an existing
connection a new key takes a link issued for it (`/whatconverts connect LABEL`, or Reconnect on
Home), which only someone allowed to configure that connection gets.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from bot.config import Settings
from bot.connect import service as connections
from storage.db import transaction
from storage.models import Connection
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key, connect_link, submit_key
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.settings import make_settings


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def by_label(url: str) -> dict[str, dict]:
    return {row["label"]: row for row in (await rawdb.dump(url))["connections"]}


async def test_a_link_for_a_new_connection_cannot_take_an_existing_label(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect acme")
    before = await by_label(database_url)
    link = await connect_link(slack)
    api_calls = len(fake_wc.calls)

    _, taken = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET, label="ACME")

    assert taken.status_code == 400
    assert "A connection called &quot;acme&quot; already exists" in taken.text
    assert "/whatconverts connect acme" in taken.text
    assert await by_label(database_url) == before  # acme keeps its key, byte for byte
    assert len(fake_wc.calls) == api_calls  # refused before the key was tried against the API
    # The link is still good, for a label of its own.
    _, made = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET, label="mine")
    assert made.status_code == 200
    after = await by_label(database_url)
    assert sorted(after) == ["acme", "mine"] and after["acme"] == before["acme"]


async def test_a_member_cannot_put_their_key_on_an_admins_connection(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    fake_wc.add_master_key("wc-master-token-2", "canary-wc-master-secret-2e91")  # bob's new key
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect acme")
    await connect_key(app_url, slack, token=PROFILE_TOKEN, secret=PROFILE_SECRET, text="connect bobs")
    # bob (U2, a member) owns `bobs`, so he may reconnect it, and only it.
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(Connection).where(Connection.label == "bobs").values(owner_user_id="U2"))
    before = await by_label(database_url)
    assert "Only workspace admins" in (await slack.ask("connect acme", user_id="U2"))["text"]
    link = await connect_link(slack, user_id="U2", text="connect bobs")

    _, retargeted = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET, label="acme")

    assert retargeted.status_code == 400
    assert "This link reconnects &quot;bobs&quot; and can&#x27;t connect anything else" in retargeted.text
    assert await by_label(database_url) == before
    # The link does what it was issued for: bobs gets the new key, in place.
    _, reconnected = await submit_key(app_url, link, token="wc-master-token-2", secret="canary-wc-master-secret-2e91")
    assert reconnected.status_code == 200
    after = await by_label(database_url)
    assert after["acme"] == before["acme"]
    assert after["bobs"]["id"] == before["bobs"]["id"] and after["bobs"]["owner_user_id"] == "U2"
    assert (before["bobs"]["key_type"], after["bobs"]["key_type"]) == ("profile", "master")


async def test_a_label_taken_after_the_link_was_issued_is_refused(
    installed: None, app_url: str, slack: SlackClient, database_url: str
) -> None:
    first = await connect_link(slack, text="connect acme")
    second = await connect_link(slack, text="connect acme")
    assert (await submit_key(app_url, second, token=MASTER_TOKEN, secret=MASTER_SECRET))[1].status_code == 200
    before = await by_label(database_url)

    _, late = await submit_key(app_url, first, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    assert late.status_code == 400 and "already exists" in late.text
    assert await by_label(database_url) == before


async def test_a_reconnect_link_whose_connection_was_removed_makes_nothing(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, database_url: str
) -> None:
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect acme")
    link = await connect_link(slack, text="connect acme")
    (acme,) = (await rawdb.dump(database_url))["connections"]
    await connections.disconnect(app.state.services, connection_id=acme["id"])

    _, gone = await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET)

    assert gone.status_code == 400 and "The connection this link was for has been removed" in gone.text
    assert (await rawdb.dump(database_url))["connections"] == []
