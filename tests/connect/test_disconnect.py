"""Disconnecting: a confirmation button, permissions checked again, credentials deleted."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_link, submit_key
from tests.support.constants import PROFILE_SECRET, PROFILE_TOKEN
from tests.support.oauth import authorize, callback
from tests.support.settings import make_settings, oauth_overrides


def press(reply: dict, action_id: str, *, user_id: str, response_url: str) -> dict:
    """A block_actions payload for pressing the button `action_id` of an ephemeral reply."""
    for block in reply["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {
                    "type": "block_actions",
                    "user": {"id": user_id, "team_id": "T1"},
                    "team": {"id": "T1", "domain": "acme"},
                    "api_app_id": "A1",
                    "container": {"type": "message", "channel_id": "C1", "is_ephemeral": True},
                    "channel": {"id": "C1", "name": "leads"},
                    "response_url": response_url,
                    "trigger_id": "1.2.3",
                    "actions": [{**element, "block_id": "b", "action_ts": "1.2"}],
                }
    raise AssertionError(f"no button {action_id}")


async def _connected(app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.add_lead()
    link = await connect_link(slack)
    assert (await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET))[1].status_code == 200


async def test_disconnect_asks_then_deletes_the_credentials(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str,
) -> None:  # fmt: skip
    await _connected(app_url, slack, fake_wc)
    ask = await slack.ask("disconnect")
    assert "Disconnect `main-site`?" in ask["text"] and "delete the API key in WhatConverts" in ask["text"]
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1  # asking changes nothing

    url = fake_slack.response_url("T1/disc/1")
    mark = fake_slack.mark()
    pressed = await slack.interaction(press(ask, "disconnect_confirm", user_id="U1", response_url=url))

    assert pressed.status_code == 200
    answer = (await fake_slack.next_call(mark)).params
    assert answer["replace_original"] is True and "Disconnected `main-site`" in answer["text"]
    assert (await rawdb.dump(sqlite_url))["connections"] == []
    assert "No WhatConverts account is connected" in (await slack.ask("status"))["text"]
    mark = fake_slack.mark()
    again = await slack.interaction(press(ask, "disconnect_confirm", user_id="U1", response_url=url))
    assert again.status_code == 200
    stale = (await fake_slack.next_call(mark)).params
    assert "already removed" in stale["text"] and stale["replace_original"] is False


async def test_cancel_keeps_the_connection(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str,
) -> None:  # fmt: skip
    await _connected(app_url, slack, fake_wc)
    ask = await slack.ask("disconnect main-site")

    mark = fake_slack.mark()
    await slack.interaction(press(ask, "disconnect_cancel", user_id="U1", response_url=fake_slack.response_url()))

    answer = (await fake_slack.next_call(mark)).params
    assert "Nothing was disconnected" in answer["text"]
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1


async def test_a_member_cannot_disconnect_someone_elses_connection(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    sqlite_url: str,
) -> None:  # fmt: skip
    await _connected(app_url, slack, fake_wc)
    ask_as_admin = await slack.ask("disconnect")

    refused = await slack.ask("disconnect", user_id="U2")
    await slack.interaction(
        press(ask_as_admin, "disconnect_confirm", user_id="U2", response_url=fake_slack.response_url())
    )

    assert "Only workspace admins" in refused["text"]
    answer = (await fake_slack.wait_for_calls("response_url"))[-1].params
    assert "Only workspace admins" in answer["text"] and answer["response_type"] == "ephemeral"
    assert len((await rawdb.dump(sqlite_url))["connections"]) == 1
    unknown = (await slack.ask("disconnect nope"))["text"]
    assert "No connection called `nope`" in unknown


class TestOAuthDisconnect:
    @pytest.fixture
    def settings(self, sqlite_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
        return make_settings(sqlite_url, fake_slack, fake_wc, **oauth_overrides(fake_wc))

    async def test_oauth_tokens_are_revoked(
        self, installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
        sqlite_url: str,
    ) -> None:  # fmt: skip
        fake_wc.add_lead()
        _, back, cookie = await authorize(app_url, await connect_link(slack))
        assert (await callback(app_url, back, cookie)).status_code == 200
        ask = await slack.ask("disconnect")
        assert "OAuth tokens will be revoked" in ask["text"]

        mark = fake_slack.mark()
        await slack.interaction(press(ask, "disconnect_confirm", user_id="U1", response_url=fake_slack.response_url()))

        await fake_slack.next_call(mark)
        assert len(fake_wc.calls_to("/oauth/revoke", method="POST")) == 2
        assert (await rawdb.dump(sqlite_url))["connections"] == []
