"""The floor for webhook posts: bare Starlette on uvicorn that reads each body as JSON and answers 200.

Run as its own process, like the app: `python -m bench.webhook_floor PORT`. The webhook
benchmark sends it the same posts from the same load generator in the same run, so the app's
time to 200 can be read against what this machine needs just to accept and answer them.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def webhook(request: Request) -> JSONResponse:
    json.loads(await request.body())
    return JSONResponse({"ok": True})


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/whatconverts/webhook/{token}", webhook, methods=["POST"]), Route("/healthz", healthz)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
