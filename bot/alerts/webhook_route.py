"""`POST /whatconverts/webhook/{token}`: read at most 256 KB, answer fast, never echo the request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import ids
from bot.alerts import webhooks
from bot.services import Services
from bot.web import limits


def routes(services: Services) -> list[Route]:
    async def webhook(request: Request) -> Response:
        body = await limits.read_capped(request, webhooks.MAX_BODY)
        if body is None:
            services.metrics.webhooks.labels("too_large").inc()
            return JSONResponse({"ok": False, "error": "body too large"}, status_code=413)
        outcome = await webhooks.receive(services, token=request.path_params["token"], body=body)
        if outcome.status != 200:
            services.metrics.webhooks.labels(f"refused_{outcome.status}").inc()
        return JSONResponse({"ok": outcome.status == 200, "error": None if outcome.status == 200 else outcome.reason},
                            status_code=outcome.status)  # fmt: skip

    return [Route(ids.ROUTE_WC_WEBHOOK, webhook, methods=["POST"])]
