"""Settings for an app under test, pointed at the fakes."""

from __future__ import annotations

from bot.config import Settings, load_settings
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import (
    CLIENT_ID,
    CLIENT_SECRET,
    ENCRYPTION_KEY,
    SIGNING_SECRET,
    WC_OAUTH_CLIENT_ID,
    WC_OAUTH_CLIENT_SECRET,
)


def make_settings(
    database_url: str, fake: FakeSlack, wc: FakeWhatConverts | None = None, **overrides: object
) -> Settings:
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
    if wc is not None:
        values["whatconverts_api_url"] = wc.api_url
    values.update(overrides)
    return load_settings(**values)


def oauth_overrides(wc: FakeWhatConverts) -> dict[str, object]:
    """Settings that switch `connect` to OAuth against the fake's authorization server."""
    return {
        "whatconverts_oauth_client_id": WC_OAUTH_CLIENT_ID,
        "whatconverts_oauth_client_secret": WC_OAUTH_CLIENT_SECRET,
        "whatconverts_oauth_authorize_url": wc.oauth_authorize_url,
        "whatconverts_oauth_token_url": wc.oauth_token_url,
        "whatconverts_oauth_revocation_url": wc.oauth_revoke_url,
    }
