"""Key rotation: add a key, run `rotate-keys`, drop the old key; every secret still decrypts."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.fernet import Fernet

from bot.app import build_services
from bot.cli import main
from tests.fakes.slack import FakeSlack
from tests.support import rawdb
from tests.support.constants import ENCRYPTION_KEY
from tests.support.install import seed_installation
from tests.support.settings import make_settings


async def _seed(url: str, fake: FakeSlack) -> dict:
    services = build_services(make_settings(url, fake))
    try:
        return await seed_installation(services, fake, expires_in=43200)
    finally:
        await services.aclose()


async def _token(url: str, fake: FakeSlack, keys: str) -> str | None:
    services = build_services(make_settings(url, fake, token_encryption_keys=keys))
    try:
        client = await services.bot_client(team_id="T1")
        return client.token if client else None
    finally:
        await services.aclose()


def test_rotate_keys_then_drop_the_old_key(
    database_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = asyncio.run(_seed(database_url, fake_slack))
    before = asyncio.run(rawdb.dump(database_url))["slack_installations"][0]
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", f"{new_key},{ENCRYPTION_KEY}")

    assert main(["rotate-keys"]) == 0
    assert "re-encrypted 2 secret(s)" in capsys.readouterr().out  # bot token + refresh token

    after = asyncio.run(rawdb.dump(database_url))["slack_installations"][0]
    assert after["bot_token"] != before["bot_token"]
    assert asyncio.run(_token(database_url, fake_slack, new_key)) == seeded["access_token"]
    with pytest.raises(Exception, match="decrypt"):
        asyncio.run(_token(database_url, fake_slack, Fernet.generate_key().decode()))
    assert main(["rotate-keys"]) == 0
    assert "re-encrypted 0 secret(s) with the newest key; 2 already current" in capsys.readouterr().out
