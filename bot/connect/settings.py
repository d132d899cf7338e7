"""A connection's settings: its share of its key's daily quota, and the currency and country its cards
write money and phone numbers in."""

from __future__ import annotations

from bot import formats
from bot.errors import NotFound
from bot.services import Services
from storage import connections as store
from storage.db import transaction
from storage.models import Connection


async def set_quota_share(services: Services, connection: Connection, share: float) -> int:
    """Set the share of the key's daily quota the app may spend, on every connection of the key
    (in any workspace: they spend one budget); returns how many connections that is."""
    async with transaction(services.sessions) as session:
        return await store.set_key_share(session, key_id=connection.key_id, share=share)


def locale_of(connection: Connection) -> formats.Locale:
    """The connection's currency and country, as its cards use them."""
    return formats.Locale(currency=connection.currency, country=connection.country)


async def set_locale(services: Services, connection: Connection, locale: formats.Locale) -> Connection:
    """Store the currency and country (already validated) that the connection's cards use from now on."""
    assert connection.id is not None
    async with transaction(services.sessions) as session:
        row = await store.set_locale(
            session, connection_id=connection.id, currency=locale.currency, country=locale.country
        )
    if row is None:
        raise NotFound("That connection was removed.")
    return row
