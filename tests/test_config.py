"""Settings: the fixed variable names, defaults, and one-line errors."""

from __future__ import annotations

import pytest

from bot.config import SLACK_REQUIRED, ConfigError, load_settings
from tests.support.constants import ENCRYPTION_KEY


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "APP_BASE_URL", "PORT", "SLACK_API_URL", "POLL_MIN_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./whatconverts-slack.db"
    assert settings.app_base_url == "http://localhost:3000"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.whatconverts_api_url == "https://app.whatconverts.com/api/v1/"
    assert settings.whatconverts_oauth_scopes == "read_leads"
    assert settings.poll_min_interval_seconds == 60
    assert not settings.whatconverts_oauth_enabled


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", f" {ENCRYPTION_KEY} ,{ENCRYPTION_KEY}")
    monkeypatch.setenv("APP_BASE_URL", "https://leads.example.com/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("WHATCONVERTS_OAUTH_CLIENT_ID", "wc-client")
    settings = load_settings()
    assert settings.encryption_keys == [ENCRYPTION_KEY, ENCRYPTION_KEY]
    assert settings.app_base_url == "https://leads.example.com"
    assert settings.log_level == "DEBUG"
    assert settings.whatconverts_oauth_enabled


def test_missing_required_setting_names_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(slack_signing_secret=None).require(*SLACK_REQUIRED)
    assert str(info.value).startswith("SLACK_SIGNING_SECRET is not set:")
    assert "\n" not in str(info.value)


def test_invalid_key_is_named_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(token_encryption_keys="hunter2-not-a-key")
    assert str(info.value).startswith("TOKEN_ENCRYPTION_KEYS is invalid:")
    assert "hunter2" not in str(info.value)
