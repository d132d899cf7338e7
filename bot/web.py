"""HTTP routes: Slack's endpoints through Bolt's adapter, plus health, readiness and metrics."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import ids
from bot.services import Services
from storage.health import ping

log = logging.getLogger(__name__)


def routes(services: Services, slack_app: AsyncApp) -> list[Route]:
    handler = AsyncSlackRequestHandler(slack_app)

    async def slack(request: Request) -> Response:
        # slack_sdk's verifier raises on a non-numeric timestamp; that is a bad signature, not a 500.
        if request.method == "POST" and not request.headers.get("x-slack-request-timestamp", "").isdigit():
            return Response("invalid request", status_code=401)
        with services.metrics.request_seconds.time():
            return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with services.sessions() as session:
                await ping(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route(ids.ROUTE_SLACK_EVENTS, slack, methods=["POST"]),
        Route(ids.ROUTE_SLACK_INSTALL, slack, methods=["GET"]),
        Route(ids.ROUTE_SLACK_OAUTH_REDIRECT, slack, methods=["GET"]),
        Route(ids.ROUTE_HEALTHZ, healthz, methods=["GET"]),
        Route(ids.ROUTE_READYZ, readyz, methods=["GET"]),
        Route(ids.ROUTE_METRICS, metrics, methods=["GET"]),
    ]
