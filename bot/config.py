"""Typed configuration from the environment, with one-line errors an operator can act on.

The variable names are a contract (DESIGN.md, "Configuration"); keep them.
"""

from __future__ import annotations

from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What to tell an operator about each variable when it is missing or malformed.
HOW_TO_FIX: dict[str, str] = {
    "SLACK_SIGNING_SECRET": "copy it from your Slack app's Basic Information page",
    "SLACK_CLIENT_ID": "copy it from your Slack app's Basic Information page",
    "SLACK_CLIENT_SECRET": "copy it from your Slack app's Basic Information page",
    "TOKEN_ENCRYPTION_KEYS": "generate one with `whatconverts-slack gen-key` (comma-separated, newest first)",
    "DATABASE_URL": "use an async SQLAlchemy URL, e.g. sqlite+aiosqlite:///./whatconverts-slack.db "
    "or postgresql+asyncpg://user@host/db",
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
}

SLACK_REQUIRED = ("SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEYS")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        hint = HOW_TO_FIX.get(variable, "see the configuration table in README.md")
        super().__init__(f"{variable} {problem}: {hint}")
        self.variable = variable


def _url(value: str, variable: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{variable} must start with http:// or https://")
    return value


class Settings(BaseSettings):
    """Every setting the app reads. Construct through `load_settings()`."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./whatconverts-slack.db"
    app_base_url: str = "http://localhost:3000"
    port: int = Field(default=3000, ge=1, le=65535)

    slack_signing_secret: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_authorize_url: str = "https://slack.com/oauth/v2/authorize"

    token_encryption_keys: SecretStr | None = None

    whatconverts_api_url: str = "https://app.whatconverts.com/api/v1/"
    whatconverts_oauth_client_id: str | None = None
    whatconverts_oauth_client_secret: SecretStr | None = None
    whatconverts_oauth_authorize_url: str = "https://app.whatconverts.com/oauth/authorize"
    whatconverts_oauth_token_url: str = "https://app.whatconverts.com/oauth/token"
    whatconverts_oauth_scopes: str = "read_leads"
    whatconverts_oauth_revocation_url: str | None = None
    whatconverts_daily_quota: int | None = Field(default=None, ge=1)
    # Share of a key's daily quota the app may spend, unless an admin set one for the key.
    whatconverts_quota_share: float = Field(default=0.8, gt=0, le=1)

    poll_min_interval_seconds: int = Field(default=60, ge=1)
    # How often each process looks for due work; the work itself is claimed in the database.
    poll_tick_seconds: float = Field(default=5.0, gt=0)
    delivery_tick_seconds: float = Field(default=1.0, gt=0)
    delivery_retention_days: int = Field(default=7, ge=1)
    # While webhooks arrive (one within `webhook_fresh_minutes`), poll only every `backstop_poll_minutes`.
    webhook_fresh_minutes: int = Field(default=60, ge=1)
    backstop_poll_minutes: int = Field(default=15, ge=1)
    # Every `update_sweep_seconds` a connection's poll re-reads the leads created in the last
    # `update_sweep_hours`: the API lists by date created only, so this is how later changes
    # (a call completing, a value, a spam flag) reach the cards without webhooks.
    update_sweep_seconds: int = Field(default=900, ge=1)
    update_sweep_hours: int = Field(default=24, ge=1, le=400 * 24)
    # A poller or sender that dies keeps its claim this long before another process takes over.
    poll_lease_seconds: float = Field(default=300, gt=0)
    delivery_claim_seconds: float = Field(default=30, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"

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
            raise ConfigError("WHATCONVERTS_OAUTH_CLIENT_SECRET", "is not set")
        return self

    def require(self, *variables: str) -> Settings:
        """Raise ConfigError for the first of `variables` that is unset."""
        for variable in variables:
            value = getattr(self, variable.lower())
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(variable, "is not set")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a malformed value raises a one-line ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        raise ConfigError(variable, "is invalid") from None
