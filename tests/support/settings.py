"""Settings for an app under test, pointed at the fakes."""

from __future__ import annotations

from bot.config import Settings, load_settings
from tests.fakes.slack import FakeSlack
from tests.support.constants import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET


def make_settings(database_url: str, fake: FakeSlack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "app_base_url": "https://wcs.test",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "slack_api_url": fake.api_url,
        "slack_authorize_url": fake.authorize_url,
        "token_encryption_keys": ENCRYPTION_KEY,
    }
    values.update(overrides)
    return load_settings(**values)
