"""Settings: the fixed variable names, defaults, .env, and every problem reported at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import PURPOSE, SLACK_REQUIRED, ConfigError, load_settings, variables
from tests.support.constants import ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_missing_required_setting_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(slack_signing_secret=None, required=SLACK_REQUIRED)

    assert info.value.variables == list(SLACK_REQUIRED)
    assert info.value.lines[0] == (
        "SLACK_SIGNING_SECRET (proves requests come from Slack) is not set: "
        "copy it from your Slack app's Basic Information page"
    )
    assert str(info.value).splitlines() == info.value.lines


def test_malformed_and_missing_settings_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", "hunter2-not-a-key")

    with pytest.raises(ConfigError) as info:
        load_settings(required=SLACK_REQUIRED)

    assert info.value.problems == [
        ("PORT", "is invalid"),
        ("TOKEN_ENCRYPTION_KEYS", "is invalid"),
        ("LOG_FORMAT", "is invalid"),
        ("SLACK_SIGNING_SECRET", "is not set"),
        ("SLACK_CLIENT_SECRET", "is not set"),
    ]
    assert "hunter2" not in str(info.value)


def test_an_oauth_client_id_without_its_secret_is_reported_with_the_rest() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(whatconverts_oauth_client_id="wc-client", slack_client_id=None, required=SLACK_REQUIRED)

    assert "SLACK_CLIENT_ID" in info.value.variables
    assert info.value.variables[-1] == "WHATCONVERTS_OAUTH_CLIENT_SECRET"


def test_invalid_key_is_named_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(token_encryption_keys="hunter2-not-a-key")
    assert str(info.value).startswith("TOKEN_ENCRYPTION_KEYS (encrypts tokens and API secrets at rest) is invalid:")
    assert "hunter2" not in str(info.value)


def test_an_env_file_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "production.env"
    env_file.write_text(
        "# comments and blank lines are fine\n\n"
        "APP_BASE_URL=https://from-the-file.example.com\n"
        "PORT=3100\n"
        "SLACK_CLIENT_ID=   \n"  # copied from .env.example, not filled in: unset, not ""
    )
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.setenv("PORT", "3200")

    settings = load_settings()

    assert settings.app_base_url == "https://from-the-file.example.com"
    assert settings.port == 3200
    assert settings.missing("SLACK_CLIENT_ID") == ["SLACK_CLIENT_ID"]


def test_env_file_naming_no_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "missing.env"))

    with pytest.raises(ConfigError) as info:
        load_settings()

    assert info.value.variables == ["ENV_FILE"]


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"privacy_policy_url": "javascript:alert(1)"}, "PRIVACY_POLICY_URL"),
        ({"support_url": "ftp://help.example.com"}, "SUPPORT_URL"),
    ],
)
def test_page_links_must_be_web_or_mail_links(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    assert info.value.variables == [variable]


def test_page_links_are_read() -> None:
    settings = load_settings(privacy_policy_url="https://example.com/privacy", support_url="mailto:help@example.com")
    assert settings.privacy_policy_url == "https://example.com/privacy"
    assert settings.support_url == "mailto:help@example.com"


def test_env_example_lists_every_variable_once() -> None:
    """A committed .env.example documents every setting the app reads, and nothing else."""
    example = (ROOT / ".env.example").read_text()
    named = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE)
    assert sorted(named) == sorted(variables())
    for variable in variables():
        assert variable in PURPOSE


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db.example.com:5432/leads", "postgresql+asyncpg://u:p@db.example.com:5432/leads"),
        ("postgresql://u:p@db/leads?sslmode=require", "postgresql+asyncpg://u:p@db/leads?ssl=require"),
        ("postgresql+asyncpg://u@db/leads?ssl=require", "postgresql+asyncpg://u@db/leads?ssl=require"),
    ],
)
def test_a_platforms_postgres_url_is_used_through_asyncpg(given: str, used: str) -> None:
    assert load_settings(database_url=given).database_url == used


def test_a_sync_sqlite_url_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(database_url="sqlite:///leads.db")
    assert info.value.variables == ["DATABASE_URL"]
