"""Health, readiness and metrics endpoints."""

from __future__ import annotations

import httpx

from bot.app import create_app
from tests.fakes.slack import FakeSlack
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
