"""The few typed errors our code raises; one boundary turns each into a short answer.

Listeners raise these instead of catching and logging; `bot.slack.boundary` maps them to an
ephemeral reply (Slack) or a page and status (web).
"""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the user can fix or should know.

    `message` is plain text, escaped where it is shown, unless `mrkdwn` is set: then it is Slack
    mrkdwn already (a real `<#C…>` mention, say), with any user-typed part escaped by the raiser.
    """

    status_code = 400

    def __init__(self, message: str, *, mrkdwn: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.mrkdwn = mrkdwn


class UsageError(UserFacingError):
    """A malformed or unknown command."""


class PermissionDenied(UserFacingError):
    status_code = 403


class NotFound(UserFacingError):
    status_code = 404


class NotInstalled(UserFacingError):
    """The workspace has no (or a revoked) installation."""

    status_code = 200


class SlackTokenUnavailable(Exception):
    """A workspace's bot token is gone or could not be refreshed; its work stops."""
