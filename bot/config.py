"""Typed configuration from the environment (and a `.env` file), with errors an operator can act on.

The variable names are a contract (DESIGN.md, "Configuration"); keep them. Every problem found is
reported at once, one line per variable saying what it is for and how to fix it, so nobody has
to start the app four times to learn four variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import EllipsisType
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Read from the current directory unless ENV_FILE names another file (ENV_FILE= reads none).
DEFAULT_ENV_FILE = ".env"

# What to tell an operator about each variable when it is missing or malformed.
HOW_TO_FIX: dict[str, str] = {
    "SLACK_SIGNING_SECRET": "copy it from your Slack app's Basic Information page",
    "SLACK_CLIENT_ID": "copy it from your Slack app's Basic Information page",
    "SLACK_CLIENT_SECRET": "copy it from your Slack app's Basic Information page",
    "TOKEN_ENCRYPTION_KEYS": "generate one with `whatconverts-slack gen-key` (comma-separated, newest first)",
    "DATABASE_URL": "use an async SQLAlchemy URL, e.g. sqlite+aiosqlite:///./whatconverts-slack.db "
    "or postgresql+asyncpg://user@host/db (postgres:// works too)",
    "APP_BASE_URL": "set it to the public https:// URL of this app, e.g. https://leads.example.com",
    "PORT": "set it to a TCP port number, e.g. 3000",
    "POLL_MIN_INTERVAL_SECONDS": "set it to a whole number of seconds (60 or more recommended)",
    "WHATCONVERTS_DAILY_QUOTA": "set it to a whole number of requests per day, or leave it unset",
    "WHATCONVERTS_QUOTA_SHARE": "set it to a fraction above 0 and at most 1, e.g. 0.8 for 80 %",
    "LOG_LEVEL": "use one of DEBUG, INFO, WARNING, ERROR",
    "LOG_FORMAT": "use `text` or `json`",
    "UPDATE_SWEEP_SECONDS": "set it to a whole number of seconds (900, every 15 minutes, is the default)",
    "UPDATE_SWEEP_HOURS": "set it to a whole number of hours, shorter than DELIVERY_RETENTION_DAYS (default 24)",
    "WHATCONVERTS_OAUTH_CLIENT_SECRET": "set it with WHATCONVERTS_OAUTH_CLIENT_ID, or unset both to use API keys",
    "PRIVACY_POLICY_URL": "set it to the https:// address of your privacy policy, or leave it unset",
    "SUPPORT_URL": "set it to an https:// page or a mailto: address where users get help, or leave it unset",
    "ENV_FILE": "point it at an existing file, or set it empty to read no file",
}

SLACK_REQUIRED = ("SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS")


class ConfigError(Exception):
    """Settings are missing or malformed; one line per variable, each naming it and how to fix it."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(dict.fromkeys(problems))  # each variable once, in the order found
        self.lines = [_line(variable, problem) for variable, problem in self.problems]
        super().__init__("\n".join(self.lines))

    @property
    def variables(self) -> list[str]:
        return [variable for variable, _ in self.problems]


def _line(variable: str, problem: str) -> str:
    purpose = PURPOSE.get(variable)
    hint = HOW_TO_FIX.get(variable, "see the configuration table in README.md")
    return f"{variable}{f' ({purpose})' if purpose else ''} {problem}: {hint}"


def _url(value: str, variable: str, schemes: tuple[str, ...] = ("http://", "https://")) -> str:
    if not value.startswith(schemes):
        raise ValueError(f"{variable} must start with {' or '.join(schemes)}")
    return value


class Settings(BaseSettings):
    """Every setting the app reads. Construct through `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        # `SLACK_CLIENT_ID=` (a line of .env.example copied but not filled in) means unset, not "".
        env_ignore_empty=True,
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./whatconverts-slack.db",
        description="where connections, subscriptions and the outbox are stored",
    )
    app_base_url: str = Field(
        default="http://localhost:3000",
        description="public https URL of this app: install redirect, connect links, webhook URLs",
    )
    port: int = Field(default=3000, ge=1, le=65535, description="HTTP port to listen on")

    slack_signing_secret: SecretStr | None = Field(default=None, description="proves requests come from Slack")
    slack_client_id: str | None = Field(default=None, description="identifies the Slack app when installing")
    slack_client_secret: SecretStr | None = Field(default=None, description="exchanges install codes for tokens")
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base")
    slack_authorize_url: str = Field(default="https://slack.com/oauth/v2/authorize", description="Slack's install page")

    token_encryption_keys: SecretStr | None = Field(default=None, description="encrypts tokens and API secrets at rest")

    whatconverts_api_url: str = Field(
        default="https://app.whatconverts.com/api/v1/", description="WhatConverts REST API base"
    )
    whatconverts_oauth_client_id: str | None = Field(
        default=None, description="WhatConverts OAuth client; leave unset to connect with API keys"
    )
    whatconverts_oauth_client_secret: SecretStr | None = Field(
        default=None, description="WhatConverts OAuth client secret"
    )
    whatconverts_oauth_authorize_url: str = Field(
        default="https://app.whatconverts.com/oauth/authorize", description="WhatConverts OAuth authorize page"
    )
    whatconverts_oauth_token_url: str = Field(
        default="https://app.whatconverts.com/oauth/token", description="WhatConverts OAuth token endpoint"
    )
    whatconverts_oauth_scopes: str = Field(default="read_leads", description="WhatConverts OAuth scopes")
    whatconverts_oauth_revocation_url: str | None = Field(
        default=None, description="RFC 7009 endpoint; disconnect revokes OAuth tokens there"
    )
    whatconverts_daily_quota: int | None = Field(
        default=None, ge=1, description="a key's daily request quota, if not the usual 1000 profile / 10000 master"
    )
    # Share of a key's daily quota the app may spend, unless an admin set one for the key.
    whatconverts_quota_share: float = Field(
        default=0.8, gt=0, le=1, description="share of a key's daily quota the app may spend"
    )

    poll_min_interval_seconds: int = Field(default=60, ge=1, description="floor of the poll interval")
    # How often each process looks for due work; the work itself is claimed in the database.
    poll_tick_seconds: float = Field(default=5.0, gt=0, description="how often a process looks for due polls")
    delivery_tick_seconds: float = Field(default=1.0, gt=0, description="how often a process looks for cards to send")
    escalation_tick_seconds: float = Field(
        default=10.0, gt=0, description="how often a process looks for overdue leads to escalate (+sla)"
    )
    delivery_retention_days: int = Field(
        default=7, ge=1, description="how long sent cards are remembered, so none is posted twice"
    )
    # While webhooks arrive (one within `webhook_fresh_minutes`), poll only every `backstop_poll_minutes`.
    webhook_fresh_minutes: int = Field(
        default=60, ge=1, description="a profile whose webhook came this recently counts as instant"
    )
    backstop_poll_minutes: int = Field(
        default=15, ge=1, description="poll interval while every profile of a key sends webhooks"
    )
    # Every `update_sweep_seconds` a connection's poll re-reads the leads created in the last
    # `update_sweep_hours`: the API lists by date created only, so this is how later changes
    # (a call completing, a value, a spam flag) reach the cards without webhooks.
    update_sweep_seconds: int = Field(default=900, ge=1, description="how often changed leads are looked for")
    update_sweep_hours: int = Field(
        default=24, ge=1, le=400 * 24, description="how far back the look for changed leads reaches"
    )
    # A poller or sender that dies keeps its claim this long before another process takes over.
    poll_lease_seconds: float = Field(default=300, gt=0, description="how long a dead poller's claim holds")
    delivery_claim_seconds: float = Field(default=30, gt=0, description="how long a dead sender's claim holds")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="how much is logged"
    )
    log_format: Literal["text", "json"] = Field(default="text", description="text, or json lines")

    # Linked from the landing and install pages: what Slack's Marketplace review asks of a hosted app.
    privacy_policy_url: str | None = Field(default=None, description="your privacy policy, linked from the web pages")
    support_url: str | None = Field(
        default=None, description="where users get help, an https or mailto: link on the web pages"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("update_sweep_hours")
    @classmethod
    def _within_retention(cls, value: int, info: ValidationInfo) -> int:
        # Delivered rows are the record of which leads have a card: a sweep reaching further back
        # than they are kept would post a purged lead's card again.
        retention = info.data.get("delivery_retention_days")
        if retention is not None and value >= retention * 24:
            raise ValueError("UPDATE_SWEEP_HOURS must be shorter than DELIVERY_RETENTION_DAYS")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Procfile platforms (Heroku, Render, Dokku …) hand out postgres:// URLs, often with
        # sslmode=, and won't let you rename them: take them as meant, through asyncpg (which
        # spells sslmode `ssl`).
        scheme, sep, rest = value.partition("://")
        if sep and scheme in ("postgres", "postgresql"):
            value = "postgresql+asyncpg://" + re.sub(r"([?&])sslmode=", r"\1ssl=", rest)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL needs an async driver")
        return value

    @field_validator("app_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _url(value, "APP_BASE_URL").rstrip("/")

    @field_validator("slack_api_url", "whatconverts_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _url(value, "API URL").rstrip("/") + "/"

    @field_validator("privacy_policy_url")
    @classmethod
    def _privacy_url(cls, value: str | None) -> str | None:
        return _url(value.strip(), "PRIVACY_POLICY_URL") if value else None

    @field_validator("support_url")
    @classmethod
    def _support_url(cls, value: str | None) -> str | None:
        return _url(value.strip(), "SUPPORT_URL", ("http://", "https://", "mailto:")) if value else None

    @field_validator("token_encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        for key in value.get_secret_value().split(","):
            try:
                Fernet(key.strip())
            except (ValueError, TypeError):
                # Never echo the key itself: the message may end up in a deploy log.
                raise ValueError("contains a value that is not a Fernet key") from None
        return value

    @property
    def encryption_keys(self) -> list[str]:
        """Fernet keys, newest first."""
        if self.token_encryption_keys is None:
            return []
        return [k.strip() for k in self.token_encryption_keys.get_secret_value().split(",") if k.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def whatconverts_oauth_enabled(self) -> bool:
        return bool(self.whatconverts_oauth_client_id)

    def check_whatconverts_oauth(self) -> Settings:
        """OAuth needs both halves of the client credentials."""
        if self.whatconverts_oauth_client_id and not self.whatconverts_oauth_client_secret:
            raise ConfigError([("WHATCONVERTS_OAUTH_CLIENT_SECRET", "is not set")])
        return self

    def missing(self, *variables: str) -> list[str]:
        """Those of `variables` that are unset."""
        unset = []
        for variable in variables:
            value = getattr(self, variable.lower())
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                unset.append(variable)
        return unset

    def require(self, *variables: str) -> Settings:
        """Raise ConfigError naming every one of `variables` that is unset."""
        unset = self.missing(*variables)
        if unset:
            raise ConfigError((variable, "is not set") for variable in unset)
        return self


# What each variable is for, as `--help` and the error lines say it.
PURPOSE: dict[str, str] = {
    name.upper(): field.description for name, field in Settings.model_fields.items() if field.description
}
PURPOSE["ENV_FILE"] = "a file of settings to read; the environment wins over it"


def variables() -> list[str]:
    """Every variable the app reads, in the order of the settings."""
    return [name.upper() for name in Settings.model_fields]


def env_file_path() -> str | None:
    """The `.env` file to read: ENV_FILE names another one, and an empty ENV_FILE turns it off."""
    return os.environ.get("ENV_FILE", DEFAULT_ENV_FILE) or None


def load_settings(
    *, required: Sequence[str] = (), env_file: str | EllipsisType | None = ..., **overrides: object
) -> Settings:
    """Read settings from the environment and the `.env` file (`env_file`, default: ENV_FILE or
    `.env`; None reads none); the environment wins, `overrides` win over both.

    Raises one ConfigError listing every malformed value and every unset one of `required`
    (and, when anything is required, an OAuth client id without its secret).
    """
    path = env_file_path() if env_file is ... else env_file
    problems: list[tuple[str, str]] = []
    if path is not None and os.environ.get("ENV_FILE") and not Path(path).is_file():
        problems.append(("ENV_FILE", f"names {path}, which is not a file"))
    # A malformed value hides nothing else: it is set aside (back to its default) so the rest
    # can still be checked, and everything is reported together.
    set_aside: dict[str, object] = {}
    settings: Settings | None = None
    while settings is None:
        try:
            settings = Settings(_env_file=path, **{**overrides, **set_aside})  # type: ignore[arg-type]
        except ValidationError as exc:
            invalid = _invalid_fields(exc) - set_aside.keys()
            if not invalid:
                # Only a value set aside fails still (it conflicts with another): it is named already.
                if not problems:
                    problems.append(("configuration", "is invalid"))
                break
            for name in sorted(invalid, key=list(Settings.model_fields).index):
                problems.append((name.upper(), "is invalid"))
                set_aside[name] = Settings.model_fields[name].default
    if settings is not None and required:
        reported = {variable for variable, _ in problems}
        problems.extend((v, "is not set") for v in settings.missing(*required) if v not in reported)
        if settings.whatconverts_oauth_client_id and not settings.whatconverts_oauth_client_secret:
            problems.append(("WHATCONVERTS_OAUTH_CLIENT_SECRET", "is not set"))
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def _invalid_fields(exc: ValidationError) -> set[str]:
    return {
        str(error["loc"][0]) for error in exc.errors() if error["loc"] and str(error["loc"][0]) in Settings.model_fields
    }
