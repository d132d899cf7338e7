"""The landing page, health, readiness and metrics endpoints."""

from __future__ import annotations

import httpx

from bot.app import create_app
from tests.fakes.slack import FakeSlack
from tests.support.pages import read_page
from tests.support.server import serve
from tests.support.settings import make_settings


async def test_healthz_readyz_metrics(app_url: str) -> None:
    async with httpx.AsyncClient(base_url=app_url) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "whatconverts_slack_token_refreshes" in metrics.text


async def test_readyz_fails_when_the_database_is_unreachable(fake_slack: FakeSlack) -> None:
    # PostgreSQL on a closed port: the app must still serve /healthz and report not ready.
    settings = make_settings("postgresql+asyncpg://postgres@127.0.0.1:9/none", fake_slack)
    async with serve(create_app(settings, run_scheduler=False)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "unreachable"


# A link that needs escaping in an attribute: a stray quote or ampersand must not end it early.
PRIVACY = 'https://example.com/privacy?lang=en&x="><script>alert(1)</script>'
SUPPORT = "mailto:help@example.com"


async def test_the_landing_page_starts_an_install_with_slacks_button(app_url: str) -> None:
    async with httpx.AsyncClient(base_url=app_url) as http:
        landing = await http.get("/")

    assert landing.status_code == 200
    assert landing.headers["content-type"].startswith("text/html")
    page = read_page(landing.text)
    # Absolute, on APP_BASE_URL: the host Slack's redirect comes back to, where the install cookie is checked.
    assert page.links["add-to-slack"] == "https://wcs.test/slack/install"
    [button] = page.images
    assert button["alt"] == "Add to Slack"
    assert button["src"] == "https://platform.slack-edge.com/img/add_to_slack.png"
    assert "https://platform.slack-edge.com/img/add_to_slack@2x.png 2x" in button["srcset"]
    assert "/whatconverts connect" in page.text
    assert "script" not in page.tags
    policy = landing.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "img-src https://platform.slack-edge.com" in policy
    assert "script-src" not in policy
    # No privacy or support link is configured: none is shown (rather than a dead one).
    assert "privacy" not in page.links and "support" not in page.links


async def test_the_landing_page_links_privacy_policy_and_support_escaped(
    sqlite_url: str, fake_slack: FakeSlack
) -> None:
    settings = make_settings(sqlite_url, fake_slack, privacy_policy_url=PRIVACY, support_url=SUPPORT)
    async with serve(create_app(settings, run_scheduler=False)) as url, httpx.AsyncClient(base_url=url) as http:
        landing = await http.get("/")

    page = read_page(landing.text)
    assert page.links["privacy"] == PRIVACY
    assert page.links["support"] == SUPPORT
    assert "<script>" not in landing.text and "script" not in page.tags
