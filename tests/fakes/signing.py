"""The loopback fake lives in `bot.sandbox.signing` (the demo uses it too); tests import it from here."""

from bot.sandbox.signing import *  # noqa: F403
