"""Web routes of the connect flow: the link's landing page, the API-key form, the OAuth callback."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import ids
from bot.connect import errors as connect_errors
from bot.connect import service as connections
from bot.errors import UserFacingError
from bot.services import Services
from bot.web import limits, pages

log = logging.getLogger(__name__)

COOKIE = "wcs_connect"
MAX_FORM_BYTES = 8192
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
}


def html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def _state(value: object) -> str:
    state = value if isinstance(value, str) else ""
    if not (20 <= len(state) <= 100):
        raise connect_errors.LinkExpired()
    return state


def _same_browser(request: Request, state: str) -> None:
    """The callback must come back to the browser that opened the link (login-CSRF protection)."""
    cookie = request.cookies.get(COOKIE, "")
    if not secrets.compare_digest(cookie.encode(), state.encode()):
        raise UserFacingError(
            "This authorization didn't start in this browser. Open the link from /whatconverts connect again."
        )


def routes(services: Services) -> list[Route]:
    secure_cookie = services.settings.app_base_url.startswith("https://")

    async def landing(request: Request) -> Response:
        state = _state(request.query_params.get("state"))
        link = await connections.open_link(services, state=state)
        if link.oauth_url:
            response: Response = RedirectResponse(link.oauth_url, status_code=302, headers=SECURITY_HEADERS)
        else:
            response = html(pages.connect_form(state=state, label=link.label))
        response.set_cookie(
            COOKIE, state, max_age=600, httponly=True, secure=secure_cookie, samesite="lax", path="/whatconverts"
        )
        return response

    async def submit(request: Request) -> Response:
        body = await limits.read_capped(request, MAX_FORM_BYTES)
        if body is None:
            return limits.closing(html(pages.error_page(title="Too large", message="That form was too large."), 413))
        form = await limits.with_body(request, body).form()
        state = _state(form.get("state"))
        label = str(form.get("label") or "") or None
        try:
            connection = await connections.connect_api_key(
                services,
                state=state,
                token=str(form.get("api_token") or ""),
                secret=str(form.get("api_secret") or ""),
                label=connections.normalize_label(label),
            )
        except connect_errors.InvalidCredentials as exc:
            return html(pages.connect_form(state=state, label=label, error=exc.message), 400)
        except connect_errors.LinkExpired:
            raise
        except UserFacingError as exc:
            return html(pages.connect_form(state=state, label=label, error=exc.message), 400)
        return _success(connection)

    async def callback(request: Request) -> Response:
        error = request.query_params.get("error")
        if error:
            # The provider said no (e.g. access_denied): nothing is stored; the link stays usable.
            shown = error if error.replace("_", "").isalnum() and len(error) < 40 else "unknown_error"
            return html(
                pages.error_page(
                    title="Not connected",
                    message=f"WhatConverts didn't authorize the connection ({shown}). Nothing was stored. "
                    "Run /whatconverts connect in Slack to try again.",
                ),
                400,
            )
        state = _state(request.query_params.get("state"))
        code = request.query_params.get("code") or ""
        if not code or len(code) > 512:
            raise UserFacingError("The authorization response had no code. Run /whatconverts connect again.")
        _same_browser(request, state)
        connection = await connections.connect_oauth(services, state=state, code=code)
        response = _success(connection)
        response.delete_cookie(COOKIE, path="/whatconverts")
        return response

    def _success(connection: connections.Connection) -> Response:
        accounts = [
            str(a.get("account") or a.get("account_id"))
            for a in connections.scope_of(connection)
            if isinstance(a, dict)
        ]
        return html(
            pages.success_page(
                label=connection.label, key_type=connection.key_type, kind=connection.kind, accounts=accounts
            )
        )

    return [
        Route(ids.ROUTE_WC_CONNECT, landing, methods=["GET"]),
        Route(ids.ROUTE_WC_CONNECT, submit, methods=["POST"]),
        Route(ids.ROUTE_WC_OAUTH_CALLBACK, callback, methods=["GET"]),
    ]


async def user_facing_error(request: Request, exc: Exception) -> Response:
    """The web half of the error boundary: a short page and the error's status, never a trace."""
    assert isinstance(exc, UserFacingError)
    return html(pages.error_page(title="Something needs your attention", message=exc.message), exc.status_code)
