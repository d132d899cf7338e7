"""Drive the app the way Slack and a person would: install through OAuth, connect through the web form.

Used by the demo (which sets itself up through the real code paths) and by the tests.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from bot.sandbox.signing import SlackClient
from bot.sandbox.slack import FakeSlack


def local(url: str, app_url: str) -> str:
    """The app hands out APP_BASE_URL links; send them to the app at `app_url` instead."""
    parts = urlsplit(url)
    return f"{app_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def button_url(reply: dict) -> str:
    for block in reply.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("url"):
                return str(element["url"])
    raise AssertionError(f"no link button in {reply}")


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


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


async def connect_link(slack: SlackClient, *, user_id: str = "U1", text: str = "connect") -> str:
    return button_url(await slack.ask(text, user_id=user_id))


async def submit_key(
    app_url: str, link: str, *, token: str, secret: str, label: str = ""
) -> tuple[httpx.Response, httpx.Response]:
    """Open the link, then submit the API-key form from the same browser; returns (page, result)."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(local(link, app_url))
        result = await browser.post(
            f"{app_url}/whatconverts/connect",
            data={"state": state_of(link), "api_token": token, "api_secret": secret, "label": label},
            # The cookie may be Secure (an https APP_BASE_URL); carry it by hand over loopback http.
            headers={"cookie": f"wcs_connect={page.cookies.get('wcs_connect', '')}"},
        )
    return page, result


async def connect_key(app_url: str, slack: SlackClient, *, token: str, secret: str, text: str = "connect") -> None:
    """Connect an API key end to end, as an admin (U1) would."""
    link = await connect_link(slack, text=text)
    _, result = await submit_key(app_url, link, token=token, secret=secret)
    assert result.status_code == 200, result.text
