"""What a person sees around the Slack install: the landing page at `/`, and the page Slack's
install redirect lands on (Bolt's OAuth callback), success or not."""

from __future__ import annotations

import logging

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.response import BoltResponse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot import ids
from bot.config import Settings
from bot.web import pages

log = logging.getLogger(__name__)

# No scripts, nothing framed, and no outside resource but Slack's button image.
HEADERS = {
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "content-security-policy": f"default-src 'none'; style-src 'unsafe-inline'; img-src {pages.SLACK_BUTTON_ORIGIN}; "
    "frame-ancestors 'none'",
}


def footer(settings: Settings) -> pages.Footer:
    return pages.Footer(privacy_policy_url=settings.privacy_policy_url, support_url=settings.support_url)


def install_url(settings: Settings) -> str:
    # Absolute: the install must start on the host Slack redirects back to, where its cookie is checked.
    return settings.app_base_url + ids.ROUTE_SLACK_INSTALL


def routes(settings: Settings) -> list[Route]:
    page = pages.landing_page(install_url=install_url(settings), footer=footer(settings))

    async def landing(_: Request) -> Response:
        return HTMLResponse(page, headers=HEADERS)

    return [Route(ids.ROUTE_LANDING, landing, methods=["GET"])]


def callback_options(settings: Settings) -> AsyncCallbackOptions:
    """Our pages for the end of Bolt's OAuth flow, in place of its bare defaults."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        body = pages.installed_page(
            team_name=installation.team_name or installation.enterprise_name,
            team_id=installation.team_id,
            app_id=installation.app_id,
            footer=footer(settings),
        )
        return _response(args.settings.state_utils.build_set_cookie_for_deletion(), body, 200)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.info("Slack install not completed: %r", args.reason[:80])
        body = pages.install_failed_page(reason=args.reason, install_url=install_url(settings), footer=footer(settings))
        cookie = args.settings.state_utils.build_set_cookie_for_deletion()
        return _response(cookie, body, args.suggested_status_code)

    return AsyncCallbackOptions(success=success, failure=failure)


def _response(cookie: str, body: str, status: int) -> BoltResponse:
    headers = {**HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "set-cookie": cookie}
    return BoltResponse(status=status, headers=headers, body=body)
