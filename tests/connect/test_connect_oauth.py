"""Connecting WhatConverts with OAuth 2.0 (PKCE S256), refreshing tokens, and losing the grant."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette

from bot.config import Settings
from bot.connect import credentials
from bot.whatconverts.client import WhatConvertsAuthError
from storage import connections as store
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_link
from tests.support.oauth import authorize, callback, query
from tests.support.settings import make_settings, oauth_overrides


@pytest.fixture
def settings(database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
    return make_settings(database_url, fake_slack, fake_wc, **oauth_overrides(fake_wc))


async def _connect(app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.add_lead()
    link = await connect_link(slack)
    _, back, cookie = await authorize(app_url, link)
    done = await callback(app_url, back, cookie)
    assert done.status_code == 200, done.text


async def test_oauth_connect_end_to_end(
    installed: None, app_url: str, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
    database_url: str,
) -> None:  # fmt: skip
    fake_wc.add_lead()
    reply = await slack.ask("connect")
    assert "approve access" in reply["text"]
    link = reply["blocks"][1]["elements"][0]["url"]

    landing, back, cookie = await authorize(app_url, link)
    sent = query(landing.headers["location"])
    assert landing.headers["location"].startswith(fake_wc.oauth_authorize_url)
    assert sent["redirect_uri"] == "https://wcs.test/whatconverts/oauth/callback"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["response_type"] == "code" and sent["client_id"] == "wc-oauth-client"
    assert sent["scope"] == "read_leads" and sent["state"] == query(link)["state"]
    assert "code_verifier" not in landing.headers["location"]

    done = await callback(app_url, back, cookie)

    assert done.status_code == 200 and "OAuth grant" in done.text
    assert fake_wc.token_requests("authorization_code") == 1
    row = (await rawdb.dump(database_url))["connections"][0]
    assert row["kind"] == "oauth" and row["oauth_refresh_token"] and row["api_secret"] is None
    dump = await rawdb.dump_text(database_url)
    access = fake_wc.calls_to("leads")[-1].headers["authorization"].split()[1]
    assert access not in dump and access not in done.text
    status = (await slack.ask("status"))["text"]
    assert "OAuth, profile" in status and "healthy" in status
    assert access not in repr([c.params for c in fake_slack.calls])


async def test_provider_refusal_and_bad_callbacks_store_nothing(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    fake_wc.deny_next()
    _, denied_back, cookie = await authorize(app_url, await connect_link(slack))
    denied = await callback(app_url, denied_back, cookie)
    assert denied.status_code == 400 and "access_denied" in denied.text and "Nothing was stored" in denied.text

    _, back, cookie = await authorize(app_url, await connect_link(slack))
    other_browser = await callback(app_url, back, "someone-elses-cookie")
    assert other_browser.status_code == 400 and "start in this browser" in other_browser.text
    forged = await callback(app_url, back.replace(query(back)["state"], "Z" * 43), "Z" * 43)
    assert forged.status_code == 410
    assert (await rawdb.dump(database_url))["connections"] == []
    # The real callback still works once, then never again.
    assert (await callback(app_url, back, cookie)).status_code == 200
    assert (await callback(app_url, back, cookie)).status_code == 410
    assert len((await rawdb.dump(database_url))["connections"]) == 1


async def test_fifty_concurrent_callbacks_with_one_state_make_one_connection(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    _, back, cookie = await authorize(app_url, await connect_link(slack))

    results = await asyncio.gather(*(callback(app_url, back, cookie) for _ in range(50)))

    codes = [r.status_code for r in results]
    assert codes.count(200) == 1 and set(codes) == {200, 410}
    assert len((await rawdb.dump(database_url))["connections"]) == 1
    assert fake_wc.token_requests("authorization_code") == 1


async def test_ten_users_of_an_expired_token_cause_one_refresh(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    await _connect(app_url, slack, fake_wc)
    services = app.state.services
    async with services.sessions() as session:
        (row,) = await store.list_connections(session, team_id="T1")
    fake_wc.expire_access_token(row.oauth_access_token)

    async def use() -> int:
        async with services.sessions() as session:
            (mine,) = await store.list_connections(session, team_id="T1")
        page = await credentials.call_api(services, mine, lambda c: services.wc.leads_page(c, leads_per_page=1))
        return page.total_leads

    totals = await asyncio.gather(*(use() for _ in range(10)))

    assert totals == [1] * 10
    assert fake_wc.token_requests("refresh_token") == 1


async def test_invalid_grant_marks_needs_reauth_and_tells_the_owner(
    installed: None, app: Starlette, app_url: str, slack: SlackClient, fake_slack: FakeSlack,
    fake_wc: FakeWhatConverts,
) -> None:  # fmt: skip
    await _connect(app_url, slack, fake_wc)
    services = app.state.services
    async with services.sessions() as session:
        (row,) = await store.list_connections(session, team_id="T1")
    fake_wc.revoke_grant(row.oauth_refresh_token)
    fake_slack.clear()

    with pytest.raises(WhatConvertsAuthError):
        await credentials.call_api(services, row, lambda c: services.wc.leads_page(c, leads_per_page=1))

    dm = await fake_slack.wait_for_calls("chat.postMessage")
    assert dm[0].params["channel"] == "U1" and "needs to be reconnected" in dm[0].params["text"]
    status = (await slack.ask("status"))["text"]
    assert "needs to be reconnected" in status and "/whatconverts connect main-site" in status
    # Reconnecting the label replaces the credentials and makes it healthy again.
    link = await connect_link(slack, text="connect main-site")
    _, back, cookie = await authorize(app_url, link)
    assert (await callback(app_url, back, cookie)).status_code == 200
    assert "healthy" in (await slack.ask("status"))["text"]


async def test_a_label_taken_meanwhile_is_refused_before_the_code_is_exchanged(
    installed: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, database_url: str
) -> None:
    fake_wc.add_lead()
    first = await connect_link(slack, text="connect acme")
    second = await connect_link(slack, text="connect acme")
    _, back, cookie = await authorize(app_url, second)
    assert (await callback(app_url, back, cookie)).status_code == 200
    before = (await rawdb.dump(database_url))["connections"]

    _, late_back, late_cookie = await authorize(app_url, first)
    late = await callback(app_url, late_back, late_cookie)

    assert late.status_code == 409 and "A connection called &quot;acme&quot; already exists" in late.text
    assert fake_wc.token_requests("authorization_code") == 1  # no grant made that nothing could use
    assert (await rawdb.dump(database_url))["connections"] == before


def test_readme_says_oauth_waits_for_whatconverts() -> None:
    """W11: WhatConverts documents no OAuth, so the mode is never presented as ready to use."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = readme[readme.index("- **OAuth") :].split("\n- ", 1)[0].split("\n\n", 1)[0]
    sentences = re.split(r"(?<=[.;])\s+", " ".join(readme.split()))

    assert "for when WhatConverts offers it" in paragraph and "doesn't today" in paragraph
    assert all(rfc in paragraph for rfc in ("RFC 6749", "RFC 7636", "RFC 7009"))
    assert [s for s in sentences if "OAuth" in s and re.search(r"\bready\b", s)] == []
