"""Builds the Bolt `AsyncApp`: OAuth install, our stores, authorize, boundary and listeners."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.ids import BOT_SCOPES, ROUTE_SLACK_INSTALL, ROUTE_SLACK_OAUTH_REDIRECT
from bot.services import Services
from bot.slack import boundary, messages, middleware, workspaces
from bot.slack.stores import SQLInstallationStore, SQLOAuthStateStore
from bot.slack.tokens import WorkspaceAuthorize


def build_slack_app(
    services: Services,
    *,
    register: Callable[[AsyncApp, Services], None],
    callback_options: AsyncCallbackOptions,
) -> AsyncApp:
    """`register` wires the listeners and `callback_options` renders the install's result pages: both
    are given by the composition root, so this edge knows nothing of what the listeners do."""
    settings = services.settings
    assert settings.slack_client_id and settings.slack_client_secret and settings.slack_signing_secret
    store = SQLInstallationStore(
        sessions=services.sessions,
        client_id=settings.slack_client_id,
        on_saved=lambda team_id: workspaces.reinstalled(services, team_id=team_id),
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.app_base_url + ROUTE_SLACK_OAUTH_REDIRECT,
        install_path=ROUTE_SLACK_INSTALL,
        redirect_uri_path=ROUTE_SLACK_OAUTH_REDIRECT,
        authorization_url=settings.slack_authorize_url,
        install_page_rendering_enabled=False,
        installation_store=store,
        state_store=SQLOAuthStateStore(sessions=services.sessions),
        callback_options=callback_options,
    )
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=services.slack,
        installation_store=store,
        authorize=WorkspaceAuthorize(services.tokens),
        oauth_settings=oauth_settings,
        user_facing_authorize_error_message=messages.NOT_INSTALLED,
    )
    boundary.register(app)
    middleware.register(app, services)
    register(app, services)
    return app
