"""Loopback fake of the WhatConverts REST API v1 (and an OAuth 2.0 authorization server) for tests.

``FakeWhatConverts`` is a real HTTP server on 127.0.0.1 (random port) served from a daemon thread, so
the app's own HTTP client talks to it exactly as it talks to app.whatconverts.com: point
``WHATCONVERTS_API_URL`` at ``fake.api_url``. It models the parts of WhatConverts the app relies on
(see ``/work/shared/reference/whatconverts-api.md``): HTTP Basic token/secret auth with Profile and
Master ("Agency") keys, ``GET/POST /leads[/{id}]`` with the documented filters and pagination
envelope, ``GET /accounts``, per-key daily quotas and concurrency tracking, plus fault injection
(error bodies, 429s, 5xx, slow, malformed and dropped responses).

WhatConverts documents no OAuth. The ``/oauth/*`` endpoints are a plain RFC 6749 authorization-code
server with mandatory PKCE S256 (RFC 7636), refresh-token rotation and RFC 7009 revocation, so the
app's optional OAuth connect flow can be tested against standard behaviour.

Every request is recorded as a :class:`Call`, so tests can assert on exactly what the app sent.

Choices where the real API is undocumented (the app must not depend on them being exact):

- Quotas and throttles belong to the key (the token), whatever uses it: every client, connection
  or workspace sending one key spends one count. Keys start with the documented daily limits
  (Profile 1,000, Master 10,000 per UTC day); over it the answer is 429
  ``{"error_message": "Daily API limit reached"}`` without ``Retry-After``. More than 20
  simultaneous requests with one key are throttled: 429 ``{"error_message": "Rate limit
  exceeded"}``, also without ``Retry-After`` (WhatConverts sends no rate-limit headers at all).
  Injected faults cost no quota; authenticated requests do, whatever their status.
- ``GET /accounts`` with a Profile key answers 401 (as live probes of the real API did); a
  profile-narrowed OAuth token gets 403 (for a bearer token, 401 would mean "invalid token").
- ``account_id``/``profile_id`` filters from a Profile key (or a profile-narrowed OAuth token) get
  403; an account/profile outside a Master key gets 400. Another profile's lead ID answers exactly
  like an unknown one (400 ``Invalid lead ID.``).
- Enum filters accept only snake_case (``lead_type=phone_call``); Title Case gets 400.
  ``spam``/``duplicate`` ``true`` return only those leads, ``false`` excludes them, absent returns all.
- Dates must be ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SSZ``; a range over 400 days gets 400. Zero
  matches give ``total_pages: 0``; a page past the end gives an empty ``leads`` list.
- ``POST /leads/{id}`` takes only form bodies (JSON gets 415) and edits only ``quotable``,
  ``quote_value``, ``sales_value``, ``lead_url`` and ``additional_fields[Label]`` (platform truth W1:
  spam is marked in the WhatConverts UI only; ``send_notification`` is documented for creating leads,
  not for edits). Any other field, ``spam`` included, gets 400 ``Invalid parameter: <name>.`` and
  nothing changes. PUT/PATCH/DELETE get 405.
- OAuth bearer tokens need the ``write_leads`` scope to update leads (403 otherwise).

Why one module: one fake server stands for one platform, and its state (keys, quotas, accounts,
leads, OAuth grants) is shared by every endpoint as WhatConverts' is; the demo's scripted leads and
the page that drives it live beside it (`demo`, `driver`, `web`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from bot.sandbox.loopback import Delay, LoopbackService, Reply

API_PREFIX = "/api/v1"

# Filters take snake_case, responses carry Title Case (reference §6.1).
LEAD_TYPES = {
    "phone_call": "Phone Call",
    "web_form": "Web Form",
    "chat": "Chat",
    "text_message": "Text Message",
    "email": "Email",
    "appointment": "Appointment",
    "event": "Event",
    "transaction": "Transaction",
    "other": "Other",
}
LEAD_STATUSES = {"unique": "Unique", "repeat": "Repeat"}
QUOTABLE = {"yes": "Yes", "no": "No", "pending": "Pending", "not_set": "Not Set"}

PROFILE_KEY_DAILY_LIMIT = 1_000
MASTER_KEY_DAILY_LIMIT = 10_000
DEFAULT_LEADS_PER_PAGE = 25
MAX_LEADS_PER_PAGE = 2_500
DEFAULT_ACCOUNTS_PER_PAGE = 25
MAX_ACCOUNTS_PER_PAGE = 250
MAX_DATE_RANGE_DAYS = 400
FIRST_LEAD_ID = 100_001
AUTH_CODE_TTL = 600
DAILY_LIMIT_MESSAGE = "Daily API limit reached"
THROTTLE_MESSAGE = "Rate limit exceeded"
BURST_LIMIT = 20  # simultaneous requests per key before WhatConverts throttles

_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_ADDITIONAL_FIELD = re.compile(r"additional_fields\[(.+)\]")
_FORM = "application/x-www-form-urlencoded"
_AD_ID_FIELDS = (
    "gclid",
    "msclkid",
    "unbounce_page_id",
    "unbounce_variant_id",
    "unbounce_visitor_id",
    "salesforce_user_id",
    "roistat_visit_id",
    "hubspot_visitor_id",
    "facebook_browser_id",
    "facebook_click_id",
    "google_analytics_client_id",
    "vwo_account_id",
    "vwo_experiment_id",
    "vwo_variant_id",
    "vwo_user_id",
)
_DEFAULT_MASTER_ACCOUNTS: list[dict[str, Any]] = [
    {
        "account_id": 20001,
        "account_name": "Northwind Plumbing",
        "date_created": "2024-01-15T09:30:00Z",
        "profiles": [
            {"profile_id": 30001, "profile_name": "Northwind Main Site", "date_created": "2024-01-15T09:30:00Z"},
            {"profile_id": 30002, "profile_name": "Northwind Emergency Line", "date_created": "2024-02-01T12:00:00Z"},
        ],
    },
    {
        "account_id": 20002,
        "account_name": "Bluebird Dental",
        "date_created": "2024-03-02T14:00:00Z",
        "profiles": [
            {"profile_id": 30003, "profile_name": "Bluebird Downtown", "date_created": "2024-03-02T14:00:00Z"},
            {"profile_id": 30004, "profile_name": "Bluebird Uptown", "date_created": "2024-03-05T10:15:00Z"},
        ],
    },
]


@dataclass
class Call:
    """One HTTP request the fake received.

    ``headers`` keys are lower-cased and keep their values (``authorization`` included), so tests
    can check that a secret was sent only where it belongs. ``key`` is the API token of the key
    the request authenticated as (for OAuth bearer tokens: the key the grant was for), else None.
    """

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, Any]
    headers: dict[str, str]
    key: str | None
    at: float


@dataclass
class _Profile:
    profile_id: int
    profile_name: str
    account_id: int
    account_name: str


@dataclass
class _Key:
    token: str
    secret: str
    master: bool
    # Shaped like GET /accounts items (profiles embedded), also for profile keys, so scoping is uniform.
    accounts: list[dict[str, Any]]
    daily_limit: int | None
    day: str = ""
    count: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def profile_ids(self) -> frozenset[int]:
        return frozenset(p["profile_id"] for a in self.accounts for p in a["profiles"])


@dataclass(frozen=True)
class _Principal:
    """Who a request acts as: the key, the profiles it may see, and (for OAuth) its scopes."""

    key: _Key
    profile_ids: frozenset[int]
    master: bool
    scopes: frozenset[str] | None  # None: an API key, which is not scope-limited


@dataclass
class _Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    rotate_refresh_tokens: bool
    access_ttl: int
    scopes: frozenset[str]


@dataclass
class _Grant:
    """One approval on the authorize page; every token descending from it dies when it is revoked."""

    client_id: str
    key_token: str
    profile_id: int | None
    scope: str
    revoked: bool = False


@dataclass
class _Code:
    grant: _Grant
    redirect_uri: str
    challenge: str
    expires_at: float
    used: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: float
    revoked: bool = False


@dataclass
class _RefreshToken:
    grant: _Grant
    spent: bool = False


class _Reply(Reply):
    @classmethod
    def error(cls, message: str, status: int = 400, headers: dict[str, str] | None = None) -> _Reply:
        return cls.json({"error_message": message}, status, headers)

    @classmethod
    def oauth_error(cls, error: str, description: str, status: int = 400) -> _Reply:
        # RFC 6749 §5.2; token responses must never be cached.
        body = {"error": error, "error_description": description}
        return cls.json(body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @classmethod
    def text(cls, text: str, status: int) -> _Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


@dataclass
class _Fault:
    reply: _Reply
    remaining: int


def _timestamp(at: float | datetime) -> str:
    moment = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_TIMESTAMP)


def _lead_time(lead: dict[str, Any]) -> float:
    value = lead.get("date_created")
    if not isinstance(value, str):
        return 0.0
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _parse_date_param(value: str, name: str, *, end: bool) -> float:
    if _DATE_ONLY.fullmatch(value):
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        # A bare end date means "through that day", so the last second of it is included.
        return (day + timedelta(days=1, seconds=-1) if end else day).timestamp()
    if _DATE_TIME.fullmatch(value):
        return datetime.strptime(value, _TIMESTAMP).replace(tzinfo=UTC).timestamp()
    raise ValueError(f"Invalid {name}. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.")


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Invalid {name}.") from None


def _bool_param(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"Invalid {name}. Use true or false.")


def _number(value: str, name: str) -> int | float | None:
    if value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"Invalid {name}.") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"Invalid {name}.")
    return int(number) if number.is_integer() else number


def _has_value(value: Any) -> bool:
    try:
        return value not in (None, "") and float(value) != 0
    except (TypeError, ValueError):
        return False


def _pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _parse_body(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    content_type = _content_type(headers)
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    if content_type in (_FORM, ""):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return {}


def _basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _scope_set(scope: str) -> frozenset[str]:
    return frozenset(s for s in re.split(r"[\s,]+", scope) if s)


def _normalise_prefix(path: str) -> str:
    """Accept "/api/v1/leads", "leads" or "/leads" alike; OAuth paths are taken as given."""
    if not path.startswith(("/api/", "/oauth/")):
        path = f"{API_PREFIX}/{path.lstrip('/')}"
    return path.rstrip("/") or "/"


def _title_case_enums(fields: dict[str, Any]) -> dict[str, Any]:
    # Tests may write lead_type="phone_call"; stored leads always carry the response spelling.
    for name, mapping in (("lead_type", LEAD_TYPES), ("lead_status", LEAD_STATUSES), ("quotable", QUOTABLE)):
        value = fields.get(name)
        if isinstance(value, str) and value in mapping:
            fields[name] = mapping[value]
    return fields


class FakeWhatConverts(LoopbackService):
    """A loopback WhatConverts API v1 + OAuth server with keys, leads, quotas and fault injection."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.response_delay: float = 0.0
        # Wall clock rather than monotonic: tests time-travel quota days and token expiry with it.
        self._clock = clock
        self._lock = threading.RLock()
        self._keys: dict[str, _Key] = {}
        self._profiles: dict[int, _Profile] = {}
        self._leads: dict[int, dict[str, Any]] = {}
        self._next_lead_id = FIRST_LEAD_ID
        self._updates: list[dict[str, Any]] = []
        self._clients: dict[str, _Client] = {}
        self._codes: dict[str, _Code] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._token_requests: list[str] = []
        self._authorize_key: str | None = None
        self._authorize_profile: int | None = None
        self._deny_next = False
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[Delay]] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        self.burst_limit = BURST_LIMIT

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        """Value for the app's ``WHATCONVERTS_API_URL`` (ends with ``/``)."""
        return f"{self.base_url}{API_PREFIX}/"

    @property
    def oauth_authorize_url(self) -> str:
        return f"{self.base_url}/oauth/authorize"

    @property
    def oauth_token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def oauth_revoke_url(self) -> str:
        return f"{self.base_url}/oauth/revoke"

    # ------------------------------------------------------------------ keys and accounts

    def add_profile_key(
        self,
        token: str,
        secret: str,
        *,
        account_id: int = 1,
        profile_id: int = 10,
        account: str = "Acme Co",
        profile: str = "Main Site",
    ) -> None:
        """Register a Profile API key (1,000 requests/day) that sees one profile's leads."""
        created = "2024-01-01T00:00:00Z"
        accounts = [
            {
                "account_id": account_id,
                "account_name": account,
                "date_created": created,
                "profiles": [{"profile_id": profile_id, "profile_name": profile, "date_created": created}],
            }
        ]
        self._add_key(_Key(token, secret, False, accounts, PROFILE_KEY_DAILY_LIMIT))

    def add_master_key(self, token: str, secret: str, *, accounts: list[dict[str, Any]] | None = None) -> None:
        """Register a Master ("Agency") key (10,000 requests/day) over ``accounts``.

        ``accounts`` are shaped like ``accounts_page.json`` items, each with embedded ``profiles``;
        the default is two accounts (20001, 20002) with two profiles each (30001-30004).
        """
        chosen = copy.deepcopy(_DEFAULT_MASTER_ACCOUNTS if accounts is None else accounts)
        for item in chosen:
            item.setdefault("date_created", "2024-01-01T00:00:00Z")
            item.setdefault("profiles", [])
            for profile in item["profiles"]:
                profile.setdefault("date_created", item["date_created"])
        self._add_key(_Key(token, secret, True, chosen, MASTER_KEY_DAILY_LIMIT))

    def add_account(self, token: str, account: dict[str, Any]) -> None:
        """Add an account (shaped like a ``GET /accounts`` item, ``profiles`` embedded) to a Master key.

        Agencies add accounts and profiles over time (platform truth W4): from now on the key sees
        the account's leads and ``GET /accounts`` lists it, whatever the app read at connect time.
        """
        with self._lock:
            key = self._keys[token]
            if not key.master:
                raise ValueError("only a Master key gains accounts; a profile key sees one profile")
            item = copy.deepcopy(account)
            item.setdefault("date_created", _timestamp(self._clock()))
            item.setdefault("profiles", [])
            for profile in item["profiles"]:
                profile.setdefault("date_created", item["date_created"])
            key.accounts.append(item)
            self._add_key(key)

    def add_profile(self, token: str, account_id: int, profile_id: int, profile_name: str) -> None:
        """Add a profile to one of a Master key's accounts (its leads become visible to the key)."""
        with self._lock:
            key = self._keys[token]
            account = next(a for a in key.accounts if a["account_id"] == account_id)
            created = _timestamp(self._clock())
            account["profiles"].append(
                {"profile_id": profile_id, "profile_name": profile_name, "date_created": created}
            )
            self._add_key(key)

    def _add_key(self, key: _Key) -> None:
        with self._lock:
            self._keys[key.token] = key
            for item in key.accounts:
                for profile in item["profiles"]:
                    self._profiles[profile["profile_id"]] = _Profile(
                        profile["profile_id"], profile["profile_name"], item["account_id"], item["account_name"]
                    )

    def set_daily_limit(self, token: str, limit: int | None) -> None:
        """Requests beyond ``limit`` per UTC day get 429 ``Daily API limit reached``; None lifts it."""
        with self._lock:
            self._keys[token].daily_limit = limit

    def requests_today(self, token: str) -> int:
        """Authenticated requests ``token`` made this UTC day, including ones refused for the limit."""
        with self._lock:
            key = self._keys[token]
            return key.count if key.day == self._today() else 0

    def max_in_flight(self, token: str | None = None) -> int:
        """Most simultaneous requests seen for one key (or over all requests with ``token=None``)."""
        with self._lock:
            return self._max_in_flight if token is None else self._keys[token].max_in_flight

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).date().isoformat()

    # ------------------------------------------------------------------ leads

    def add_lead(self, **fields: Any) -> dict[str, Any]:
        """Create a lead with realistic defaults for every documented field; returns a copy.

        ``profile_id`` picks the owner (default: the first registered profile, else profile 10 of
        "Acme Co"); account and profile names follow from the key that registered it. ``lead_type``,
        ``lead_status`` and ``quotable`` may be given snake_case. ``date_created`` may be a string,
        datetime or epoch seconds (default: the clock); ``last_updated`` defaults to ``date_created``.
        """
        with self._lock:
            fields = _title_case_enums(dict(fields))
            lead_id = fields.pop("lead_id", None)
            if lead_id is None:
                while self._next_lead_id in self._leads:
                    self._next_lead_id += 1
                lead_id = self._next_lead_id
                self._next_lead_id += 1
            elif lead_id in self._leads:
                raise ValueError(f"lead {lead_id} already exists")
            created = fields.pop("date_created", None)
            created_text = _timestamp(self._clock()) if created is None else self._as_timestamp(created)
            if "last_updated" in fields:
                fields["last_updated"] = self._as_timestamp(fields["last_updated"])
            profile = self._profile_for(fields.get("profile_id"), fields.get("account_id"))
            lead = self._default_lead(int(lead_id), profile, fields.get("lead_type", "Web Form"), created_text)
            lead.update(fields)
            self._leads[lead["lead_id"]] = lead
            return copy.deepcopy(lead)

    def update_lead(self, lead_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a stored lead (as WhatConverts would later) and bump ``last_updated``."""
        with self._lock:
            lead = self._leads[lead_id]
            fields = _title_case_enums(dict(fields))
            for name in ("date_created", "last_updated"):
                if name in fields:
                    fields[name] = self._as_timestamp(fields[name])
            lead.update(fields)
            if "last_updated" not in fields:
                lead["last_updated"] = _timestamp(self._clock())
            return copy.deepcopy(lead)

    @property
    def leads(self) -> list[dict[str, Any]]:
        """Copies of all stored leads in insertion order."""
        with self._lock:
            return copy.deepcopy(list(self._leads.values()))

    def get_lead(self, lead_id: int) -> dict[str, Any]:
        """A copy of one stored lead; KeyError if unknown."""
        with self._lock:
            return copy.deepcopy(self._leads[lead_id])

    def load_fixture_leads(self, path: str | Path, *, profile_id: int | None = None) -> list[dict[str, Any]]:
        """Store the leads of a fixture file verbatim (a list envelope, or a single webhook body).

        Fields are not filled in, so the fixtures' quirks reach the app; only the owner fields
        (``account_id``, ``account``, ``profile_id``, ``profile``) are set when absent or when
        ``profile_id`` is given, because key scoping needs them.
        """
        data = json.loads(Path(path).read_text())
        raw_leads = data["leads"] if "leads" in data else [data]
        stored = []
        with self._lock:
            for raw in raw_leads:
                lead = {k: v for k, v in copy.deepcopy(raw).items() if k != "trigger"}
                if profile_id is not None or "profile_id" not in lead:
                    owner = self._profile_for(profile_id, None)
                    lead.update(
                        account_id=owner.account_id,
                        account=owner.account_name,
                        profile_id=owner.profile_id,
                        profile=owner.profile_name,
                    )
                if lead.get("lead_id") in self._leads:
                    raise ValueError(f"lead {lead['lead_id']} already exists")
                self._leads[lead["lead_id"]] = lead
                stored.append(copy.deepcopy(lead))
        return stored

    def lead_updates(self, lead_id: int | None = None) -> list[dict[str, Any]]:
        """Updates the app made via ``POST /leads/{id}``: ``{"lead_id", "changes", "key", "at"}``."""
        with self._lock:
            return copy.deepcopy([u for u in self._updates if lead_id is None or u["lead_id"] == lead_id])

    def webhook_payload(self, lead: dict[str, Any], trigger: str = "new") -> dict[str, Any]:
        """The JSON body WhatConverts POSTs to a webhook URL for ``lead`` (``"new"`` or ``"update"``)."""
        return {"trigger": trigger, **{k: copy.deepcopy(v) for k, v in lead.items() if k != "trigger"}}

    def _as_timestamp(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, datetime | int | float):
            return _timestamp(value)
        raise TypeError(f"cannot use {value!r} as a timestamp")

    def _profile_for(self, profile_id: int | None, account_id: int | None) -> _Profile:
        if profile_id is None:
            if self._profiles:
                return next(iter(self._profiles.values()))
            return _Profile(10, "Main Site", 1, "Acme Co")
        known = self._profiles.get(profile_id)
        if known is not None:
            return known
        # A lead of a profile no key covers: useful for "this key must not see it" tests.
        return _Profile(profile_id, f"Profile {profile_id}", account_id or 0, f"Account {account_id or 0}")

    def _default_lead(self, lead_id: int, owner: _Profile, lead_type: str, created: str) -> dict[str, Any]:
        n = lead_id % 10_000
        phone = f"+1704555{n:04d}"
        display_phone = f"(704) 555-{n:04d}"
        email = f"lead{lead_id}@example.com"
        name = "Jordan Rivera"
        lead: dict[str, Any] = {
            "account_id": owner.account_id,
            "account": owner.account_name,
            "profile_id": owner.profile_id,
            "profile": owner.profile_name,
            "lead_id": lead_id,
            # Visitor IDs look like "<profile>-<uuid>"; derive it from lead_id so runs are reproducible.
            "user_id": f"{owner.profile_id}-{uuid.UUID(int=lead_id)}",
            "lead_type": lead_type,
            "lead_status": "Unique",
            "lead_score": 0,
            "date_created": created,
            "last_updated": created,
            "lead_state": "Completed",
            "quotable": "Not Set",
            "quote_value": None,
            "sales_value": None,
            "lead_source": "google",
            "lead_medium": "cpc",
            "lead_campaign": "Spring Promo",
            "lead_content": "",
            "lead_keyword": "emergency plumber",
            "lead_url": "https://www.example.com/contact",
            "landing_url": "https://www.example.com/?utm_source=google&utm_medium=cpc",
            "ip_address": f"203.0.113.{n % 254 + 1}",
            "operating_system": "macOS 14 Sonoma",
            "browser": "Chrome 126",
            "device_type": "Desktop",
            "device_make": "Apple Mac",
            "contact_name": name,
            "contact_company_name": "",
            "contact_email_address": email,
            "contact_phone_number": phone,
            "email_address": email,
            "phone_number": phone,
            "city": "Charlotte",
            "state": "NC",
            "zip": "28226",
            "country": "US",
            "notes": "",
            "spotted_keywords": "",
            # Empty objects arrive as [] from the real API (reference §6.2).
            "lead_analysis": [],
            "additional_fields": [],
            "field_mappings": [],
            **dict.fromkeys(_AD_ID_FIELDS, ""),
            "spam": False,
            "duplicate": False,
        }
        if lead_type == "Phone Call":
            recording = f"https://app.whatconverts.com/recording/r-{uuid.UUID(int=lead_id)}"
            lead.update(
                {
                    "call_status": "Completed",
                    "answer_status": "Answered",
                    "phone_name": "All Traffic",
                    "tracking_number": "+17045550100",
                    "destination_number": "+17045550199",
                    "caller_number": phone,
                    "caller_name": name,
                    "caller_city": "Charlotte",
                    "caller_state": "NC",
                    "caller_zip": "28226",
                    "caller_country": "US",
                    "line_type": "Mobile",
                    "call_duration": "42 seconds",
                    "call_duration_seconds": 42,
                    "recording": f"{recording}/download",
                    "play_recording": f"{recording}/play",
                    "voicemail": "",
                    "play_voicemail": "",
                    "call_transcription": "Hi, I'd like a quote for a water heater.",
                    "voicemail_transcription": "",
                }
            )
        elif lead_type == "Web Form":
            lead["form_name"] = "Contact Us"
            lead["additional_fields"] = {
                "Name": name,
                "Email": email,
                "Phone Number": display_phone,
                "Message": "Please call me back about a quote.",
            }
        elif lead_type in ("Chat", "Text Message", "Email"):
            lead["message"] = "Hello, do you have availability this week?"
        elif lead_type == "Transaction":
            lead.update({"transaction_id": f"T{lead_id}", "transaction_tax": 0, "transaction_shipping": 0})
        return lead

    # ------------------------------------------------------------------ OAuth

    def register_oauth_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | list[str],
        *,
        rotate_refresh_tokens: bool = True,
        access_ttl: int = 3600,
        scopes: str = "read_leads",
    ) -> None:
        """Register an OAuth client; ``scopes`` (space-separated) is all it may ask for.

        ``POST /api/v1/leads/{id}`` with a bearer token needs the ``write_leads`` scope.
        """
        uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
        with self._lock:
            self._clients[client_id] = _Client(
                client_id, client_secret, uris, rotate_refresh_tokens, access_ttl, _scope_set(scopes)
            )

    def authorize_as(self, key_token: str, *, profile_id: int | None = None) -> None:
        """Choose the key the next approvals grant (optionally narrowed to one of its profiles)."""
        with self._lock:
            key = self._keys[key_token]
            if profile_id is not None and profile_id not in key.profile_ids():
                raise ValueError(f"profile {profile_id} is not under key {key_token}")
            self._authorize_key, self._authorize_profile = key_token, profile_id

    def deny_next(self) -> None:
        """Make the next authorize request come back with ``error=access_denied`` (user pressed Deny)."""
        with self._lock:
            self._deny_next = True

    def expire_access_token(self, token: str) -> None:
        """Make API calls with this access token answer 401 from now on."""
        with self._lock:
            self._access_tokens[token].expires_at = -math.inf

    def revoke_grant(self, refresh_token: str) -> None:
        """Revoke the approval behind ``refresh_token``: it and every token of that grant stop working."""
        with self._lock:
            self._refresh_tokens[refresh_token].grant.revoked = True

    def token_requests(self, grant_type: str | None = None) -> int:
        """``POST /oauth/token`` requests received (successful or not), optionally of one grant type."""
        with self._lock:
            return sum(1 for g in self._token_requests if grant_type is None or g == grant_type)

    # ------------------------------------------------------------------ recording

    def calls_to(self, path_prefix: str, method: str | None = "GET") -> list[Call]:
        """Recorded calls whose path starts with ``path_prefix`` ("leads" means "/api/v1/leads").

        ``method=None`` matches any HTTP method.
        """
        prefix = _normalise_prefix(path_prefix)
        with self._lock:
            return [
                c
                for c in self.calls
                if (prefix == "/" or c.path == prefix or c.path.startswith(prefix + "/"))
                and (method is None or c.method == method)
            ]

    def clear(self) -> None:
        """Forget recorded calls, updates, pending faults/delays and counters (keeps keys, leads, quotas)."""
        with self._lock:
            self.calls.clear()
            self._updates.clear()
            self._faults.clear()
            self._delays.clear()
            self._token_requests.clear()
            self._max_in_flight = self._in_flight
            for key in self._keys.values():
                key.max_in_flight = key.in_flight

    # ------------------------------------------------------------------ fault injection

    def _add_fault(self, path: str, reply: _Reply, times: int) -> None:
        with self._lock:
            self._faults.setdefault(_normalise_prefix(path), []).append(_Fault(reply, times))

    def fail_next(self, path: str, status: int = 500, body: Any = None, times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path`` with ``status``.

        ``body``: a dict/list is sent as JSON, a str as text; None sends an HTML error page, as a
        proxy in front of the real API would.
        """
        if body is None:
            reply = _Reply(status, f"<html><body><h1>{status} Server Error</h1></body></html>".encode(), "text/html")
        elif isinstance(body, str | bytes):
            reply = _Reply(status, body.encode() if isinstance(body, str) else body, "text/plain; charset=utf-8")
        else:
            reply = _Reply.json(body, status)
        self._add_fault(path, reply, times)

    def error_message_next(self, path: str, message: str, status: int = 400, times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path`` with ``{"error_message": message}``."""
        self._add_fault(path, _Reply.error(message, status), times)

    def rate_limit_next(self, path: str, retry_after: int | None = None, times: int = 1) -> None:
        """Throttle the next ``times`` requests: 429 ``Rate limit exceeded``, as WhatConverts answers a
        burst, with no ``Retry-After`` (the real API never sends one; give ``retry_after`` to add it)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self._add_fault(path, _Reply.error(THROTTLE_MESSAGE, 429, headers), times)

    def malformed_next(self, path: str, times: int = 1) -> None:
        """Answer the next ``times`` requests with HTTP 200 and an HTML (non-JSON) body."""
        page = b"<html><body>Service temporarily unavailable</body></html>"
        self._add_fault(path, _Reply(200, page, "text/html"), times)

    def drop_next(self, path: str, times: int = 1) -> None:
        """Close the connection without any reply for the next ``times`` requests."""
        self._add_fault(path, _Reply(0, b"", drop=True), times)

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``times`` requests (combines with other faults)."""
        with self._lock:
            self._delays.setdefault(_normalise_prefix(path), []).append(Delay(seconds, times))

    @staticmethod
    def _pop(queues: dict[str, list[Any]], path: str) -> Any:
        """Consume one use of the oldest queued fault/delay of the longest matching prefix."""
        matching = [p for p in queues if queues[p] and (path == p or path.startswith(p + "/"))]
        if not matching:
            return None
        queue = queues[max(matching, key=len)]
        head = queue[0]
        head.remaining -= 1
        if head.remaining <= 0:
            queue.pop(0)
        return head

    # ------------------------------------------------------------------ request handling

    def _handle(self, verb: str, raw_path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        form = _parse_body(headers, raw)
        is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
        with self._lock:
            principal, auth_error = self._authenticate(headers) if is_api else (None, None)
            key = principal.key if principal else None
            self.calls.append(Call(verb, path, query, form, headers, key.token if key else None, self._clock()))
            if verb == "POST" and path == "/oauth/token":
                self._token_requests.append(str(form.get("grant_type", "")))
            # Popped on arrival so concurrent requests consume faults in the order they came in.
            delay = self._pop(self._delays, path)
            fault = self._pop(self._faults, path)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            throttled = False
            if key is not None:
                key.in_flight += 1
                key.max_in_flight = max(key.max_in_flight, key.in_flight)
                if fault is None and key.in_flight > self.burst_limit:
                    # Judged on arrival, as a burst limit is; the refused request still counts against the day.
                    self._charge(key)
                    throttled = True
        try:
            if throttled:
                return _Reply.error(THROTTLE_MESSAGE, 429)
            wait = (delay.seconds if delay else 0.0) + (self.response_delay if is_api else 0.0)
            if wait > 0:
                # Interruptible so stop() never waits for a long simulated timeout.
                self._stopping.wait(wait)
            if fault is not None:
                return fault.reply
            with self._lock:
                if is_api:
                    return auth_error or self._api(verb, path[len(API_PREFIX) :], query, form, headers, principal)
                return self._oauth(verb, path, query, form, headers)
        finally:
            with self._lock:
                self._in_flight -= 1
                if key is not None:
                    key.in_flight -= 1

    def _authenticate(self, headers: dict[str, str]) -> tuple[_Principal | None, _Reply | None]:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            access = self._access_tokens.get(value.strip())
            if access is None or access.revoked or access.grant.revoked or self._clock() >= access.expires_at:
                challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
                return None, _Reply.error("Invalid or expired access token.", 401, challenge)
            key = self._keys[access.grant.key_token]
            narrowed = access.grant.profile_id
            profiles = key.profile_ids() if narrowed is None else frozenset({narrowed})
            return _Principal(key, profiles, key.master and narrowed is None, _scope_set(access.grant.scope)), None
        if scheme.lower() != "basic":
            return None, _Reply.error("API token and secret are required (HTTP Basic).", 401)
        credentials = _basic_credentials(headers)
        key = self._keys.get(credentials[0]) if credentials else None
        if credentials is None or key is None or not _same(key.secret, credentials[1]):
            return None, _Reply.error("Invalid API token or secret.", 401)
        return _Principal(key, key.profile_ids(), key.master, None), None

    def _charge(self, key: _Key) -> bool:
        """Count one request against the key's UTC day; False once the daily limit is exceeded."""
        today = self._today()
        if key.day != today:
            key.day, key.count = today, 0
        key.count += 1
        return key.daily_limit is None or key.count <= key.daily_limit

    def _api(
        self,
        verb: str,
        resource: str,
        query: dict[str, str],
        form: dict[str, Any],
        headers: dict[str, str],
        principal: _Principal | None,
    ) -> _Reply:
        assert principal is not None
        if not self._charge(principal.key):
            # The real status is unconfirmed (reference §7); 429 without Retry-After is the assumption.
            return _Reply.error(DAILY_LIMIT_MESSAGE, 429)
        parts = resource.strip("/").split("/")
        if parts == ["leads"]:
            if verb == "GET":
                return self._list_leads(query, principal)
            if verb == "POST":
                return _Reply.error("Creating leads is not implemented by FakeWhatConverts.", 501)
            return _Reply.error("Method not allowed.", 405)
        if len(parts) == 2 and parts[0] == "leads":
            if verb == "GET":
                return self._get_lead(parts[1], principal)
            if verb == "POST":
                return self._post_lead(parts[1], form, headers, principal)
            # The real API updates with POST, not PUT/PATCH (reference §2).
            return _Reply.error("Method not allowed.", 405)
        if parts == ["accounts"] and verb == "GET":
            return self._list_accounts(query, principal)
        return _Reply.error("Not found.", 404)

    @staticmethod
    def _envelope(resource: str, page: int, per_page: int, items: list[dict[str, Any]]) -> dict[str, Any]:
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        return {
            "page_number": page,
            f"{resource}_per_page": per_page,
            "total_pages": math.ceil(total / per_page),
            f"total_{resource}": total,
            resource: copy.deepcopy(chunk),
        }

    def _visible_lead(self, raw_id: str, principal: _Principal) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        lead = self._leads.get(int(raw_id))
        # Another profile's lead looks exactly like an unknown one, so IDs don't leak across keys.
        if lead is None or lead.get("profile_id") not in principal.profile_ids:
            return None
        return lead

    def _list_leads(self, query: dict[str, str], principal: _Principal) -> _Reply:
        try:
            per_page = _int_param(query, "leads_per_page", DEFAULT_LEADS_PER_PAGE)
            page = _int_param(query, "page_number", 1)
            start = query.get("start_date")
            end = query.get("end_date")
            start_at = _parse_date_param(start, "start_date", end=False) if start else None
            end_at = _parse_date_param(end, "end_date", end=True) if end else None
        except ValueError as exc:
            return _Reply.error(str(exc))
        if not 1 <= per_page <= MAX_LEADS_PER_PAGE:
            return _Reply.error(f"leads_per_page must be between 1 and {MAX_LEADS_PER_PAGE}.")
        if page < 1:
            return _Reply.error("Invalid page_number.")
        if start_at is not None and end_at is not None:
            if start_at > end_at:
                return _Reply.error("start_date must be before end_date.")
            if end_at - start_at > MAX_DATE_RANGE_DAYS * 86_400:
                return _Reply.error(f"Date range cannot exceed {MAX_DATE_RANGE_DAYS} days.")
        order = query.get("order", "desc").lower()
        if order not in ("asc", "desc"):
            return _Reply.error("Invalid order. Use asc or desc.")

        visible = principal.profile_ids
        if "account_id" in query or "profile_id" in query:
            if not principal.master:
                return _Reply.error("account_id and profile_id filters require a Master Account API key.", 403)
            scoped = self._scope_filter(query, principal)
            if isinstance(scoped, _Reply):
                return scoped
            visible = scoped

        try:
            predicates = self._lead_predicates(query)
        except ValueError as exc:
            return _Reply.error(str(exc))
        matched = [
            lead
            for lead in self._leads.values()
            if lead.get("profile_id") in visible
            and (start_at is None or _lead_time(lead) >= start_at)
            and (end_at is None or _lead_time(lead) <= end_at)
            and all(p(lead) for p in predicates)
        ]
        matched.sort(key=lambda lead: (_lead_time(lead), lead["lead_id"]), reverse=order == "desc")
        return _Reply.json(self._envelope("leads", page, per_page, matched))

    def _scope_filter(self, query: dict[str, str], principal: _Principal) -> frozenset[int] | _Reply:
        visible = principal.profile_ids
        try:
            account_id = _int_param(query, "account_id", 0) if "account_id" in query else None
            profile_id = _int_param(query, "profile_id", 0) if "profile_id" in query else None
        except ValueError as exc:
            return _Reply.error(str(exc))
        if account_id is not None:
            account = next((a for a in principal.key.accounts if a["account_id"] == account_id), None)
            if account is None:
                return _Reply.error("Invalid account ID.")
            visible = visible & frozenset(p["profile_id"] for p in account["profiles"])
        if profile_id is not None:
            if profile_id not in visible:
                return _Reply.error("Invalid profile ID.")
            visible = frozenset({profile_id})
        return visible

    @staticmethod
    def _lead_predicates(query: dict[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
        predicates: list[Callable[[dict[str, Any]], bool]] = []

        def enum(name: str, mapping: dict[str, str]) -> None:
            if name in query:
                # Only the snake_case spelling is accepted, so a Title Case filter is a visible bug.
                wanted = mapping.get(query[name])
                if wanted is None:
                    raise ValueError(f"Invalid {name}. Use one of: {', '.join(mapping)}.")
                predicates.append(lambda lead: lead.get(name) == wanted)

        enum("lead_type", LEAD_TYPES)
        enum("lead_status", LEAD_STATUSES)
        enum("quotable", QUOTABLE)
        for name in ("quote_value", "sales_value"):
            if name in query:
                if query[name] not in ("has_value", "no_value"):
                    raise ValueError(f"Invalid {name}. Use has_value or no_value.")
                wanted_value = query[name] == "has_value"
                predicates.append(lambda lead, n=name, w=wanted_value: _has_value(lead.get(n)) == w)
        for name in ("spam", "duplicate"):
            if name in query:
                flag = _bool_param(query[name], name)
                predicates.append(lambda lead, n=name, f=flag: bool(lead.get(n)) == f)
        for name in ("lead_source", "lead_medium", "lead_campaign", "lead_content", "lead_keyword", "user_id"):
            if name in query:
                predicates.append(lambda lead, n=name, v=query[name]: lead.get(n) == v)
        if "phone_number" in query:
            phone = query["phone_number"]
            fields = ("phone_number", "contact_phone_number", "caller_number")
            predicates.append(lambda lead: any(lead.get(f) == phone for f in fields))
        if "email_address" in query:
            email = query["email_address"].lower()
            fields_e = ("email_address", "contact_email_address")
            predicates.append(lambda lead: any(str(lead.get(f) or "").lower() == email for f in fields_e))
        return predicates

    def _get_lead(self, raw_id: str, principal: _Principal) -> _Reply:
        lead = self._visible_lead(raw_id, principal)
        if lead is None:
            return _Reply.error("Invalid lead ID.")
        return _Reply.json(self._envelope("leads", 1, 1, [lead]))

    def _post_lead(self, raw_id: str, form: dict[str, Any], headers: dict[str, str], principal: _Principal) -> _Reply:
        if principal.scopes is not None and "write_leads" not in principal.scopes:
            challenge = {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write_leads"'}
            return _Reply.error("Insufficient scope: write_leads is required.", 403, challenge)
        lead = self._visible_lead(raw_id, principal)
        if lead is None:
            return _Reply.error("Invalid lead ID.")
        if _content_type(headers) != _FORM:
            # Known clients send form-encoded; JSON support is unconfirmed (reference §10).
            return _Reply.error(f"Unsupported content type; send {_FORM}.", 415)
        changes: dict[str, Any] = {}
        extra: dict[str, str] = {}
        try:
            for name, value in form.items():
                if name == "quotable":
                    if value not in QUOTABLE:
                        raise ValueError(f"Invalid quotable. Use one of: {', '.join(QUOTABLE)}.")
                    changes[name] = QUOTABLE[value]
                elif name in ("quote_value", "sales_value"):
                    changes[name] = _number(value, name)
                elif name == "lead_url":
                    changes[name] = value
                elif match := _ADDITIONAL_FIELD.fullmatch(name):
                    extra[match.group(1)] = value
                else:
                    # Spam included (W1): the API can't mark it, so a client that tries learns so at once.
                    raise ValueError(f"Invalid parameter: {name}.")
        except ValueError as exc:
            return _Reply.error(str(exc))
        if extra:
            current = lead.get("additional_fields")
            merged = dict(current) if isinstance(current, dict) else {}
            merged.update(extra)
            changes["additional_fields"] = merged
        if changes:
            lead.update(changes)
            lead["last_updated"] = _timestamp(self._clock())
            self._updates.append(
                {"lead_id": lead["lead_id"], "changes": changes, "key": principal.key.token, "at": self._clock()}
            )
        return _Reply.json(self._envelope("leads", 1, 1, [lead]))

    def _list_accounts(self, query: dict[str, str], principal: _Principal) -> _Reply:
        if not principal.master:
            status = 403 if principal.scopes is not None else 401
            return _Reply.error("This endpoint requires a Master Account API key.", status)
        try:
            per_page = _int_param(query, "accounts_per_page", DEFAULT_ACCOUNTS_PER_PAGE)
            page = _int_param(query, "page_number", 1)
        except ValueError as exc:
            return _Reply.error(str(exc))
        if not 1 <= per_page <= MAX_ACCOUNTS_PER_PAGE:
            return _Reply.error(f"accounts_per_page must be between 1 and {MAX_ACCOUNTS_PER_PAGE}.")
        if page < 1:
            return _Reply.error("Invalid page_number.")
        order = query.get("order", "desc").lower()
        if order not in ("asc", "desc"):
            return _Reply.error("Invalid order. Use asc or desc.")
        accounts = sorted(
            principal.key.accounts,
            key=lambda a: (_lead_time(a), a["account_id"]),
            reverse=order == "desc",
        )
        return _Reply.json(self._envelope("accounts", page, per_page, accounts))

    # ------------------------------------------------------------------ OAuth endpoints

    def _oauth(
        self, verb: str, path: str, query: dict[str, str], form: dict[str, Any], headers: dict[str, str]
    ) -> _Reply:
        if path == "/oauth/authorize" and verb == "GET":
            return self._authorize(query)
        if path in ("/oauth/token", "/oauth/revoke") and verb == "POST":
            if _content_type(headers) != _FORM:
                return _Reply.oauth_error("invalid_request", f"Send {_FORM}.")
            client = self._client_auth(form, headers)
            if isinstance(client, _Reply):
                return client
            return self._token(form, client) if path == "/oauth/token" else self._revoke(form, client)
        return _Reply.text("not found", 404)

    def _authorize(self, query: dict[str, str]) -> _Reply:
        client = self._clients.get(query.get("client_id", ""))
        # RFC 6749 §4.1.2.1: with a bad client or redirect_uri, never redirect (open-redirector risk).
        if client is None:
            return _Reply.text("Unknown client_id.", 400)
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            return _Reply.text("redirect_uri does not exactly match a registered redirect URI.", 400)

        def back(**params: str) -> _Reply:
            if "state" in query:
                params["state"] = query["state"]
            parts = urlsplit(redirect_uri)
            joined = "&".join(q for q in (parts.query, urlencode(params)) if q)
            location = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))
            return _Reply(302, b"", "text/plain", {"Location": location})

        if query.get("response_type") != "code":
            return back(error="unsupported_response_type", error_description="response_type must be code")
        challenge = query.get("code_challenge", "")
        if query.get("code_challenge_method") != "S256" or not _PKCE_VALUE.fullmatch(challenge):
            return back(error="invalid_request", error_description="PKCE code_challenge with S256 is required")
        requested = _scope_set(query.get("scope", ""))
        if requested and not requested <= client.scopes:
            return back(error="invalid_scope", error_description="scope not allowed for this client")
        if self._deny_next:
            self._deny_next = False
            return back(error="access_denied", error_description="The user denied access")
        key_token = self._authorize_key or next(
            (k.token for k in self._keys.values() if not k.master), next(iter(self._keys), None)
        )
        if key_token is None:
            return back(error="server_error", error_description="FakeWhatConverts has no API key to authorize as")
        scope = " ".join(sorted(requested or client.scopes))
        grant = _Grant(client.client_id, key_token, self._authorize_profile, scope)
        code = f"wc_code_{secrets.token_urlsafe(24)}"
        self._codes[code] = _Code(grant, redirect_uri, challenge, self._clock() + AUTH_CODE_TTL)
        return back(code=code)

    def _client_auth(self, form: dict[str, Any], headers: dict[str, str]) -> _Client | _Reply:
        basic = _basic_credentials(headers)
        if basic is not None:
            # RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
            client_id, client_secret = unquote_plus(basic[0]), unquote_plus(basic[1])
        else:
            client_id, client_secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        client = self._clients.get(client_id)
        if client is None or not _same(client.client_secret, client_secret):
            reply = _Reply.oauth_error("invalid_client", "Client authentication failed.", 401)
            if basic is not None:
                reply.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
            return reply
        return client

    def _token(self, form: dict[str, Any], client: _Client) -> _Reply:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client)
        if grant_type == "refresh_token":
            return self._refresh(form, client)
        if not grant_type:
            return _Reply.oauth_error("invalid_request", "grant_type is required.")
        return _Reply.oauth_error("unsupported_grant_type", f"Unsupported grant_type {grant_type}.")

    def _exchange_code(self, form: dict[str, Any], client: _Client) -> _Reply:
        code = self._codes.get(str(form.get("code", "")))
        if code is None or code.grant.client_id != client.client_id:
            return _Reply.oauth_error("invalid_grant", "Unknown authorization code.")
        if code.used:
            # RFC 6749 §4.1.2: a replayed code revokes what was issued for it.
            code.grant.revoked = True
            return _Reply.oauth_error("invalid_grant", "Authorization code already used.")
        # Burnt on first presentation, even if the checks below fail.
        code.used = True
        if self._clock() >= code.expires_at:
            return _Reply.oauth_error("invalid_grant", "Authorization code expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _Reply.oauth_error("invalid_grant", "redirect_uri does not match the authorization request.")
        verifier = str(form.get("code_verifier", ""))
        if not _PKCE_VALUE.fullmatch(verifier) or not _same(_pkce_s256(verifier), code.challenge):
            return _Reply.oauth_error("invalid_grant", "PKCE verification failed.")
        return self._issue(code.grant, client, with_refresh=True)

    def _refresh(self, form: dict[str, Any], client: _Client) -> _Reply:
        refresh = self._refresh_tokens.get(str(form.get("refresh_token", "")))
        if refresh is None or refresh.grant.client_id != client.client_id or refresh.spent or refresh.grant.revoked:
            return _Reply.oauth_error("invalid_grant", "Invalid refresh token.")
        requested = _scope_set(str(form.get("scope", "")))
        if requested and not requested <= _scope_set(refresh.grant.scope):
            return _Reply.oauth_error("invalid_scope", "A refresh cannot widen the granted scope.")
        if client.rotate_refresh_tokens:
            refresh.spent = True
        return self._issue(refresh.grant, client, with_refresh=client.rotate_refresh_tokens)

    def _issue(self, grant: _Grant, client: _Client, *, with_refresh: bool) -> _Reply:
        access = f"wc_at_{secrets.token_urlsafe(24)}"
        self._access_tokens[access] = _AccessToken(grant, self._clock() + client.access_ttl)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": client.access_ttl,
            "scope": grant.scope,
        }
        if with_refresh:
            refresh = f"wc_rt_{secrets.token_urlsafe(32)}"
            self._refresh_tokens[refresh] = _RefreshToken(grant)
            body["refresh_token"] = refresh
        return _Reply.json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, form: dict[str, Any], client: _Client) -> _Reply:
        token = str(form.get("token", ""))
        if not token:
            return _Reply.oauth_error("invalid_request", "token is required.")
        refresh = self._refresh_tokens.get(token)
        access = self._access_tokens.get(token)
        # RFC 7009 §2.2: unknown or foreign tokens still get 200, so clients can't probe them.
        if refresh is not None and refresh.grant.client_id == client.client_id:
            refresh.grant.revoked = True  # §2.1: revoking a refresh token also ends its access tokens
        elif access is not None and access.grant.client_id == client.client_id:
            access.revoked = True
        return _Reply(200, b"", "text/plain")
