"""What `whatconverts-slack COMMAND --help` says: what the command does and every variable it reads."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from bot.config import PURPOSE, SLACK_REQUIRED, Settings, variables

WIDTH = 100
FROM_ENV = (
    "Settings are read from the environment and from a .env file in the current directory "
    "(ENV_FILE names another file); the environment wins."
)


@dataclass(frozen=True)
class Command:
    summary: str  # its line in `whatconverts-slack --help`
    description: str  # the top of its own --help
    reads: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    settings_from: str = FROM_ENV


# Only the HTTP side reads these; `worker` serves no pages and binds no port.
_WEB_ONLY = ("PORT", "SLACK_AUTHORIZE_URL", "PRIVACY_POLICY_URL", "SUPPORT_URL")
_LOGS = ("LOG_LEVEL", "LOG_FORMAT")

COMMANDS: dict[str, Command] = {
    "serve": Command(
        "HTTP server and scheduler in one process",
        "Serves Slack's requests, the install and connect pages and the webhooks, and (unless "
        "--no-scheduler) polls WhatConverts and sends the cards. Logs the install URL, "
        "APP_BASE_URL/slack/install, and warns when APP_BASE_URL is not https. On SQLite it migrates "
        "the database itself; on PostgreSQL it refuses to start until `migrate` has run. "
        "A busy port or a missing setting stops it with one line each.",
        reads=tuple(variables()),
        required=SLACK_REQUIRED,
    ),
    "worker": Command(
        "scheduler only, no HTTP",
        "Polls WhatConverts and sends the cards, without serving HTTP: run it next to "
        "`serve --no-scheduler` (the Procfile's worker). Any number may run against one PostgreSQL.",
        reads=tuple(v for v in variables() if v not in _WEB_ONLY),
        required=SLACK_REQUIRED,
    ),
    "demo": Command(
        "the app against built-in fake Slack and WhatConverts, at /sandbox",
        "Runs the real app on 127.0.0.1 against stand-ins for Slack and WhatConverts, with SQLite in a "
        "temporary folder: it installs itself, connects an API key and subscribes two channels, then "
        "leads arrive every few seconds. Open the URL it prints. Ctrl-C stops it. It refuses to start "
        "while SLACK_SIGNING_SECRET, SLACK_CLIENT_ID or SLACK_CLIENT_SECRET is set.",
        reads=("PORT",),
        settings_from="PORT is read from the environment (make demo PORT=3100); .env is not read.",
    ),
    "migrate": Command(
        "apply database migrations and say which",
        "Brings the database at DATABASE_URL up to date and prints each migration it applied, or "
        "that it was up to date already. Run it before starting a new release on PostgreSQL (the "
        "Procfile's release step); on SQLite `serve` and `worker` also do it at start.",
        reads=("DATABASE_URL", *_LOGS),
    ),
    "manifest": Command(
        "print manifest.yml for a public https URL",
        "Prints the Slack app manifest with every request URL under --base-url, ready to paste into "
        "https://api.slack.com/apps (Create New App, From an app manifest). Slack sends requests only "
        "to public https URLs, so an http URL is refused.",
        settings_from="Reads no settings: the URL comes from --base-url (use the same URL for APP_BASE_URL).",
    ),
    "gen-key": Command(
        "print a new Fernet key for TOKEN_ENCRYPTION_KEYS",
        "Prints a new random key for TOKEN_ENCRYPTION_KEYS. To rotate, put the new key first "
        "(NEW,OLD), restart, then run `rotate-keys`.",
        settings_from="Reads no settings.",
    ),
    "rotate-keys": Command(
        "re-encrypt every stored secret with the newest key",
        "Re-encrypts every stored token and secret with the first key of TOKEN_ENCRYPTION_KEYS, in "
        "one transaction, and says how many. Remove an old key only after it reported success.",
        reads=("DATABASE_URL", "TOKEN_ENCRYPTION_KEYS", *_LOGS),
        required=("TOKEN_ENCRYPTION_KEYS",),
    ),
}


def epilog(command: Command) -> str:
    """The variables a command reads, one a line with what each is for."""
    lines = [textwrap.fill(command.settings_from, WIDTH)]
    if command.reads:
        lines += ["", "environment variables:"]
        width = max(len(name) for name in command.reads) + 2
        for name in command.reads:
            lines.append(f"  {name:<{width}}{PURPOSE.get(name, '')}{_note(name, command)}")
    return "\n".join(lines)


def _note(name: str, command: Command) -> str:
    if name in command.required:
        return " (required)"
    default = Settings.model_fields[name.lower()].default
    return f" (default {default})" if default is not None else ""
