"""A workspace is never lost to a routine Slack event (platform-truths S1-S5), end to end.

Token rotation refreshes every workspace twice a day and `oauth.v2.access` fails now and then;
`token_expired` means refresh and retry; `tokens_revoked` does not uninstall the app; anyone who
may add apps can run the install flow again; and Slack delivers events late. Each test drives
the app with signed requests and the poller and sender, against the fake Slack behaving so.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from bot.config import Settings
from storage.db import transaction
from storage.models import SlackInstallation
from storage.types import utcnow
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.install import install
from tests.support.outbox import cards_in, new_leads, rows, subscribed, unpaced
from tests.support.settings import make_settings
from tests.support.waiting import eventually

__all__ = ["subscribed"]  # a fixture, used by name


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc)


async def expiring_soon(app: Starlette) -> None:
    """The stored token is an hour from expiry, so the next use refreshes it (2 hours ahead)."""
    async with transaction(app.state.services.sessions) as session:
        await session.execute(update(SlackInstallation).values(bot_token_expires_at=utcnow() + timedelta(hours=1)))
    app.state.services.tokens.forget()


def shown(reply: object, fake_slack: FakeSlack) -> str:
    """What a user saw for a command: the ack's body and whatever went to response URLs."""
    return repr(reply) + repr([c.params for c in fake_slack.calls_to("response_url")])


async def test_a_failed_refresh_costs_nothing_cards_and_commands_go_on(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    await expiring_soon(app)
    fake_slack.fail_next("oauth.v2.access", "internal_error")
    old_token = fake_slack.active_tokens("T1")[-1]

    status = await slack.ask("status")
    await new_leads(app, fake_wc, 1)
    report = await unpaced(app).run()

    assert len(fake_slack.calls_to("oauth.v2.access")) == 1 and fake_slack.refresh_count("T1") == 0
    assert "main-site* — API key, profile — healthy" in status["text"]
    assert report.sent == 1 and len(cards_in(fake_slack, "C1")) == 1
    assert fake_slack.calls_to("chat.postMessage")[-1].token == old_token  # the current token served
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "active" and installation["refresh_failures"] == 1
    assert len(await rows(database_url, "subscriptions")) == 1


async def test_token_expired_on_a_post_refreshes_and_the_card_is_delivered_once(
    subscribed: None, app: Starlette, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    [lead] = await new_leads(app, fake_wc, 1)
    old_token = fake_slack.active_tokens("T1")[-1]
    fake_slack.expire_token(old_token)  # Slack's clock says 12 hours, whatever ours said

    report = await unpaced(app).run()

    posts = fake_slack.calls_to("chat.postMessage")
    assert [p.token == old_token for p in posts] == [True, False]
    assert fake_slack.refresh_count("T1") == 1
    assert report.sent == 1 and len(cards_in(fake_slack, "C1")) == 1
    assert str(lead["lead_id"]) in repr(cards_in(fake_slack, "C1")[0])
    [delivery] = await rows(database_url, "deliveries")
    assert delivery["status"] == "sent" and delivery["attempts"] == 1 and not delivery["uncertain"]


async def test_tokens_revoked_keeps_everything_and_a_reinstall_resumes_delivery(
    subscribed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    before = await slack.ask("list all")
    event = fake_slack.revoke_bot_tokens("T1")

    assert (await slack.event(event)).status_code == 200

    async def revoked() -> dict | None:
        [row] = await rows(database_url, "slack_installations")
        return row if row["status"] == "needs_reinstall" else None

    installation = await eventually(revoked)  # the listener runs after the ack
    assert installation and installation["status"] == "needs_reinstall" and installation["bot_token"] is None
    assert len(await rows(database_url, "connections")) == 1
    meanwhile = await slack.command("list all")
    assert "install it again" in shown(meanwhile.text, fake_slack)
    [waited] = await new_leads(app, fake_wc, 1)
    assert (await unpaced(app).run()).sent == 0  # no token: the card waits, nothing is posted
    assert fake_slack.calls_to("chat.postMessage") == []

    assert (await install(app_url, fake_slack)).status_code == 200
    after = await slack.ask("list all")
    [new] = await new_leads(app, fake_wc, 1)
    report = await unpaced(app).run()

    assert after["text"].startswith(before["text"])  # the same subscriptions (and a waiting card)
    assert report.sent == 2
    posted = repr(cards_in(fake_slack, "C1"))
    assert str(waited["lead_id"]) in posted and str(new["lead_id"]) in posted
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "active" and installation["installer_user_id"] == "U1"


async def test_a_members_reinstall_grants_no_admin_rights(
    subscribed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    home = {"type": "app_home_opened", "tab": "home", "channel": "D1"}
    await slack.event({**home, "user": "U1"})
    [admin_home] = await fake_slack.wait_for_calls("views.publish", 1)
    assert "/whatconverts/webhook/" in repr(admin_home.params["view"])  # what an admin sees

    assert (await install(app_url, fake_slack, user_id="U2")).status_code == 200
    disconnect = await slack.ask("disconnect", user_id="U2")
    webhook = await slack.ask("webhook", user_id="U2")
    await slack.event({**home, "user": "U2"})
    member_home = (await fake_slack.wait_for_calls("views.publish", 2))[1]

    for reply in (disconnect, webhook):
        assert "Only workspace admins and owners" in reply["text"]
    assert member_home.params["user_id"] == "U2"
    assert "/whatconverts/webhook/" not in repr(member_home.params["view"])
    assert "Connect an account" not in repr(member_home.params["view"])


@pytest.mark.parametrize("kind", ["tokens_revoked", "app_uninstalled"])
async def test_a_late_event_for_an_old_token_leaves_the_newer_installation(
    kind: str,
    subscribed: None,
    app: Starlette,
    app_url: str,
    slack: SlackClient,
    fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:
    # Slack revoked the old token a while ago; the workspace reinstalled before the event arrived.
    revoked = fake_slack.revoke_bot_tokens("T1")
    assert (await install(app_url, fake_slack)).status_code == 200
    event = revoked if kind == "tokens_revoked" else {"type": "app_uninstalled"}

    assert (await slack.event(event, event_time=int(time.time()) - 30)).status_code == 200

    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "active" and installation["bot_token"] is not None
    assert len(await rows(database_url, "connections")) == 1
    assert "healthy" in (await slack.ask("status"))["text"]
    await new_leads(app, fake_wc, 1)
    assert (await unpaced(app).run()).sent == 1


async def test_a_dead_refresh_token_is_shown_to_admins_and_nothing_is_deleted(
    subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, database_url: str
) -> None:
    await expiring_soon(app)
    fake_slack.fail_next("oauth.v2.access", "invalid_refresh_token")

    status = await slack.ask("status")

    assert "needs a reinstall" in status["text"] and "invalid_refresh_token" in status["text"]
    assert "/slack/install" in repr(status["blocks"][0])
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "U1"]
    assert len(dms) == 1 and "reinstalled" in dms[0].params["text"]
    assert len(await rows(database_url, "subscriptions")) == 1
    [installation] = await rows(database_url, "slack_installations")
    assert installation["status"] == "needs_reinstall" and installation["bot_token"] is not None


async def test_app_uninstalled_still_deletes_the_workspace(
    subscribed: None, slack: SlackClient, database_url: str
) -> None:
    assert (await slack.event({"type": "app_uninstalled"})).status_code == 200

    async def gone() -> bool:
        return await rows(database_url, "slack_installations") == []

    assert await eventually(gone)  # the listener runs after the ack
    assert await rows(database_url, "connections") == [] and await rows(database_url, "subscriptions") == []
