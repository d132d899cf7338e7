"""The loopback fake lives in `bot.sandbox.slack` (the demo uses it too); tests import it from here."""

from bot.sandbox.slack import *  # noqa: F403
