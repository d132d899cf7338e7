"""`/whatconverts find <phone|email> [connection:LABEL]`: one contact's leads, only for the person who asked.

A lookup is one `GET /leads` per connection searched, filtered by WhatConverts itself
(`phone_number` in E.164, `email_address`), newest first, one page of `SHOWN` leads: the answer
counts the rest from `total_leads` instead of reading them. Without `connection:` it searches
every connection of the workspace (a few at most, and it says what that cost). Input that isn't
a phone number or an email address is refused before any request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import formats
from bot.commands import find_messages as build
from bot.commands.leads import wc_failure
from bot.commands.subscribe import choose_connection
from bot.commands.table import Invocation
from bot.connect import credentials, settings
from bot.connect.commands import actor_of
from bot.errors import NotFound, UsageError, UserFacingError
from bot.home import overview
from bot.services import Services
from bot.slack.escape import unescape_mrkdwn
from bot.slack.permissions import require_member
from bot.whatconverts.client import Credentials, LeadsPage, WhatConvertsError, format_date
from storage import connections as connection_store
from storage.models import Connection
from storage.types import utcnow

SHOWN = 10
LOOKBACK = timedelta(days=365)  # the API takes at most 400 days, and its default range is undocumented
SINCE = "in the last year"
MAX_CONNECTIONS = 10  # each costs a request: past this, name one
MAX_TEXT = 254  # the longest email address (RFC 5321); a phone number is far shorter
USAGE = (
    "Usage: `/whatconverts find <phone|email> [connection:label]`, e.g. `find (704) 555-0101` or `find jo@example.com`."
)
# With should_escape on, Slack sends a typed address as `<mailto:jo@example.com|jo@example.com>`.
_MAILTO = re.compile(r"<mailto:([^<>|\s]+)(?:\|[^<>]*)?>", re.IGNORECASE)
# An address as people type it (HTML's rule, with a dot in the domain, without | and `).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_{}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


@dataclass(frozen=True)
class Contact:
    """What one connection is asked for: the API's filter, the value sent, and how the answer names it."""

    field: str  # phone_number | email_address
    value: str
    shown: str


def typed_text(args: Sequence[str]) -> str:
    """The words after `find` as the user typed them: Slack's mailto links unwrapped, its escaping undone.

    UsageError for nothing, too much, or Slack markup (a mention, a channel, a link) pasted in.
    """
    raw = " ".join(args).strip()
    if not raw:
        raise UsageError(f"Whose leads? {USAGE}")
    text = _MAILTO.sub(lambda match: match.group(1), raw)
    if len(text) > MAX_TEXT:
        raise UsageError("That's too long for a phone number or an email address.")
    if "<" in text or ">" in text:
        raise UsageError(f"Give a phone number or an email address, not a mention or a link. {USAGE}")
    return unescape_mrkdwn(text)


def contact_for(text: str, country: str) -> Contact | None:
    """The contact `text` names for a connection in `country` (national numbers are dialled from there);
    None when it is neither an email address nor a whole phone number there."""
    if "@" in text:
        if not _EMAIL.fullmatch(text):
            return None
        local, _, domain = text.rpartition("@")
        # Domains ignore case; a mailbox may not, so it is sent as typed.
        address = f"{local}@{domain.lower()}"
        return Contact("email_address", address, address)
    phone = formats.typed_phone(text, country)
    if phone is None or phone.e164 is None:
        return None
    return Contact("phone_number", phone.e164, phone.text)


def split_connection(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """The `connection:` label (if given) and the other words."""
    labels = [word.partition(":")[2].lower() for word in args if word.lower().startswith("connection:")]
    rest = [word for word in args if not word.lower().startswith("connection:")]
    if len(labels) > 1:
        raise UsageError("Name one connection, or none to search them all.")
    if labels and not labels[0]:
        raise UsageError("`connection:` needs a label, e.g. `connection:acme`.")
    return (labels[0] if labels else None), rest


async def _connections(services: Services, team_id: str, label: str | None) -> list[Connection]:
    async with services.sessions() as session:
        rows = await connection_store.list_connections(session, team_id=team_id)
    if label is not None:
        return [choose_connection(rows, label)]
    if not rows:
        raise NotFound("Connect WhatConverts first: `/whatconverts connect`.")
    if len(rows) > MAX_CONNECTIONS:
        labels = ", ".join(f"`connection:{r.label}`" for r in rows[:5])
        raise UsageError(f"This workspace has {len(rows)} connections; name one to search, e.g. {labels}.")
    return rows


@dataclass
class _Lookup:
    """One connection's search: the page WhatConverts answered (None if it failed), and the requests made."""

    connection: Connection
    page: LeadsPage | None = None
    requests: int = 0
    error: str | None = None


async def _search(services: Services, connection: Connection, contact: Contact) -> _Lookup:
    """The newest page of the contact's leads on one connection."""
    lookup = _Lookup(connection)
    end = utcnow().replace(microsecond=0)

    async def one_page(creds: Credentials) -> LeadsPage:
        lookup.requests += 1  # one request per call, counted by call_api whether it answers or fails
        return await services.wc.leads_page(
            creds,
            **{contact.field: contact.value},
            start_date=format_date(end - LOOKBACK),
            end_date=format_date(end),
            order="desc",
            leads_per_page=SHOWN,
            page_number=1,
        )

    try:
        lookup.page = await credentials.call_api(services, connection, one_page)
    except WhatConvertsError as exc:
        lookup.error = wc_failure(exc).message
    return lookup


async def find(services: Services, inv: Invocation) -> dict:
    require_member(await actor_of(services, inv))
    label, words = split_connection(inv.args)
    text = typed_text(words)
    rows = await _connections(services, inv.command.team_id, label)
    planned = [(row, contact_for(text, row.country)) for row in rows]
    if all(contact is None for _, contact in planned):
        kind = "an email address" if "@" in text else "a whole phone number (with its area code) or an email address"
        raise UsageError(f"That isn't {kind}. {USAGE}")

    lookups = [await _search(services, row, contact) for row, contact in planned if contact is not None]
    if all(lookup.error is not None for lookup in lookups):
        raise UserFacingError(lookups[0].error or "WhatConverts didn't answer.")

    statuses = await overview.connection_statuses(services, team_id=inv.command.team_id)
    quotas = {status.connection_id: (status.quota_used, status.quota_limit) for status in statuses}
    searches = []
    for lookup in lookups:
        used, limit = quotas.get(lookup.connection.id, (0, lookup.connection.daily_quota))
        total = lookup.page.total_leads if lookup.page else 0
        searches.append(build.Search(lookup.connection.label, lookup.requests, used, limit, total, lookup.error))
    found = [
        build.Found(lead, settings.locale_of(lookup.connection))
        for lookup in lookups
        if lookup.page is not None
        for lead in lookup.page.leads
    ]
    found.sort(key=lambda item: item.lead.date_created or utcnow(), reverse=True)
    shown = {contact.shown for _, contact in planned if contact is not None}
    return build.find_message(
        found[:SHOWN],
        contact=" or ".join(sorted(shown)),
        since=SINCE,
        searches=searches,
        skipped=[row.label for row, contact in planned if contact is None],
    )
