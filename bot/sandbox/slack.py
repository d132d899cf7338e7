"""Loopback fake of the Slack Web API for tests.

``FakeSlack`` is a real HTTP server on 127.0.0.1 (random port) served from a daemon thread, so the
real ``slack_sdk`` clients (sync or async, aiohttp or httpx) can talk to it exactly as they talk to
slack.com: point ``base_url`` / ``SLACK_API_URL`` at ``fake.api_url``. It models the pieces of
Slack this app relies on: OAuth v2 installs with token rotation (12-hour tokens, each refresh
spends its refresh token; ``fail_next("oauth.v2.access", "internal_error")`` and the other faults
make a refresh fail the way Slack's sometimes do), token expiry (``token_expired``) and revocation
without uninstalling (``revoke_bot_tokens`` and its ``tokens_revoked`` event), reinstalls by
another user (``authorize_as``),
channel posting with per-channel state (archived, bot not a member, read-only or thread-only),
scopes (a token without a method's scope gets ``missing_scope``; see ``withdraw_scope``), views
(modals open only with a ``trigger_id`` under 3 s old, once: ``new_trigger_id``; ``views.update``
edits an open modal by id; ``answer_submission`` applies an ack's ``response_action``),
users and channels, plus fault injection (error
bodies, 429s, 5xx, slow and malformed responses, dropped connections) and an optional per-channel
pacing model for ``chat.postMessage``.

Every request is recorded as a :class:`Call`, so tests can assert on exactly what the app sent.

Why one module: one fake server stands for one platform, and its state (workspaces, tokens,
channels, messages, views) is shared by every endpoint as Slack's is. What can live apart does:
signed requests (`signing`), Block Kit checks (`blockkit`), views (`view_render`, `view_state`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sandbox import blockkit
from bot.sandbox.loopback import Delay, LoopbackService, Reply

DEFAULT_SCOPES = "commands,chat:write,chat:write.public,channels:read,groups:read,users:read"
APP_ID = "A1"

# Slack sends these as JSON strings inside form bodies; tests want to inspect them as data.
_JSON_FIELDS = ("blocks", "view", "attachments", "metadata")
_MAX_TEXT = 40_000
_STORED_MESSAGE_FIELDS = (
    "blocks",
    "attachments",
    "thread_ts",
    "metadata",
    "unfurl_links",
    "unfurl_media",
    "mrkdwn",
)
# A trigger_id is good for one views.open/views.push within 3 s of the interaction (platform truth S6).
TRIGGER_TTL = 3.0
# Shaped like Slack's ("13345224609.738474920.8088930838d88f008e0"); the fake's first part is the
# issue time in epoch milliseconds, so anyone (tests, the sandbox page) can mint one without the fake.
_TRIGGER_RE = re.compile(r"(?P<issued_ms>[0-9]{13})\.[0-9]+\.[0-9a-f]{16,}")
# Channel-like IDs that are users or DMs: Slack resolves these itself, so the channel registry
# does not apply to them.
_DIRECT_PREFIXES = ("U", "W", "D")
_USER_PREFIXES = ("U", "W")


def bot_user_id_for(team_id: str) -> str:
    """Return the bot user ID the fake assigns to the app in ``team_id``."""
    return f"U0BOT{team_id}"


def bot_id_for(team_id: str) -> str:
    """Return the bot ID (``B…``) the fake assigns to the app in ``team_id``."""
    return f"B0BOT{team_id}"


def mint_trigger_id(issued_at: float | None = None) -> str:
    """A ``trigger_id`` as Slack puts in an interaction payload sent at ``issued_at`` (default now).

    ``views.open``/``views.push`` accept it once, within ``TRIGGER_TTL`` seconds of ``issued_at``.
    """
    issued = time.time() if issued_at is None else issued_at
    return f"{int(issued * 1000)}.{secrets.randbelow(10**9)}.{secrets.token_hex(10)}"


@dataclass
class Call:
    """One HTTP request the fake received.

    ``params`` merges query, form and JSON fields (with ``blocks``/``view``/``attachments``
    decoded); ``headers`` keys are lower-cased; ``path`` is the raw URL path, which tells
    ``response_url`` posts apart. ``refused`` lists why Slack would refuse its blocks or view
    (Slack-style errors with JSON pointers), empty when it would take them.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    at: float
    path: str = ""
    refused: list[str] = field(default_factory=list)


@dataclass
class _User:
    id: str
    team_id: str
    name: str
    is_admin: bool
    is_owner: bool
    is_primary_owner: bool
    is_restricted: bool
    is_ultra_restricted: bool
    tz: str | None  # None: a profile without a time zone (users.info then has no tz fields)
    is_bot: bool = False
    deleted: bool = False  # deactivated by an admin: users.info says `deleted: true`


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool
    is_member: bool
    is_archived: bool
    # Posting restrictions an admin can set (Enterprise Grid): only admins post, or replies only.
    read_only: bool = False
    thread_only: bool = False


@dataclass
class _Team:
    id: str
    name: str
    enterprise_id: str | None
    enterprise_name: str | None
    users: dict[str, _User] = field(default_factory=dict)
    channels: dict[str, _Channel] = field(default_factory=dict)


@dataclass
class _Token:
    value: str
    team_id: str
    scopes: str
    expires_at: float | None
    state: str = "active"  # "active" | "expired" | "revoked"


@dataclass
class _Grant:
    """A one-time authorization code or a refresh token: both are spent on first use."""

    team_id: str
    installer_user_id: str
    scopes: str
    spent: bool = False


@dataclass
class _Fault:
    kind: str  # "error" | "ratelimit" | "http" | "malformed" | "drop"
    remaining: int
    error: str = ""
    retry_after: int = 1
    status: int = 500


class _Reply(Reply):
    @classmethod
    def error(cls, error: str) -> _Reply:
        # Slack reports API-level failures with HTTP 200; only transport problems use other codes.
        return cls.json({"ok": False, "error": error})

    @classmethod
    def ratelimited(cls, retry_after: int) -> _Reply:
        return cls.json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)})


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass  # leave it as sent so validation can report invalid_blocks
    return params


def _parse_params(query: str, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
    elif raw and content_type in ("application/x-www-form-urlencoded", ""):
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return _decode_json_fields(params)


def _credentials(headers: dict[str, str], params: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None]:
    """Return (bearer token, basic-auth client credentials) from a request."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if scheme.lower() == "basic" and value.strip():
        try:
            client_id, _, client_secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return None, (client_id, client_secret)
    token = params.get("token")
    return (token if isinstance(token, str) and token else None), None


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _tz_fields(tz: str) -> dict[str, Any]:
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return {"tz_label": tz, "tz_offset": 0}
    offset = now.utcoffset()
    return {"tz_label": now.tzname() or tz, "tz_offset": int(offset.total_seconds()) if offset else 0}


class FakeSlack(LoopbackService):
    """A loopback Slack Web API server with OAuth, token rotation, state and fault injection."""

    def __init__(
        self,
        client_id: str = "111.222",
        client_secret: str = "fake-client-secret",
        token_rotation: bool = True,
        token_ttl_seconds: int = 43200,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_rotation = token_rotation
        self.token_ttl_seconds = token_ttl_seconds
        self.app_id = APP_ID
        self.calls: list[Call] = []
        self._refused: list[Call] = []
        self.rate_limited_count = 0
        # Wall clock rather than monotonic: time-travel in tests must expire tokens exactly as it
        # moves the app's own time.time()-based expiry maths.
        self._clock = clock
        self._lock = threading.RLock()
        self._seq = 0
        self._teams: dict[str, _Team] = {}
        self._tokens: dict[str, _Token] = {}
        self._codes: dict[str, _Grant] = {}
        # Every secret ever handed out, for the canary tests that grep logs and databases.
        self._issued: list[str] = []
        self._refresh_tokens: dict[str, _Grant] = {}
        self._refreshes: list[str] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        # The app's direct message (its Messages tab) with each user, by (team, user): a `D…` id.
        self._dms: dict[tuple[str, str], str] = {}
        self._views: dict[tuple[str, str], dict[str, Any]] = {}
        # Modals the user has open, by view id (views.open/push add, views.update edits, a close drops).
        self._modals: dict[str, dict[str, Any]] = {}
        self._spent_triggers: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[Delay]] = {}
        self._channel_rate: float | None = None
        self._last_post: dict[tuple[str, str], float] = {}
        self._authorize_as: tuple[str, str] = ("T1", "U1")
        self._deny_authorize = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        """Value for the app's ``SLACK_API_URL`` / the SDK's ``base_url`` (ends with ``/``)."""
        return f"{self.base_url}/api/"

    @property
    def authorize_url(self) -> str:
        """Stand-in for ``https://slack.com/oauth/v2/authorize``; auto-approves (see authorize_as)."""
        return f"{self.base_url}/oauth/v2/authorize"

    def response_url(self, path: str = "T1/1/abc") -> str:
        """A ``response_url`` for slash-command/interaction payloads; posts are recorded."""
        return f"{self.base_url}/hooks/{path}"

    # ------------------------------------------------------------------ workspaces

    def add_team(
        self,
        team_id: str = "T1",
        team_name: str = "Acme",
        enterprise_id: str | None = None,
        *,
        enterprise_name: str | None = None,
    ) -> None:
        """Register (or rename) a workspace."""
        with self._lock:
            if enterprise_id and not enterprise_name:
                enterprise_name = "Acme Grid"
            team = self._teams.get(team_id)
            if team is None:
                self._teams[team_id] = _Team(team_id, team_name, enterprise_id, enterprise_name)
            else:
                team.name = team_name
                team.enterprise_id, team.enterprise_name = enterprise_id, enterprise_name

    def _team(self, team_id: str) -> _Team:
        if team_id not in self._teams:
            self.add_team(team_id)
        return self._teams[team_id]

    def add_user(
        self,
        team_id: str,
        user_id: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        tz: str | None = "America/New_York",
        name: str | None = None,
        is_primary_owner: bool | None = None,
    ) -> None:
        """Register a user. Once a team has users, ``users.info`` for others is ``user_not_found``."""
        with self._lock:
            team = self._team(team_id)
            if is_primary_owner is None:
                # Slack has exactly one primary owner; default it to the first owner added.
                is_primary_owner = is_owner and not any(u.is_primary_owner for u in team.users.values())
            team.users[user_id] = _User(
                user_id,
                team_id,
                name or user_id.lower(),
                is_admin,
                is_owner,
                is_primary_owner,
                is_restricted,
                is_ultra_restricted,
                tz,
            )

    def deactivate_user(self, team_id: str, user_id: str, *, deleted: bool = True) -> None:
        """An admin deactivates ``user_id`` (``deleted=False`` reactivates): ``users.info`` then says
        ``deleted: true``, and posts to the user's DM still succeed, as Slack's do (see ``_post_message``)."""
        with self._lock:
            self._team(team_id).users[user_id].deleted = deleted

    def dm_channel(self, team_id: str, user_id: str) -> str:
        """The id (``D…``) of the app's direct message with ``user_id``: where a post to the user lands."""
        with self._lock:
            key = (team_id, user_id)
            if key not in self._dms:
                self._dms[key] = f"D{self._next_seq():08d}"
            return self._dms[key]

    def add_channel(
        self,
        team_id: str,
        channel_id: str,
        *,
        name: str = "leads",
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        read_only: bool = False,
        thread_only: bool = False,
    ) -> None:
        """Register a channel. Once a team has channels, unknown ones are ``channel_not_found``.

        ``read_only``: the app's posts get ``restricted_action_read_only_channel``; ``thread_only``:
        its top-level posts get ``restricted_action_thread_only_channel`` (thread replies go through).
        """
        with self._lock:
            self._team(team_id).channels[channel_id] = _Channel(
                channel_id, name, is_private, is_member, is_archived, read_only, thread_only
            )

    # ------------------------------------------------------------------ OAuth and tokens

    def issue_code(self, team_id: str = "T1", installer_user_id: str = "U1", scopes: str = DEFAULT_SCOPES) -> str:
        """Mint a one-time code that ``oauth.v2.access`` exchanges for a bot installation."""
        with self._lock:
            self._team(team_id)
            code = f"code-{team_id}-{secrets.token_hex(8)}"
            self._codes[code] = _Grant(team_id, installer_user_id, scopes)
            self._issued.append(code)
            return code

    def install(
        self, team_id: str = "T1", installer_user_id: str = "U1", scopes: str = DEFAULT_SCOPES
    ) -> dict[str, Any]:
        """Install without HTTP: returns the same body ``oauth.v2.access`` would (for seeding stores)."""
        with self._lock:
            self._team(team_id)
            return self._grant(team_id, installer_user_id, scopes, include_installer=True)

    def authorize_as(self, team_id: str = "T1", user_id: str = "U1", *, deny: bool = False) -> None:
        """Choose who approves at ``authorize_url`` (or make them press Cancel)."""
        with self._lock:
            self._team(team_id)
            self._authorize_as = (team_id, user_id)
            self._deny_authorize = deny

    def refresh_count(self, team_id: str | None = None) -> int:
        """How many successful ``grant_type=refresh_token`` exchanges happened (per team or total)."""
        with self._lock:
            return sum(1 for t in self._refreshes if team_id is None or t == team_id)

    def expire_token(self, token: str) -> None:
        """Make later calls with ``token`` fail with ``token_expired``."""
        with self._lock:
            self._tokens[token].state = "expired"

    def revoke_token(self, token: str) -> None:
        """Make later calls with ``token`` fail with ``token_revoked``."""
        with self._lock:
            self._tokens[token].state = "revoked"

    def revoke_bot_tokens(self, team_id: str) -> dict[str, Any]:
        """Revoke the app's tokens in ``team_id`` without uninstalling it (an admin's ``auth.revoke``,
        or Slack's own revocation): every access and refresh token dies, the app stays installed and
        can be reinstalled. Returns the ``tokens_revoked`` event Slack then sends."""
        self.revoke_team(team_id)
        return self.tokens_revoked_event(team_id)

    @staticmethod
    def tokens_revoked_event(team_id: str, *, user_ids: tuple[str, ...] = ()) -> dict[str, Any]:
        """The ``tokens_revoked`` event: ``tokens.bot`` names bot user ids, ``tokens.oauth`` user ids."""
        return {
            "type": "tokens_revoked",
            "tokens": {"oauth": list(user_ids), "bot": [bot_user_id_for(team_id)]},
            "event_ts": f"{time.time():.6f}",
        }

    def withdraw_scope(self, team_id: str, scope: str) -> None:
        """The team's tokens (and their refreshes) no longer carry ``scope``, as if the app had been
        installed without it: methods that need it answer ``missing_scope``."""
        with self._lock:
            for grant in [*self._tokens.values(), *self._refresh_tokens.values()]:
                if grant.team_id == team_id:
                    grant.scopes = ",".join(s for s in grant.scopes.split(",") if s != scope)

    def revoke_team(self, team_id: str) -> None:
        """Uninstall: revoke every access token and refresh token of the team."""
        with self._lock:
            for info in self._tokens.values():
                if info.team_id == team_id:
                    info.state = "revoked"
            for grant in self._refresh_tokens.values():
                if grant.team_id == team_id:
                    grant.spent = True

    def issued_secrets(self) -> list[str]:
        """Every code, access token and refresh token this fake ever issued."""
        with self._lock:
            return list(self._issued)

    def active_tokens(self, team_id: str) -> list[str]:
        """Access tokens of ``team_id`` that are neither expired nor revoked, oldest first."""
        with self._lock:
            owned = [info for info in self._tokens.values() if info.team_id == team_id]
            return [info.value for info in owned if not self._token_error(info)]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _grant(self, team_id: str, installer: str, scopes: str, *, include_installer: bool) -> dict[str, Any]:
        team = self._teams[team_id]
        access = f"xoxb-{team_id}-{self._next_seq()}-{secrets.token_hex(12)}"
        expires_at = self._clock() + self.token_ttl_seconds if self.token_rotation else None
        self._tokens[access] = _Token(access, team_id, scopes, expires_at)
        self._issued.append(access)
        body: dict[str, Any] = {"ok": True, "app_id": self.app_id}
        if include_installer:
            body["authed_user"] = {"id": installer}
        body.update(
            {
                "scope": scopes,
                "token_type": "bot",
                "access_token": access,
                "bot_user_id": bot_user_id_for(team_id),
                "team": {"id": team.id, "name": team.name},
                "enterprise": (
                    {"id": team.enterprise_id, "name": team.enterprise_name} if team.enterprise_id else None
                ),
                "is_enterprise_install": False,
            }
        )
        if self.token_rotation:
            refresh = f"xoxe-1-{secrets.token_hex(24)}"
            self._refresh_tokens[refresh] = _Grant(team_id, installer, scopes)
            self._issued.append(refresh)
            body["refresh_token"] = refresh
            body["expires_in"] = self.token_ttl_seconds
        return body

    def _token_error(self, info: _Token) -> str | None:
        if info.state == "revoked":
            return "token_revoked"
        if info.state == "expired" or (info.expires_at is not None and self._clock() >= info.expires_at):
            return "token_expired"
        return None

    # ------------------------------------------------------------------ recording

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (``"response_url"`` for posts to response URLs)."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def refusals(self) -> list[Call]:
        """Calls whose blocks or view Slack would refuse (answered ``invalid_blocks`` or the like).

        Kept through :meth:`clear`, so a refusal during a test's set-up still fails the test.
        """
        with self._lock:
            return list(self._refused)

    def forget_refusals(self) -> None:
        """For tests that send Slack an invalid payload on purpose."""
        with self._lock:
            self._refused.clear()

    def assert_no_refusals(self) -> None:
        """Raise :class:`~bot.sandbox.blockkit.InvalidPayload` listing every payload Slack would refuse."""
        blockkit.require_valid(
            [f"{c.method}: {error}" for c in self.refusals() for error in c.refused], "what the app sent"
        )

    def messages(self, channel: str, team_id: str | None = None) -> list[dict[str, Any]]:
        """Messages posted to ``channel`` in posting order, with ``chat.update`` edits applied.

        A user id stands for the app's DM with that user (in every team, unless ``team_id`` says which).
        """
        with self._lock:
            if channel.startswith(_USER_PREFIXES):
                ids = [dm for (team, user), dm in self._dms.items() if user == channel and team_id in (None, team)]
            else:
                ids = [channel]
            found = [m for c in ids for m in self._messages.get(c, []) if team_id is None or m["team"] == team_id]
            return copy.deepcopy(found)

    def published_view(self, user_id: str, team_id: str = "T1") -> dict[str, Any] | None:
        """The Home tab last published for ``user_id`` via ``views.publish``."""
        with self._lock:
            view = self._views.get((team_id, user_id))
            return copy.deepcopy(view)

    # ------------------------------------------------------------------ modals

    def new_trigger_id(self) -> str:
        """A ``trigger_id`` for an interaction happening now (on this fake's clock)."""
        return mint_trigger_id(self._clock())

    def modal(self, view_id: str) -> dict[str, Any] | None:
        """The open modal ``view_id`` as the user sees it now (after updates), or None once closed."""
        with self._lock:
            return copy.deepcopy(self._modals.get(view_id))

    def open_modals(self) -> list[dict[str, Any]]:
        """Every open modal, in the order they were opened, as the user sees each now."""
        with self._lock:
            return copy.deepcopy(list(self._modals.values()))

    def close_view(self, view_id: str) -> None:
        """The user closes the modal (its stack with it): later ``views.update`` calls get ``not_found``."""
        with self._lock:
            root = self._modals.get(view_id, {}).get("root_view_id", view_id)
            for open_id in [i for i, v in self._modals.items() if v["root_view_id"] == root]:
                del self._modals[open_id]

    def answer_submission(self, view_id: str, ack: dict[str, Any] | None) -> None:
        """Apply the app's answer to a ``view_submission`` of ``view_id`` as Slack does.

        An empty ack closes the view; ``response_action`` ``update`` replaces it (same id, new hash),
        ``push`` stacks a view on it, ``clear`` closes the whole stack, ``errors`` leaves it open.
        """
        action = (ack or {}).get("response_action")
        with self._lock:
            current = self._modals.get(view_id)
            if current is None or action == "errors":
                return
            if action == "update":
                self._modals[view_id] = self._modal_body(ack["view"], current["team_id"], previous=current)
            elif action == "push":
                pushed = self._modal_body(ack["view"], current["team_id"], root=current)
                self._modals[pushed["id"]] = pushed
            elif action == "clear":
                self.close_view(view_id)
            else:
                del self._modals[view_id]

    def clear(self) -> None:
        """Forget recorded calls, messages, views, pending faults and counters (keeps installs)."""
        with self._lock:
            self.calls.clear()
            self._messages.clear()
            self._views.clear()
            self._modals.clear()
            self._faults.clear()
            self._delays.clear()
            self._refreshes.clear()
            self._last_post.clear()
            self.rate_limited_count = 0

    def forget_calls(self) -> None:
        """Forget recorded calls only: what Slack shows (messages, views) stays as it is."""
        with self._lock:
            self.calls.clear()

    def mark(self, method: str = "response_url") -> int:
        """How many calls of ``method`` so far; pair with :meth:`next_call` to await the one after."""
        return len(self.calls_to(method))

    async def next_call(self, mark: int, method: str = "response_url", timeout: float = 5.0) -> Call:
        """The first ``method`` call after ``mark`` (e.g. the answer to a button press)."""
        return (await self.wait_for_calls(method, mark + 1, timeout))[mark]

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Await until ``count`` calls of ``method`` arrived (listeners run after the ack)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.01)

    def wait_for_calls_sync(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Blocking variant of :meth:`wait_for_calls` for sync tests."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            time.sleep(0.01)

    # ------------------------------------------------------------------ fault injection

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def fail_next(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 200 ``{"ok": false, "error": error}``."""
        self._add_fault(method, _Fault("error", times, error=error))

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 429, ``Retry-After`` and ``ratelimited``."""
        self._add_fault(method, _Fault("ratelimit", times, retry_after=retry_after))

    def http_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls with ``status`` and a plain-text body."""
        self._add_fault(method, _Fault("http", times, status=status))

    def malformed_next(self, method: str, times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 200 and an HTML (non-JSON) body."""
        self._add_fault(method, _Fault("malformed", times))

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without any reply for the next ``times`` calls."""
        self._add_fault(method, _Fault("drop", times))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``times`` calls (combines with other faults)."""
        with self._lock:
            self._delays.setdefault(method, []).append(Delay(seconds, times))

    def enforce_channel_rate(self, per_second: float | None = 1.0) -> None:
        """Answer ``chat.postMessage`` with 429 when a channel is posted to faster than this.

        ``None`` turns pacing off. Rejections are counted in ``rate_limited_count``.
        """
        with self._lock:
            self._channel_rate = per_second
            self._last_post.clear()

    @staticmethod
    def _pop(queue: list[Any] | None) -> Any:
        """Consume one use of the oldest queued fault/delay, FIFO per method."""
        if not queue:
            return None
        head = queue[0]
        head.remaining -= 1
        if head.remaining <= 0:
            queue.pop(0)
        return head

    def _fault_reply(self, fault: _Fault) -> _Reply:
        if fault.kind == "error":
            return _Reply.error(fault.error)
        if fault.kind == "ratelimit":
            return _Reply.ratelimited(fault.retry_after)
        if fault.kind == "http":
            return _Reply(fault.status, f"{fault.status} fake upstream error".encode(), "text/plain")
        if fault.kind == "malformed":
            return _Reply(200, b"<html><body>upstream hiccup</body></html>", "text/html")
        return _Reply(0, b"", drop=True)

    # ------------------------------------------------------------------ request handling

    def _handle(self, verb: str, raw_path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        split = urlsplit(raw_path)
        path = split.path
        params = _parse_params(split.query, headers, raw)
        token, basic = _credentials(headers, params)
        if path.startswith("/api/"):
            method = path[len("/api/") :]

            def produce() -> _Reply:
                return self._api(method, params, token, basic, call.refused)
        elif path.startswith("/hooks/"):
            method = "response_url"

            def produce() -> _Reply:
                # Like an incoming webhook, a response URL answers a bad payload with a 4xx and the error.
                if call.refused:
                    return _Reply(400, b"invalid_blocks", "text/plain")
                return _Reply(200, b"ok", "text/plain")
        elif path == "/oauth/v2/authorize" and verb == "GET":
            method = "oauth.v2.authorize"

            def produce() -> _Reply:
                return self._authorize(params)
        else:
            method = f"{verb} {path}"

            def produce() -> _Reply:
                return _Reply(404, b"not found", "text/plain")

        call = Call(method, params, headers, token, self._clock(), path, blockkit.request_errors(method, params))
        with self._lock:
            self.calls.append(call)
            if call.refused:
                self._refused.append(call)
            delay = self._pop(self._delays.get(method))
        if delay is not None:
            # Interruptible so stop() never waits for a long simulated timeout.
            self._stopping.wait(delay.seconds)
        with self._lock:
            fault = self._pop(self._faults.get(method))
            if fault is not None:
                return self._fault_reply(fault)
            return produce()

    def _authorize(self, params: dict[str, Any]) -> _Reply:
        if params.get("client_id") != self.client_id:
            return _Reply(400, b"invalid_client_id", "text/plain")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            return _Reply(400, b"redirect_uri is required by the fake to send the user back", "text/plain")
        if self._deny_authorize:
            query = {"error": "access_denied"}
        else:
            team_id, user_id = self._authorize_as
            query = {"code": self.issue_code(team_id, user_id, params.get("scope") or DEFAULT_SCOPES)}
        if "state" in params:
            query["state"] = params["state"]
        parts = urlsplit(redirect_uri)
        joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))
        return _Reply(302, b"", "text/plain", {"Location": location})

    def _api(
        self, method: str, params: dict[str, Any], token: str | None, basic: tuple[str, str] | None, refused: list[str]
    ) -> _Reply:
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, basic)
        handler = self._methods.get(method)
        if handler is None:
            return _Reply.error("unknown_method")
        if not token:
            return _Reply.error("not_authed")
        info = self._tokens.get(token)
        if info is None:
            return _Reply.error("invalid_auth")
        problem = self._token_error(info)
        if problem:
            return _Reply.error(problem)
        needed = self._required_scopes.get(method)
        if needed and needed not in info.scopes.split(","):
            return _Reply.json({"ok": False, "error": "missing_scope", "needed": needed, "provided": info.scopes})
        if refused:
            return self._refusal(method, refused)
        result = handler(self, params, info, self._teams[info.team_id])
        if isinstance(result, _Reply):
            return result
        if isinstance(result, str):
            return _Reply.error(result)
        return _Reply.json({"ok": True, **result})

    @staticmethod
    def _refusal(method: str, refused: list[str]) -> _Reply:
        messages = [f"[ERROR] {error}" for error in refused]
        if method in blockkit.VIEW_METHODS:
            # Slack reports a view it won't take as invalid_arguments, the details in response_metadata.
            return _Reply.json({"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": messages}})
        return _Reply.json(
            {"ok": False, "error": "invalid_blocks", "errors": refused, "response_metadata": {"messages": messages}}
        )

    def _oauth_v2_access(self, params: dict[str, Any], basic: tuple[str, str] | None) -> _Reply:
        client_id, client_secret = basic or (params.get("client_id"), params.get("client_secret"))
        if not client_id or client_id != self.client_id:
            return _Reply.error("invalid_client_id")
        if client_secret != self.client_secret:
            return _Reply.error("invalid_client")
        grant_type = params.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            grant = self._refresh_tokens.get(params.get("refresh_token") or "")
            if grant is None or grant.spent:
                return _Reply.error("invalid_refresh_token")
            grant.spent = True
            self._refreshes.append(grant.team_id)
            # Slack's refresh response carries no authed_user.
            body = self._grant(grant.team_id, grant.installer_user_id, grant.scopes, include_installer=False)
            return _Reply.json(body)
        if grant_type != "authorization_code":
            return _Reply.error("invalid_grant_type")
        grant = self._codes.get(params.get("code") or "")
        if grant is None or grant.spent:
            return _Reply.error("invalid_code")
        grant.spent = True
        body = self._grant(grant.team_id, grant.installer_user_id, grant.scopes, include_installer=True)
        return _Reply.json(body)

    # ------------------------------------------------------------------ Web API methods

    def _new_ts(self) -> str:
        micros = self._next_seq() * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _check_channel(self, team: _Team, channel_id: Any, *, need_member: bool = True) -> str | None:
        if not isinstance(channel_id, str) or not channel_id:
            return "channel_not_found"
        if channel_id.startswith(_DIRECT_PREFIXES):
            return None
        channel = team.channels.get(channel_id)
        if channel is None:
            # Unregistered teams accept any channel so simple tests need no setup.
            return "channel_not_found" if team.channels else None
        if channel.is_archived:
            return "is_archived"
        if need_member and not channel.is_member:
            return "not_in_channel"
        return None

    @staticmethod
    def _check_posting(team: _Team, channel_id: Any, params: dict[str, Any]) -> str | None:
        channel = team.channels.get(channel_id)
        if channel is None:
            return None
        if channel.read_only:
            return "restricted_action_read_only_channel"
        if channel.thread_only and not params.get("thread_ts"):
            return "restricted_action_thread_only_channel"
        return None

    @staticmethod
    def _check_content(params: dict[str, Any]) -> str | None:
        text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
        if blocks is not None and (
            not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks)
        ):
            return "invalid_blocks"
        if not text and not blocks and not attachments:
            return "no_text"
        if isinstance(text, str) and len(text) > _MAX_TEXT:
            return "msg_too_long"
        return None

    def _auth_test(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any]:
        slug = re.sub(r"[^a-z0-9-]", "", team.name.lower().replace(" ", "-")) or team.id.lower()
        body: dict[str, Any] = {
            "url": f"https://{slug}.slack.com/",
            "team": team.name,
            "user": "whatconverts",
            "team_id": team.id,
            "user_id": bot_user_id_for(team.id),
            "bot_id": bot_id_for(team.id),
            "is_enterprise_install": False,
        }
        if team.enterprise_id:
            body["enterprise_id"] = team.enterprise_id
        return body

    def _auth_revoke(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any]:
        test = _truthy(params.get("test", ""))
        if not test:
            info.state = "revoked"
        return {"revoked": not test}

    def _direct(self, team: _Team, channel: Any, params: dict[str, Any]) -> tuple[Any, str | None]:
        """Where a post to ``channel`` lands, or the error Slack answers: a user id means the app's DM
        with that user (its Messages tab; chat:write is enough, no conversations.open), and Slack
        answers with the DM's ``D…`` id. Anything else lands where it says."""
        if not isinstance(channel, str) or not channel.startswith(_USER_PREFIXES):
            return channel, None
        if team.users and channel not in team.users and channel != bot_user_id_for(team.id):
            return channel, "channel_not_found"  # no such user: Slack can't resolve the channel
        if params.get("thread_ts"):
            # A reply names the conversation its parent is in (the D… id). Whether Slack resolves a
            # user id here too is unconfirmed; refusing it keeps the app right under either reading.
            return channel, "channel_not_found"
        # A deactivated user's DM still takes the post: Slack answers ok and keeps the message
        # (slackapi/python-slack-sdk#1156, "chat_postMessage succeeds to deleted user": "Even if a user
        # is deactivated, their channel histories still exist"; Slack's advice is to check `deleted`
        # in users.info before sending). So nothing here tells the app; only users.info does.
        return self.dm_channel(team.id, channel), None

    def _post_message(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str | _Reply:
        channel, problem = self._direct(team, params.get("channel"), params)
        problem = problem or (
            self._check_channel(team, channel)
            or self._check_posting(team, channel, params)
            or self._check_content(params)
        )
        if problem:
            return problem
        if self._channel_rate:
            key, now = (team.id, channel), time.monotonic()
            last = self._last_post.get(key)
            interval = 1.0 / self._channel_rate
            if last is not None and now - last < interval:
                self.rate_limited_count += 1
                return _Reply.ratelimited(max(1, math.ceil(interval - (now - last))))
            self._last_post[key] = now
        ts = self._new_ts()
        message: dict[str, Any] = {
            "type": "message",
            "ts": ts,
            "user": bot_user_id_for(team.id),
            "bot_id": bot_id_for(team.id),
            "app_id": self.app_id,
            "team": team.id,
            "text": params.get("text") or "",
        }
        for key in _STORED_MESSAGE_FIELDS:
            if key in params:
                message[key] = params[key]
        self._messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _update(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        channel, ts = params.get("channel"), params.get("ts")
        if isinstance(channel, str) and channel.startswith(_USER_PREFIXES):
            return "channel_not_found"  # an edit names the conversation (the DM's D… id), not the user
        problem = self._check_channel(team, channel)
        if problem:
            return problem
        message = next((m for m in self._messages.get(channel, []) if m["ts"] == ts and m["team"] == team.id), None)
        if message is None:
            return "message_not_found"
        if "blocks" in params or "attachments" in params or "text" in params:
            problem = self._check_content({**message, **params})
            if problem:
                return problem
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": bot_user_id_for(team.id), "ts": self._new_ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": copy.deepcopy(message)}

    def _post_ephemeral(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        user = params.get("user")
        problem = self._check_channel(team, params.get("channel")) or self._check_content(params)
        if problem:
            return problem
        if not user or (team.users and user not in team.users):
            return "user_not_in_channel"
        return {"message_ts": self._new_ts()}

    def _view_body(self, view: dict[str, Any], team: _Team) -> dict[str, Any]:
        view_id = f"V{self._next_seq():08d}"
        out: dict[str, Any] = {
            "id": view_id,
            "team_id": team.id,
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "private_metadata": "",
            "callback_id": "",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": bot_id_for(team.id),
        }
        out.update(copy.deepcopy(view))
        return out

    def _views_publish(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        user_id, view = params.get("user_id"), params.get("view")
        if not user_id or not isinstance(view, dict) or "type" not in view:
            return "invalid_arguments"
        current = self._views.get((team.id, user_id))
        if params.get("hash") and current is not None and params["hash"] != current["hash"]:
            return "hash_conflict"
        out = self._view_body(view, team)
        self._views[(team.id, user_id)] = out
        return {"view": copy.deepcopy(out)}

    def _triggered_view(self, params: dict[str, Any]) -> dict[str, Any] | str:
        """The view of a views.open/push, its trigger spent; or the error Slack would answer."""
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict) or "type" not in view:
            return "invalid_arguments"
        return self._spend_trigger(params["trigger_id"]) or view

    def _views_open(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        view = self._triggered_view(params)
        if isinstance(view, str):
            return view
        out = self._modal_body(view, team.id)
        self._modals[out["id"]] = out
        return {"view": copy.deepcopy(out)}

    def _views_push(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        # Slack stacks the view on the modal the trigger's interaction came from; the fake keeps no
        # link from triggers to views, so it stacks on the team's most recently opened modal.
        view = self._triggered_view(params)
        if isinstance(view, str):
            return view
        below = next((v for v in reversed(self._modals.values()) if v["team_id"] == team.id), None)
        if below is None:
            return "not_found"
        out = self._modal_body(view, team.id, root=below)
        self._modals[out["id"]] = out
        return {"view": copy.deepcopy(out)}

    def _views_update(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        # No 3-second limit here: a view id stays good while the modal is open (hours).
        view, view_id, external_id = params.get("view"), params.get("view_id"), params.get("external_id")
        if not isinstance(view, dict) or "type" not in view or bool(view_id) == bool(external_id):
            return "invalid_arguments"
        current = self._modals.get(view_id) if view_id else None
        if external_id:
            current = next((v for v in self._modals.values() if v.get("external_id") == external_id), None)
        if current is None or current["team_id"] != team.id:
            return "not_found"
        if params.get("hash") and params["hash"] != current["hash"]:
            return "hash_conflict"
        out = self._modal_body(view, team.id, previous=current)
        self._modals[out["id"]] = out
        return {"view": copy.deepcopy(out)}

    def _spend_trigger(self, trigger: Any) -> str | None:
        found = _TRIGGER_RE.fullmatch(trigger) if isinstance(trigger, str) else None
        if found is None:
            return "invalid_trigger_id"
        if self._clock() - int(found["issued_ms"]) / 1000 > TRIGGER_TTL:
            return "expired_trigger_id"
        if trigger in self._spent_triggers:
            return "exchanged_trigger_id"
        self._spent_triggers.add(trigger)
        return None

    def _modal_body(
        self,
        view: dict[str, Any],
        team_id: str,
        *,
        previous: dict[str, Any] | None = None,
        root: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A modal as Slack returns it: `previous` is the view it replaces (same id, new hash),
        `root` the view it is pushed onto."""
        out = self._view_body(view, self._teams[team_id])
        if previous is not None:
            out.update({k: previous[k] for k in ("id", "root_view_id", "previous_view_id")})
        elif root is not None:
            out.update(root_view_id=root["root_view_id"], previous_view_id=root["id"])
        return out

    def _channel_body(self, team: _Team, channel: _Channel) -> dict[str, Any]:
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": 1_700_000_000,
            "is_archived": channel.is_archived,
            "is_general": False,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_member": channel.is_member,
            "context_team_id": team.id,
            "creator": next(iter(team.users), "U1"),
        }

    def _lookup_channel(self, team: _Team, channel_id: Any) -> _Channel | None:
        if not isinstance(channel_id, str) or not channel_id:
            return None
        channel = team.channels.get(channel_id)
        if channel is None and not team.channels:
            return _Channel(channel_id, channel_id.lower(), False, True, False)
        return channel

    def _conversations_info(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        channel = self._lookup_channel(team, params.get("channel"))
        # Like Slack, a private channel the bot is not in is invisible to it.
        if channel is None or (channel.is_private and not channel.is_member):
            return "channel_not_found"
        return {"channel": self._channel_body(team, channel)}

    def _conversations_join(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        channel = self._lookup_channel(team, params.get("channel"))
        if channel is None:
            return "channel_not_found"
        if channel.is_private:
            return "method_not_supported_for_channel_type"
        if channel.is_archived:
            return "is_archived"
        body: dict[str, Any] = {}
        if channel.is_member:
            body["warning"] = "already_in_channel"
        channel.is_member = True
        body["channel"] = self._channel_body(team, channel)
        return body

    def _users_info(self, params: dict[str, Any], info: _Token, team: _Team) -> dict[str, Any] | str:
        user_id = params.get("user")
        if not isinstance(user_id, str) or not user_id:
            return "user_not_found"
        user = team.users.get(user_id)
        if user_id == bot_user_id_for(team.id):
            user = _User(user_id, team.id, "whatconverts", *([False] * 5), "America/Los_Angeles", is_bot=True)
        elif user is None:
            if team.users:
                return "user_not_found"
            user = _User(user_id, team.id, user_id.lower(), *([False] * 5), "America/New_York")
        return {
            "user": {
                "id": user.id,
                "team_id": user.team_id,
                "name": user.name,
                "deleted": user.deleted,
                "real_name": user.name,
                **({"tz": user.tz, **_tz_fields(user.tz)} if user.tz else {}),
                "profile": {"real_name": user.name, "display_name": user.name, "team": user.team_id},
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_primary_owner": user.is_primary_owner,
                "is_restricted": user.is_restricted,
                "is_ultra_restricted": user.is_ultra_restricted,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "updated": 1_700_000_000,
            }
        }

    # The scope each method needs (a token without it gets missing_scope, naming it in `needed`).
    _required_scopes: ClassVar[dict[str, str]] = {
        "chat.postMessage": "chat:write",
        "chat.update": "chat:write",
        "chat.postEphemeral": "chat:write",
    }

    _methods: ClassVar[dict[str, Callable[..., Any]]] = {
        "auth.test": _auth_test,
        "auth.revoke": _auth_revoke,
        "chat.postMessage": _post_message,
        "chat.update": _update,
        "chat.postEphemeral": _post_ephemeral,
        "views.publish": _views_publish,
        "views.open": _views_open,
        "views.push": _views_push,
        "views.update": _views_update,
        "conversations.info": _conversations_info,
        "conversations.join": _conversations_join,
        "users.info": _users_info,
    }
