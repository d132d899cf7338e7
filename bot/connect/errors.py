"""What can go wrong while connecting an account, each error a short answer on the page or in Slack."""

from __future__ import annotations

from bot.errors import UserFacingError


class LinkExpired(UserFacingError):
    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            "This connect link has expired or was already used. "
            "Run /whatconverts connect in Slack again for a new one (links last 10 minutes)."
        )


class InvalidCredentials(UserFacingError):
    """The API rejected what the user typed; shown on the form again."""


class LabelTaken(UserFacingError):
    """A link that makes a new connection was given the label of an existing one."""

    status_code = 409

    def __init__(self, label: str) -> None:
        super().__init__(
            f'A connection called "{label}" already exists, and this link can only make a new one. '
            f'Choose another label. To give "{label}" a new key, its owner or a workspace admin '
            f"runs /whatconverts connect {label} in Slack."
        )


class KeyAlreadyConnected(UserFacingError):
    """The key is already connected in this workspace: a second connection would only split its view
    of one quota. Reconnecting the existing one is what the user wants."""

    status_code = 409

    def __init__(self, label: str) -> None:
        super().__init__(
            f'This API key is already connected in this workspace as "{label}". Nothing new was connected. '
            f'To give "{label}" fresh credentials, run /whatconverts connect {label} in Slack (or use Reconnect '
            f"on the app's Home tab); to connect another account, use its own API key."
        )
