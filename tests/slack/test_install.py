"""Installing, reinstalling and uninstalling the app in a workspace, end to end through the fakes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import time_machine

from bot.app import create_app
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.connect import connect_link, submit_key
from tests.support.constants import CLIENT_SECRET, PROFILE_SECRET, PROFILE_TOKEN
from tests.support.install import install
from tests.support.pages import read_page
from tests.support.server import serve
from tests.support.settings import make_settings


async def test_install_stores_encrypted_tokens_and_authorizes_commands(
    app_url: str, fake_slack: FakeSlack, slack: SlackClient, sqlite_url: str
) -> None:
    done = await install(app_url, fake_slack)

    assert done.status_code == 200
    rows = (await rawdb.dump(sqlite_url))["slack_installations"]
    assert len(rows) == 1 and rows[0]["team_id"] == "T1" and rows[0]["installer_user_id"] == "U1"
    raw = await rawdb.dump_text(sqlite_url)
    for token in fake_slack.active_tokens("T1"):
        assert token not in raw
    assert "xoxb-" not in raw and "xoxe-" not in raw and CLIENT_SECRET not in raw

    reply = await slack.command("help", team_id="T1")
    assert reply.status_code == 200
    assert reply.json()["response_type"] == "ephemeral"
    assert "`/whatconverts help`" in reply.json()["text"]
    # Bolt's OAuth flow calls auth.test once at install; our authorize reads the stored token, no more calls.
    assert len(fake_slack.calls_to("auth.test")) == 1


async def test_reinstall_keeps_one_current_installation_and_its_first_installer(
    app_url: str, fake_slack: FakeSlack, slack: SlackClient, sqlite_url: str
) -> None:
    await install(app_url, fake_slack)
    first = (await rawdb.dump(sqlite_url))["slack_installations"][0]
    await install(app_url, fake_slack, user_id="U2")

    rows = (await rawdb.dump(sqlite_url))["slack_installations"]
    assert len(rows) == 1
    assert rows[0]["installer_user_id"] == "U1"  # running the install flow again grants nothing
    assert rows[0]["bot_token"] != first["bot_token"]
    assert (await slack.command("help")).status_code == 200


async def test_uninstall_deletes_tokens_and_later_requests_get_a_polite_answer(
    app_url: str, fake_slack: FakeSlack, slack: SlackClient, sqlite_url: str
) -> None:
    await install(app_url, fake_slack)
    link = await connect_link(slack)
    assert (await submit_key(app_url, link, token=PROFILE_TOKEN, secret=PROFILE_SECRET))[1].status_code == 200

    response = await slack.event({"type": "app_uninstalled"}, team_id="T1")
    assert response.status_code == 200
    for _ in range(100):
        if not (await rawdb.dump(sqlite_url))["slack_installations"]:
            break
        await asyncio.sleep(0.05)
    assert (await rawdb.dump(sqlite_url))["slack_installations"] == []
    assert (await rawdb.dump(sqlite_url))["connections"] == []  # WhatConverts credentials go too

    later = await slack.command("help", team_id="T1")
    assert later.status_code == 200
    answers = [c.params for c in fake_slack.calls_to("response_url")]
    shown = later.text + repr(answers)
    assert "isn't installed" in shown


async def test_expired_state_is_refused(app_url: str, fake_slack: FakeSlack, sqlite_url: str) -> None:
    fake_slack.authorize_as(team_id="T1", user_id="U1")
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{app_url}/slack/install")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
            late = await browser.get(
                f"{app_url}/slack/oauth_redirect",
                params={"code": fake_slack.issue_code(), "state": state},
                headers={"cookie": f"slack-app-oauth-state={state}"},
            )
    assert late.status_code >= 400
    assert (await rawdb.dump(sqlite_url))["slack_installations"] == []


async def test_forged_or_reused_state_stores_nothing(app_url: str, fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with httpx.AsyncClient() as browser:
        forged = await browser.get(
            f"{app_url}/slack/oauth_redirect",
            params={"code": fake_slack.issue_code(), "state": "forged"},
            headers={"cookie": "slack-app-oauth-state=forged"},
        )
    assert forged.status_code >= 400

    first = await install(app_url, fake_slack)
    assert first.status_code == 200
    replay_state = first.request.url.params["state"]
    async with httpx.AsyncClient() as browser:
        replay = await browser.get(
            f"{app_url}/slack/oauth_redirect",
            params={"code": fake_slack.issue_code(), "state": replay_state},
            headers={"cookie": f"slack-app-oauth-state={replay_state}"},
        )
    assert replay.status_code >= 400
    rows = (await rawdb.dump(sqlite_url))["slack_installations"]
    assert len(rows) == 1


async def test_after_installing_the_page_says_what_to_do_next(app_url: str, fake_slack: FakeSlack) -> None:
    done = await install(app_url, fake_slack)

    assert done.status_code == 200
    page = read_page(done.text)
    assert "Installed in Acme" in page.text
    assert "/whatconverts connect" in page.text and "/whatconverts subscribe" in page.text
    assert "Home tab" in page.text
    assert page.links["open-home"] == f"slack://app?team=T1&id={fake_slack.app_id}&tab=home"
    assert "script" not in page.tags
    assert "default-src 'none'" in done.headers["content-security-policy"]
    # The install cookie is spent: Bolt's deletion header is kept.
    assert "slack-app-oauth-state=deleted" in done.headers["set-cookie"]


async def test_the_install_pages_escape_the_workspace_name_and_link_privacy_and_support(
    sqlite_url: str, fake_slack: FakeSlack
) -> None:
    fake_slack.add_team("T9", '<img src=x onerror=alert(1)> & "Co"')
    fake_slack.add_user("T9", "U9", is_admin=True)
    settings = make_settings(
        sqlite_url, fake_slack, privacy_policy_url="https://example.com/privacy", support_url="mailto:help@example.com"
    )
    async with serve(create_app(settings, run_scheduler=False)) as url:
        done = await install(url, fake_slack, team_id="T9", user_id="U9")

    page = read_page(done.text)
    assert '<img src=x onerror=alert(1)> & "Co"' in page.text  # shown as text…
    assert "<img src=x" not in done.text and page.images == []  # …never as markup
    assert page.links["privacy"] == "https://example.com/privacy"
    assert page.links["support"] == "mailto:help@example.com"


async def test_a_cancelled_install_says_so_and_offers_a_fresh_start(
    app_url: str, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    fake_slack.authorize_as(team_id="T1", user_id="U1", deny=True)
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{app_url}/slack/install")
        cookie = start.headers["set-cookie"].split(";")[0]
        denied = await browser.get(start.headers["location"])
        back = urlsplit(denied.headers["location"])
        page = await browser.get(f"{app_url}{back.path}?{back.query}", headers={"cookie": cookie})

    shown = read_page(page.text)
    assert "cancelled" in shown.text
    assert shown.links["start-again"] == "https://wcs.test/slack/install"
    assert (await rawdb.dump(sqlite_url))["slack_installations"] == []


async def test_an_unknown_error_from_the_redirect_is_never_echoed(app_url: str) -> None:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(
            f"{app_url}/slack/oauth_redirect", params={"error": "<script>alert(1)</script>", "state": "x"}
        )

    assert "<script>" not in page.text and "alert(1)" not in page.text
    assert "Slack could not complete the install" in read_page(page.text).text


async def test_an_install_finished_in_another_browser_is_explained(app_url: str, fake_slack: FakeSlack) -> None:
    fake_slack.authorize_as(team_id="T1", user_id="U1")
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{app_url}/slack/install")
        approved = await browser.get(start.headers["location"])
    async with httpx.AsyncClient() as other_browser:  # without the install cookie
        page = await other_browser.get(f"{app_url}/slack/oauth_redirect?{urlsplit(approved.headers['location']).query}")

    assert page.status_code == 400
    assert "didn't start in this browser" in read_page(page.text).text
