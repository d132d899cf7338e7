"""The loopback fake lives in `bot.sandbox.whatconverts` (the demo uses it too); tests import it from here."""

from bot.sandbox.whatconverts import *  # noqa: F403
