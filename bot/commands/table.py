"""The `/whatconverts` subcommand table and its parser.

One table maps each subcommand (and aliases) to a handler; anything unmatched gets a usage
line naming what wasn't understood. Handlers receive a parsed `Invocation` and return a reply
dict; they never touch SQL or raw payloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.filters import visible
from bot.errors import UsageError
from bot.slack.payloads import Command, tokenize

MAX_TEXT = 2000


def echo(word: str) -> str:
    """A word the user typed, for a code span in a usage line (the error boundary escapes it)."""
    cut = word if len(word) <= 40 else word[:40] + "…"
    return visible(cut).replace("`", "'")


@dataclass(frozen=True)
class Invocation:
    """A command split into its subcommand name and the words after it."""

    command: Command
    name: str
    args: tuple[str, ...]
    client: AsyncWebClient | None = None
    installer_user_id: str | None = None


Handler = Callable[[Invocation], Awaitable[dict]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    aliases: tuple[str, ...] = field(default=())
    # Handlers that touch the database, Slack or WhatConverts run after an empty ack and answer
    # through response_url: the ack then costs microseconds, however busy the process is.
    slow: bool = False


class CommandTable:
    """Subcommands by name and alias."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subcommand] = {}
        self._ordered: list[Subcommand] = []

    def add(self, sub: Subcommand) -> None:
        for name in (sub.name, *sub.aliases):
            if name in self._by_name:
                raise ValueError(f"subcommand {name!r} registered twice")
            self._by_name[name] = sub
        self._ordered.append(sub)

    @property
    def usages(self) -> Sequence[tuple[str, str]]:
        return [(s.usage, s.summary) for s in self._ordered]

    @property
    def names(self) -> Sequence[str]:
        return [s.name for s in self._ordered]

    def find(self, name: str) -> Subcommand | None:
        """The subcommand called `name` or one of its aliases (any case)."""
        return self._by_name.get(name.lower())

    def parse(
        self, command: Command, *, client: AsyncWebClient | None = None, installer_user_id: str | None = None
    ) -> tuple[Subcommand, Invocation]:
        """The subcommand and its arguments, or UsageError naming what wasn't understood."""
        if len(command.text) > MAX_TEXT:
            raise UsageError("That command is too long.")
        words = tokenize(command.text)
        name = words[0].lower() if words else "help"
        sub = self._by_name.get(name)
        if sub is None:
            raise UsageError(f"I don't know the subcommand `{echo(name)}`.")
        invocation = Invocation(
            command=command,
            name=sub.name,
            args=tuple(words[1:]),
            client=client,
            installer_user_id=installer_user_id,
        )
        return sub, invocation
