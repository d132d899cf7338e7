"""The composition root: `create_app(settings)` builds every collaborator once, then wires them.

Nothing is built at import time; tests build as many apps as they like, each with its own
engine, clients, metrics registry and scheduler.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot import listeners
from bot.alerts import webhook_route as webhook_web
from bot.alerts import webhooks
from bot.alerts.webhook_inbox import WebhookInbox
from bot.config import SLACK_REQUIRED, Settings
from bot.connect import web as connect_web
from bot.errors import UserFacingError
from bot.logs import Redactor
from bot.metrics import Metrics
from bot.scheduler import build_scheduler
from bot.services import Services
from bot.slack import workspaces
from bot.slack.app import build_slack_app
from bot.slack.tokens import BotTokens
from bot.web import install as install_web
from bot.web.routes import routes
from bot.whatconverts.client import WhatConvertsClient
from bot.whatconverts.keys import KeyIdentities
from bot.whatconverts.oauth import WhatConvertsOAuth
from storage import migrate
from storage.batching import GroupCommit
from storage.connections import count_requests_many
from storage.crypto import Cipher
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


def build_services(settings: Settings, *, redactor: Redactor | None = None) -> Services:
    """Engine, sessions, clients and token service for one process."""
    settings.require(*SLACK_REQUIRED).check_whatconverts_oauth()
    assert settings.slack_client_id and settings.slack_client_secret
    engine = make_engine(settings.database_url, cipher=Cipher(settings.encryption_keys))
    sessions = make_sessionmaker(engine)
    metrics = Metrics()
    slack = AsyncWebClient(
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    tokens = BotTokens(
        sessions=sessions,
        client=slack,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        metrics=metrics,
    )
    if redactor is not None:
        for secret in (
            settings.slack_client_secret,
            settings.slack_signing_secret,
            settings.whatconverts_oauth_client_secret,
        ):
            redactor.add_secret(secret.get_secret_value() if secret else None)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        metrics=metrics,
        slack=slack,
        tokens=tokens,
        wc=WhatConvertsClient(settings.whatconverts_api_url),
        oauth=WhatConvertsOAuth(settings) if settings.whatconverts_oauth_enabled else None,
        redactor=redactor,
        quota=GroupCommit(
            sessions, count_requests_many, name="quota", on_restart=metrics.background_restarts.labels("quota").inc
        ),
        keys=KeyIdentities(sessions),
        webhooks=WebhookInbox(sessions),
    )
    services.webhooks.batch = webhooks.batcher(services)
    tokens.on_reinstall_needed = lambda team_id, reason: workspaces.needs_reinstall(services, team_id, reason)
    return services


def settle_heap() -> None:
    """Take what start-up built (modules, classes, mappers: most of the heap) out of the collector's sight.

    A full collection walks every tracked object: with the whole start-up heap in view it took
    ~100 ms, stalled the event loop at the start of a burst and was most of the webhooks' p99
    (BENCHMARKS.md). Frozen objects are never scanned again; refcounting still frees them. For
    the long-running processes (`serve`, `worker`) once built, not for every app a test builds.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, *, run_scheduler: bool = True, redactor: Redactor | None = None) -> Starlette:
    """The ASGI app: Slack routes, our routes, and (optionally) the scheduler in the same loop."""
    services = build_services(settings, redactor=redactor)
    slack_app = build_slack_app(
        services, register=listeners.register, callback_options=install_web.callback_options(settings)
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        if settings.is_sqlite:
            # One process owns a SQLite file, so it can bring the schema up to date itself.
            # (PostgreSQL is checked by `serve` before it starts: `migrate` is a release step.)
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        scheduler = build_scheduler(services) if run_scheduler else None
        # /readyz reports a stalled scheduler.
        app.state.scheduler = scheduler
        if scheduler:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler:
                await scheduler.stop()
            await services.aclose()

    app = Starlette(
        routes=[*routes(services, slack_app), *connect_web.routes(services), *webhook_web.routes(services)],
        lifespan=lifespan,
        exception_handlers={UserFacingError: connect_web.user_facing_error},
    )
    app.state.services = services
    app.state.slack_app = slack_app
    return app
