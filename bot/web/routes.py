"""HTTP routes: Slack's endpoints through Bolt's adapter, the landing page, health, readiness and metrics."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import ids
from bot.services import Services
from bot.slack import signature as slack_signature
from bot.web import install as install_web
from bot.web import limits
from storage.health import Probe

log = logging.getLogger(__name__)


def routes(services: Services, slack_app: AsyncApp) -> list[Route]:
    handler = AsyncSlackRequestHandler(slack_app)
    assert services.settings.slack_signing_secret
    signing_secret = services.settings.slack_signing_secret.get_secret_value()
    # Bolt checks the signature again and, when that fails, logs the whole body at INFO. Ours runs
    # first so it never fails, but an unverified body must not reach the log even if that changes.
    # Bolt copies the root level onto this logger when the app is built, hence after building it.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)

    async def bolt(request: Request) -> Response:
        with services.metrics.request_seconds.time():
            return await handler.handle(request)

    async def slack_events(request: Request) -> Response:
        body = await limits.read_capped(request, limits.MAX_SLACK_BODY_BYTES)
        if body is None:
            return limits.too_large()
        # Nothing looks at an unverified body: not a decoder, not Bolt, not a log line.
        if not slack_signature.is_valid(signing_secret, headers=request.headers, body=body):
            return Response("invalid request", status_code=401)
        if not _is_utf8(body):
            # Bolt decodes without asking; a signed body it can't decode is a bad request, not a 500.
            return Response("invalid request body", status_code=400)
        return await bolt(limits.with_body(request, body))

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    probe = Probe(services.sessions)

    async def readyz(request: Request) -> Response:
        """503 unless the database answers, is migrated, and (where it runs) the scheduler makes progress."""
        body: dict[str, object] = {"status": "ok", "database": await probe()}
        scheduler = getattr(request.app.state, "scheduler", None)
        if scheduler is not None:
            stalled = scheduler.stalled()
            body["scheduler"] = "stalled" if stalled else "ok"
            if stalled:
                body["stalled"] = stalled
        if body["database"] != "ok" or body.get("scheduler", "ok") != "ok":
            return JSONResponse({**body, "status": "unavailable"}, status_code=503)
        return JSONResponse(body)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        *install_web.routes(services.settings),
        Route(ids.ROUTE_SLACK_EVENTS, slack_events, methods=["POST"]),
        Route(ids.ROUTE_SLACK_INSTALL, bolt, methods=["GET"]),
        Route(ids.ROUTE_SLACK_OAUTH_REDIRECT, bolt, methods=["GET"]),
        Route(ids.ROUTE_HEALTHZ, healthz, methods=["GET"]),
        Route(ids.ROUTE_READYZ, readyz, methods=["GET"]),
        Route(ids.ROUTE_METRICS, metrics, methods=["GET"]),
    ]


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
