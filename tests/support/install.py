"""Drives a real Slack install through the app's routes and the fake's authorize page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.slack import FakeSlack


async def install(app_url: str, fake: FakeSlack, *, team_id: str = "T1", user_id: str = "U1") -> httpx.Response:
    """/slack/install → Slack's authorize page → /slack/oauth_redirect, as a browser would."""
    fake.authorize_as(team_id=team_id, user_id=user_id)
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{app_url}/slack/install")
        assert start.status_code == 302, start.text
        cookie = start.headers["set-cookie"].split(";")[0]
        approved = await browser.get(start.headers["location"])
        assert approved.status_code == 302, approved.text
        back = urlsplit(approved.headers["location"])
        query = parse_qs(back.query)
        # The redirect URI carries the public APP_BASE_URL; deliver it to the app under test instead.
        return await browser.get(
            f"{app_url}{back.path}",
            params={"code": query["code"][0], "state": query["state"][0]},
            headers={"cookie": cookie},
        )
