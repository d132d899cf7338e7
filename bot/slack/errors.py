"""Slack Web API failures as a closed vocabulary; the outbox decides by type, never by string.

`classify` is the only place that reads Slack's error strings.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError

# Permanent for that channel (platform truth S8): a read-only channel lets only admins post, a
# thread-only one takes replies, never a card.
CHANNEL_GONE = {
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "ekm_access_denied",
    # A person's alerts (posted to a user id): a disabled user as conversations.open answers it, and
    # an app whose Messages tab is off. Slack answers a post to a deactivated user's DM with ok (see
    # bot.sandbox.slack), so users.info is checked first; these are for when Slack does refuse.
    "user_disabled",
    "user_not_found",
    "messages_tab_disabled",
}
TOKEN_DEAD = {"token_revoked", "account_inactive", "invalid_auth", "not_authed", "team_disabled"}
OUR_BUG = {
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "invalid_arguments",
    "too_many_attachments",
    "invalid_blocks_format",
}
MESSAGE_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}
UNCERTAIN = {"internal_error", "fatal_error", "request_timeout", "service_unavailable"}


class SlackError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SlackRateLimited(SlackError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


class SlackChannelGone(SlackError):
    """The channel can't take our messages (archived, deleted, bot not invited)."""


class SlackTokenRevoked(SlackError):
    """The workspace's token no longer works: it waits for a reinstall (nothing is deleted)."""


class SlackMissingScope(SlackError):
    """The token lacks a scope the call needs (`needed`, when Slack names it): only a reinstall
    grants it (S8), so the workspace waits for one; retrying won't help."""

    def __init__(self, reason: str, *, needed: str | None) -> None:
        super().__init__(reason)
        self.needed = needed


class SlackTokenExpired(SlackError):
    """The token outlived its 12 hours (token rotation): refresh it and try once more."""


class SlackBadMessage(SlackError):
    """Slack refused the message itself: our bug, retrying won't help."""


class SlackMessageGone(SlackError):
    """The card to edit was deleted (or can't be edited any more): stop trying."""


class SlackTransient(SlackError):
    """Try again later; `uncertain` when the message may have been posted anyway."""

    def __init__(self, reason: str, *, uncertain: bool) -> None:
        super().__init__(reason)
        self.uncertain = uncertain


def error_code(exc: SlackApiError) -> str:
    """Slack's error string, also when a 5xx came back with a text body instead of JSON."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"http_{exc.response.status_code}")


def classify(exc: BaseException) -> SlackError:
    """Map an exception from an AsyncWebClient call to one of the types above."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        # A 5xx with a text body leaves `data` a string, not the usual {"ok": false, "error": …}.
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or "")
        if response.status_code == 429 or error == "ratelimited":
            try:
                retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
            except (TypeError, ValueError):
                retry_after = 1.0
            return SlackRateLimited(max(retry_after, 0.5))
        if error in CHANNEL_GONE:
            return SlackChannelGone(error)
        if error == "token_expired":
            return SlackTokenExpired(error)
        if error == "missing_scope":
            return SlackMissingScope(error, needed=str(data.get("needed") or "") or None)
        if error in TOKEN_DEAD:
            return SlackTokenRevoked(error)
        if error in OUR_BUG:
            return SlackBadMessage(error)
        if error in MESSAGE_GONE:
            return SlackMessageGone(error)
        if response.status_code >= 500 or error in UNCERTAIN:
            return SlackTransient(error or f"http_{response.status_code}", uncertain=True)
        # No error code at all (e.g. an unparseable 200): the post may have happened.
        return SlackTransient(error or "unknown_error", uncertain=not error)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return SlackTransient("timeout", uncertain=True)
    if isinstance(exc, aiohttp.ClientError):
        return SlackTransient(type(exc).__name__, uncertain=True)
    if isinstance(exc, ValueError):
        # slack_sdk raises ValueError-family errors for bodies that aren't JSON.
        return SlackTransient("malformed_response", uncertain=True)
    raise exc
