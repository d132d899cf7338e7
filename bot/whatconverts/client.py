"""WhatConverts REST client: one pooled httpx client per process, errors as a closed vocabulary.

The client persists nothing and knows nothing of Slack. It bounds concurrency (at most 20
requests in flight per key, the API's documented limit, and a global bound) and turns every
failure into one of a few exception types the callers decide on: retry, back off, or re-auth.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from bot.whatconverts import json_bodies
from bot.whatconverts.leads import Lead, integer, mapping, text

PER_KEY_IN_FLIGHT = 20
GLOBAL_IN_FLIGHT = 200
MAX_PER_PAGE = 2500
MAX_PAGES = 40


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class ApiKey:
    """HTTP Basic: API token as user name, API secret as password."""

    token: str
    secret: str = field(repr=False)

    def header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.token}:{self.secret}".encode()).decode()

    @property
    def identity(self) -> str:
        return "key:" + self.token


@dataclass(frozen=True)
class BearerToken:
    """An OAuth access token."""

    access_token: str = field(repr=False)

    def header(self) -> str:
        return "Bearer " + self.access_token

    @property
    def identity(self) -> str:
        return "oauth:" + hashlib.sha256(self.access_token.encode()).hexdigest()[:16]


Credentials = ApiKey | BearerToken


# --------------------------------------------------------------------------- errors


class WhatConvertsError(Exception):
    """Base of every error this client raises; `message` never contains credentials."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WhatConvertsAuthError(WhatConvertsError):
    """401: wrong token/secret, or an expired or revoked OAuth token."""


class WhatConvertsForbidden(WhatConvertsError):
    """403: e.g. a profile key on an agency-only resource."""


class WhatConvertsThrottled(WhatConvertsError):
    """429 (or a refusal that mentions a limit) that doesn't say "daily": WhatConverts' burst limit
    (20 requests at once). Back off this key briefly; `retry_after` is set when the answer said
    when (WhatConverts sends no Retry-After today). Whether it was the daily limit after all is the
    caller's to judge: only it knows how much of the key's quota it has spent."""

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class WhatConvertsQuotaExceeded(WhatConvertsError):
    """The key's daily quota is spent (the answer says so): nothing more until midnight UTC."""

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class WhatConvertsRequestError(WhatConvertsError):
    """400 and other client errors: our bug or a stale id; retrying won't help."""


class WhatConvertsUnavailable(WhatConvertsError):
    """5xx, timeouts and connection failures: transient, retry with backoff."""


class WhatConvertsBadResponse(WhatConvertsError):
    """A body that isn't the JSON we expect; treated as transient."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LeadsPage:
    leads: list[Lead]
    page_number: int
    total_pages: int
    total_leads: int
    unparseable: int = 0


@dataclass(frozen=True)
class Profile:
    profile_id: int
    name: str


@dataclass(frozen=True)
class Account:
    account_id: int
    name: str
    profiles: tuple[Profile, ...]


@dataclass(frozen=True)
class LeadWalk:
    """Every lead of a date range, and how many requests it took."""

    leads: list[Lead]
    requests: int
    unparseable: int


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _limited(response: httpx.Response, message: str) -> WhatConvertsError:
    """A rate-limit refusal: the daily quota only when the answer says "daily", else a throttle.

    WhatConverts documents neither status nor wording; 429 without `Retry-After` is all that is
    known, and a throttle is by far the likelier (and cheaper to be wrong about: a short wait, not
    a lost day).
    """
    kind = WhatConvertsQuotaExceeded if "daily" in message.lower() else WhatConvertsThrottled
    return kind(message, status=response.status_code, retry_after=_retry_after(response))


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = text(body.get("error_message")) if isinstance(body, Mapping) else None
    return (message or f"HTTP {response.status_code}")[:300]


def format_date(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class WhatConvertsClient:
    """Async client for the WhatConverts API v1."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        per_key_in_flight: int = PER_KEY_IN_FLIGHT,
        global_in_flight: int = GLOBAL_IN_FLIGHT,
    ) -> None:
        self._base_url = base_url.rstrip("/") + "/"
        # httpx's own pool costs ~14 ms CPU per request at 100 connections; aiohttp's ~0.6 ms.
        self._http = http or httpx.AsyncClient(
            transport=AiohttpTransport(limits=httpx.Limits(max_connections=global_in_flight)),
            timeout=httpx.Timeout(timeout),
            headers={"accept": "application/json", "user-agent": "whatconverts-slack"},
        )
        self._per_key_in_flight = per_key_in_flight
        self._global = asyncio.Semaphore(global_in_flight)
        self._per_key: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._per_key_in_flight)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        url = self._base_url + path.lstrip("/")
        async with self._global, self._per_key[credentials.identity]:
            try:
                response = await self._http.request(
                    method,
                    url,
                    params={k: v for k, v in (params or {}).items() if v is not None},
                    data=dict(data) if data is not None else None,
                    headers={"authorization": credentials.header()},
                )
            except httpx.TimeoutException:
                raise WhatConvertsUnavailable("WhatConverts didn't answer in time") from None
            except httpx.TransportError as exc:
                raise WhatConvertsUnavailable(f"couldn't reach WhatConverts ({type(exc).__name__})") from None
        status = response.status_code
        if status == 401:
            raise WhatConvertsAuthError(_error_message(response), status=status)
        if status >= 500:
            raise WhatConvertsUnavailable(f"WhatConverts answered HTTP {status}", status=status)
        if status >= 400:
            message = _error_message(response)
            # Checked before 403: a limit refused as "forbidden" must not read as a dead key.
            if status == 429 or "limit" in message.lower():
                raise _limited(response, message)
            if status == 403:
                raise WhatConvertsForbidden(message, status=status)
            raise WhatConvertsRequestError(message, status=status)
        try:
            body = json_bodies.loads(response.content)
        except ValueError:
            raise WhatConvertsBadResponse("WhatConverts sent a response that isn't JSON", status=status) from None
        if not isinstance(body, dict):
            raise WhatConvertsBadResponse("WhatConverts sent an unexpected response", status=status)
        if text(body.get("error_message")):
            raise WhatConvertsRequestError(str(body["error_message"])[:300], status=status)
        return body

    @staticmethod
    def _page(body: Mapping[str, Any]) -> LeadsPage:
        raw = body.get("leads")
        if not isinstance(raw, list):
            raise WhatConvertsBadResponse("WhatConverts sent a lead list without leads")
        leads: list[Lead] = []
        unparseable = 0
        for item in raw:
            try:
                leads.append(Lead.from_api(mapping(item)))
            except ValueError:
                unparseable += 1
        return LeadsPage(
            leads=leads,
            page_number=integer(body.get("page_number")) or 1,
            total_pages=integer(body.get("total_pages")) or 1,
            total_leads=integer(body.get("total_leads")) or len(leads),
            unparseable=unparseable,
        )

    async def leads_page(self, credentials: Credentials, **params: Any) -> LeadsPage:
        """One page of `GET /leads`; `params` are the API's query parameters."""
        return self._page(await self._request("GET", "leads", credentials, params=params))

    async def walk_leads(
        self,
        credentials: Credentials,
        *,
        start: datetime,
        end: datetime,
        per_page: int = MAX_PER_PAGE,
        **filters: Any,
    ) -> LeadWalk:
        """Every lead created in [start, end], oldest first, all pages.

        `end` is fixed for the whole walk so new leads can't shift pages under us; if
        `total_pages` still changes mid-walk the walk restarts once from page 1.
        """
        for _attempt in range(2):
            leads: list[Lead] = []
            requests = 0
            unparseable = 0
            page_number, total_pages = 1, 1
            changed = False
            while page_number <= total_pages and page_number <= MAX_PAGES:
                page = await self.leads_page(
                    credentials,
                    start_date=format_date(start),
                    end_date=format_date(end),
                    order="asc",
                    leads_per_page=per_page,
                    page_number=page_number,
                    **filters,
                )
                requests += 1
                if page_number > 1 and page.total_pages != total_pages:
                    changed = True
                    break
                total_pages = page.total_pages
                leads.extend(page.leads)
                unparseable += page.unparseable
                page_number += 1
            if not changed:
                return LeadWalk(leads=leads, requests=requests, unparseable=unparseable)
        return LeadWalk(leads=leads, requests=requests, unparseable=unparseable)

    async def lead(self, credentials: Credentials, lead_id: int) -> Lead:
        """`GET /leads/{id}`, unwrapped from its list envelope."""
        page = self._page(await self._request("GET", f"leads/{int(lead_id)}", credentials))
        if not page.leads:
            raise WhatConvertsRequestError("Invalid lead ID.")
        return page.leads[0]

    async def update_lead(self, credentials: Credentials, lead_id: int, fields: Mapping[str, str]) -> Lead:
        """`POST /leads/{id}`, form-encoded (the API's verb for updates)."""
        body = await self._request("POST", f"leads/{int(lead_id)}", credentials, data=fields)
        page = self._page(body) if "leads" in body else None
        if page and page.leads:
            return page.leads[0]
        return await self.lead(credentials, lead_id)

    async def accounts(self, credentials: Credentials) -> list[Account]:
        """Every account and its profiles (agency/master keys only: a profile key is refused with a 4xx)."""
        accounts: list[Account] = []
        page_number, total_pages = 1, 1
        while page_number <= total_pages and page_number <= MAX_PAGES:
            body = await self._request(
                "GET", "accounts", credentials, params={"accounts_per_page": 250, "page_number": page_number}
            )
            total_pages = integer(body.get("total_pages")) or 1
            for item in body.get("accounts") or []:
                item = mapping(item)
                account_id = integer(item.get("account_id"))
                if account_id is None:
                    continue
                profiles = tuple(
                    Profile(profile_id=pid, name=text(p.get("profile_name")) or str(pid))
                    for p in map(mapping, item.get("profiles") or [])
                    if (pid := integer(p.get("profile_id"))) is not None
                )
                accounts.append(
                    Account(
                        account_id=account_id,
                        name=text(item.get("account_name")) or str(account_id),
                        profiles=profiles,
                    )
                )
            page_number += 1
        return accounts
