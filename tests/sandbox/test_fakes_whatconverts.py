"""Self-test of the loopback WhatConverts fake, driven by a plain httpx.AsyncClient.

If these fail, tests built on ``tests.fakes.whatconverts`` cannot be trusted, so they pin down the
behaviour the app depends on: key auth and scoping, the leads envelope and filters, updates,
quotas, the OAuth code flow with PKCE, and fault injection.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.fakes.whatconverts import DAILY_LIMIT_MESSAGE, FakeWhatConverts

# Copies of ../shared/fixtures/whatconverts (public API samples; see the README beside them).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatconverts"
START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()
REDIRECT_URI = "https://wcs.test/whatconverts/oauth/callback"


class Clock:
    """A settable wall clock, so quota days and token expiry can be crossed without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeWhatConverts]:
    with FakeWhatConverts(clock=clock) as server:
        server.add_profile_key("ptok", "psecret")
        server.add_master_key("mtok", "msecret")
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def api(fake: FakeWhatConverts, token: str = "ptok", secret: str = "psecret", timeout: float = 5) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=fake.api_url, auth=(token, secret), timeout=timeout)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


async def test_basic_auth_accepts_the_key_and_rejects_wrong_or_missing_credentials(fake: FakeWhatConverts) -> None:
    fake.add_lead()
    async with api(fake) as client:
        ok = await client.get("leads", params={"leads_per_page": 1})
    assert ok.status_code == 200
    assert ok.json()["total_leads"] == 1

    async with api(fake, secret="wrong") as client:
        wrong = await client.get("leads")
    async with httpx.AsyncClient(base_url=fake.api_url) as client:
        missing = await client.get("leads")
    for response in (wrong, missing):
        assert response.status_code == 401
        assert set(response.json()) == {"error_message"}

    assert [c.key for c in fake.calls_to("leads")] == ["ptok", None, None]
    sent = fake.calls_to("leads")[0].headers["authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == b"ptok:psecret"


async def test_accounts_tell_master_keys_from_profile_keys(fake: FakeWhatConverts) -> None:
    async with api(fake) as client:
        profile = await client.get("accounts")
    assert profile.status_code == 401  # what the real API answers a profile key (live probes)
    assert "error_message" in profile.json()

    async with api(fake, "mtok", "msecret") as client:
        master = await client.get("accounts", params={"accounts_per_page": 1, "order": "asc"})
    body = master.json()
    assert master.status_code == 200
    assert set(body) == {"page_number", "accounts_per_page", "total_pages", "total_accounts", "accounts"}
    assert (body["total_accounts"], body["total_pages"]) == (2, 2)
    first = body["accounts"][0]
    assert first["account_id"] == 20001 and first["account_name"] == "Northwind Plumbing"
    assert [p["profile_id"] for p in first["profiles"]] == [30001, 30002]


async def test_leads_envelope_pagination_and_order(fake: FakeWhatConverts, clock: Clock) -> None:
    for i in range(30):
        clock.now = START + i * 60
        fake.add_lead()
    async with api(fake) as client:
        first = (await client.get("leads", params={"leads_per_page": 10})).json()
        last = (await client.get("leads", params={"leads_per_page": 10, "page_number": 3, "order": "asc"})).json()
        beyond = (await client.get("leads", params={"leads_per_page": 10, "page_number": 4})).json()
        too_big = await client.get("leads", params={"leads_per_page": 2501})

    assert list(first) == ["page_number", "leads_per_page", "total_pages", "total_leads", "leads"]
    assert (first["page_number"], first["leads_per_page"], first["total_pages"], first["total_leads"]) == (1, 10, 3, 30)
    # Default order is newest first; ids start at 100001.
    assert first["leads"][0]["lead_id"] == 100030
    assert [lead["lead_id"] for lead in last["leads"]] == list(range(100021, 100031))
    assert beyond["leads"] == [] and beyond["page_number"] == 4
    assert too_big.status_code == 400 and "error_message" in too_big.json()

    lead = first["leads"][0]
    assert lead["date_created"] == "2025-06-01T12:29:00Z" == lead["last_updated"]
    assert (lead["lead_type"], lead["lead_status"], lead["quotable"], lead["lead_state"]) == (
        "Web Form",
        "Unique",
        "Not Set",
        "Completed",
    )
    assert (lead["account_id"], lead["account"], lead["profile_id"], lead["profile"]) == (1, "Acme Co", 10, "Main Site")


async def test_date_filters_are_inclusive_and_a_bare_end_date_covers_the_whole_day(fake: FakeWhatConverts) -> None:
    for stamp in ("2025-05-30T23:59:59", "2025-05-31T00:00:00", "2025-05-31T23:59:59", "2025-06-01T00:00:00"):
        fake.add_lead(date_created=at(stamp))
    async with api(fake) as client:
        day = (await client.get("leads", params={"start_date": "2025-05-31", "end_date": "2025-05-31"})).json()
        precise = (
            await client.get("leads", params={"start_date": "2025-05-31T23:59:59Z", "end_date": "2025-06-01T00:00:00Z"})
        ).json()
        bad = await client.get("leads", params={"start_date": "05/31/2025"})
        too_long = await client.get("leads", params={"start_date": "2024-01-01", "end_date": "2025-06-01"})

    assert [lead["date_created"] for lead in day["leads"]] == ["2025-05-31T23:59:59Z", "2025-05-31T00:00:00Z"]
    assert precise["total_leads"] == 2
    assert bad.status_code == 400 and too_long.status_code == 400


async def test_type_filter_takes_snake_case_and_matches_title_case(fake: FakeWhatConverts) -> None:
    call = fake.add_lead(lead_type="phone_call")
    fake.add_lead(lead_type="Web Form")
    fake.add_lead(lead_type="chat")
    assert call["lead_type"] == "Phone Call" and call["call_duration_seconds"] == 42

    async with api(fake) as client:
        calls = (await client.get("leads", params={"lead_type": "phone_call"})).json()
        title_case = await client.get("leads", params={"lead_type": "Phone Call"})
    assert [lead["lead_id"] for lead in calls["leads"]] == [call["lead_id"]]
    assert title_case.status_code == 400


async def test_spam_filter_returns_only_spam_and_no_filter_includes_it(fake: FakeWhatConverts) -> None:
    clean = fake.add_lead()
    spam = fake.add_lead(spam=True)
    duplicate = fake.add_lead(duplicate=True)
    async with api(fake) as client:
        everything = (await client.get("leads")).json()
        only_spam = (await client.get("leads", params={"spam": "true"})).json()
        only_dupes = (await client.get("leads", params={"duplicate": "true"})).json()
    assert {lead["lead_id"] for lead in everything["leads"]} == {
        clean["lead_id"],
        spam["lead_id"],
        duplicate["lead_id"],
    }
    assert [lead["lead_id"] for lead in only_spam["leads"]] == [spam["lead_id"]]
    assert [lead["lead_id"] for lead in only_dupes["leads"]] == [duplicate["lead_id"]]


async def test_contact_filters_match_e164_phone_fields_exactly_and_email_in_any_case(fake: FakeWhatConverts) -> None:
    """`phone_number` takes E.164 and matches a lead's phone fields exactly; `email_address` ignores case."""
    form = fake.add_lead(phone_number="+17045550101", contact_phone_number="+17045550101")
    call = fake.add_lead(lead_type="phone_call", phone_number="", contact_phone_number="", caller_number="+17045550101")
    fake.add_lead(phone_number="+17045550199", contact_phone_number="+17045550199")
    mixed = fake.add_lead(email_address="Jo.Smith@Example.COM", contact_email_address="")
    contact = fake.add_lead(email_address="", contact_email_address="jo.smith@example.com")
    fake.add_lead(email_address="jo.smith@example.org", contact_email_address="jo.smith@example.org")

    async def ids(**params: str) -> list[int]:
        async with api(fake) as client:
            response = await client.get("leads", params={"order": "asc", **params})
        assert response.status_code == 200, response.text
        return [lead["lead_id"] for lead in response.json()["leads"]]

    assert await ids(phone_number="+17045550101") == [form["lead_id"], call["lead_id"]]
    for national in ("7045550101", "(704) 555-0101", "+1 704 555 0101", "17045550101"):
        assert await ids(phone_number=national) == [], national
    assert await ids(email_address="jo.smith@example.com") == [mixed["lead_id"], contact["lead_id"]]
    assert await ids(email_address="JO.SMITH@EXAMPLE.COM") == [mixed["lead_id"], contact["lead_id"]]
    assert await ids(email_address="jo.smith@example") == []


async def test_single_lead_uses_the_list_envelope_and_unknown_ids_match_the_fixture(fake: FakeWhatConverts) -> None:
    lead = fake.add_lead()
    async with api(fake) as client:
        one = await client.get(f"leads/{lead['lead_id']}")
        unknown = await client.get("leads/999")
    assert one.json() == {"page_number": 1, "leads_per_page": 1, "total_pages": 1, "total_leads": 1, "leads": [lead]}
    assert unknown.status_code == 400
    assert unknown.json() == {"error_message": "Invalid lead ID."}


async def test_profile_keys_see_only_their_profile_and_master_keys_see_all(fake: FakeWhatConverts) -> None:
    own = fake.add_lead()
    northwind = fake.add_lead(profile_id=30001)
    bluebird = fake.add_lead(profile_id=30004)
    assert (northwind["account"], northwind["profile"]) == ("Northwind Plumbing", "Northwind Main Site")

    async with api(fake) as client:
        mine = (await client.get("leads")).json()
        foreign = await client.get(f"leads/{northwind['lead_id']}")
        filtered = await client.get("leads", params={"profile_id": 10})
    assert [lead["lead_id"] for lead in mine["leads"]] == [own["lead_id"]]
    assert foreign.json() == {"error_message": "Invalid lead ID."}
    assert filtered.status_code == 403

    async with api(fake, "mtok", "msecret") as client:
        agency = (await client.get("leads")).json()
        by_account = (await client.get("leads", params={"account_id": 20002})).json()
        by_profile = (await client.get("leads", params={"profile_id": 30001})).json()
    assert {lead["lead_id"] for lead in agency["leads"]} == {northwind["lead_id"], bluebird["lead_id"]}
    assert [lead["lead_id"] for lead in by_account["leads"]] == [bluebird["lead_id"]]
    assert [lead["lead_id"] for lead in by_profile["leads"]] == [northwind["lead_id"]]


async def test_post_update_is_form_encoded_and_recorded(fake: FakeWhatConverts, clock: Clock) -> None:
    lead = fake.add_lead()
    clock.now += 90
    form = {"quotable": "yes", "quote_value": "250", "sales_value": "99.5", "additional_fields[Job]": "Water heater"}
    async with api(fake) as client:
        response = await client.post(f"leads/{lead['lead_id']}", data=form)
        as_json = await client.post(f"leads/{lead['lead_id']}", json={"quotable": "no"})
        bad = await client.post(f"leads/{lead['lead_id']}", data={"quotable": "Yes"})

    updated = response.json()["leads"][0]
    assert (updated["quotable"], updated["quote_value"], updated["sales_value"]) == ("Yes", 250, 99.5)
    assert updated["additional_fields"]["Job"] == "Water heater"
    assert updated["additional_fields"]["Name"] == "Jordan Rivera"
    assert updated["last_updated"] == "2025-06-01T12:01:30Z"
    assert fake.get_lead(lead["lead_id"]) == updated
    assert as_json.status_code == 415 and bad.status_code == 400

    call = fake.calls_to("leads", method="POST")[0]
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form == form
    [update] = fake.lead_updates(lead["lead_id"])
    assert update["key"] == "ptok" and update["changes"]["quotable"] == "Yes"


@pytest.mark.parametrize(
    "form",
    [
        {"spam": "true"},
        {"quotable": "yes", "spam": "1"},
        {"send_notification": "false"},
    ],
)
async def test_post_update_refuses_fields_the_api_cannot_edit(fake: FakeWhatConverts, form: dict) -> None:
    """W1: only quotable, quote/sales values, lead URL and additional fields are editable; spam is UI-only."""
    lead = fake.add_lead()
    async with api(fake) as client:
        response = await client.post(f"leads/{lead['lead_id']}", data=form)

    refused = next(name for name in form if name != "quotable")
    assert response.status_code == 400
    assert response.json() == {"error_message": f"Invalid parameter: {refused}."}
    assert fake.get_lead(lead["lead_id"]) == lead  # all or nothing: the valid quotable wasn't applied either
    assert fake.lead_updates(lead["lead_id"]) == []


async def test_daily_quota_answers_429_after_the_limit_and_resets_at_utc_midnight(
    fake: FakeWhatConverts, clock: Clock
) -> None:
    fake.set_daily_limit("ptok", 2)
    async with api(fake) as client:
        statuses = [(await client.get("leads")).status_code for _ in range(3)]
        refused = await client.get("leads")
        assert statuses == [200, 200, 429]
        assert refused.json() == {"error_message": DAILY_LIMIT_MESSAGE}
        assert "retry-after" not in refused.headers
        assert fake.requests_today("ptok") == 4
        assert fake.requests_today("mtok") == 0

        clock.now = datetime(2025, 6, 2, 0, 0, tzinfo=UTC).timestamp()
        assert fake.requests_today("ptok") == 0
        assert (await client.get("leads")).status_code == 200


async def test_max_in_flight_counts_simultaneous_requests_per_key(fake: FakeWhatConverts) -> None:
    fake.response_delay = 0.2
    async with api(fake, "mtok", "msecret") as client:
        await asyncio.gather(*(client.get("leads") for _ in range(5)))
    assert fake.max_in_flight("mtok") == 5
    assert fake.max_in_flight("ptok") == 0


async def test_a_burst_past_twenty_at_once_is_throttled_without_retry_after(fake: FakeWhatConverts) -> None:
    fake.response_delay = 0.5
    async with api(fake, "mtok", "msecret") as client:
        answers = await asyncio.gather(*(client.get("leads") for _ in range(25)))
    throttled = [a for a in answers if a.status_code == 429]
    assert len(throttled) == 5 and sum(a.status_code == 200 for a in answers) == 20
    assert all(a.json() == {"error_message": "Rate limit exceeded"} for a in throttled)
    assert all("retry-after" not in a.headers for a in throttled)
    assert fake.requests_today("mtok") == 25  # refused or not, each counts against the key's day
    assert fake.requests_today("ptok") == 0  # and only against that key


async def oauth_start(
    fake: FakeWhatConverts, http: httpx.AsyncClient, **overrides: str
) -> tuple[httpx.Response, dict[str, list[str]], str]:
    """Run the authorize step; returns (response, redirect query, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": "wc-client",
        "redirect_uri": REDIRECT_URI,
        "state": "st-123",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    response = await http.get(fake.oauth_authorize_url, params=params)
    location = response.headers.get("location", "")
    return response, parse_qs(urlsplit(location).query), verifier


async def token(http: httpx.AsyncClient, fake: FakeWhatConverts, basic: bool = True, **form: str) -> httpx.Response:
    if basic:
        return await http.post(fake.oauth_token_url, data=form, auth=("wc-client", "wc-secret"))
    return await http.post(fake.oauth_token_url, data={"client_id": "wc-client", "client_secret": "wc-secret", **form})


async def test_oauth_code_flow_with_pkce_issues_tokens_that_work_on_the_api(
    fake: FakeWhatConverts, http: httpx.AsyncClient
) -> None:
    fake.register_oauth_client("wc-client", "wc-secret", REDIRECT_URI)
    fake.add_lead()
    fake.add_lead(profile_id=30001)

    response, query, verifier = await oauth_start(fake, http)
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert query["state"] == ["st-123"]

    grant = await token(
        http,
        fake,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    body = grant.json()
    assert grant.status_code == 200
    assert grant.headers["cache-control"] == "no-store"
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "read_leads")
    assert fake.token_requests("authorization_code") == 1

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    async with httpx.AsyncClient(base_url=fake.api_url, headers=bearer) as client:
        leads = (await client.get("leads")).json()
        accounts = await client.get("accounts")
        update = await client.post(f"leads/{leads['leads'][0]['lead_id']}", data={"quotable": "yes"})
    # Granted for the default (first profile) key, so scoped to profile 10 and read-only.
    assert [lead["profile_id"] for lead in leads["leads"]] == [10]
    assert accounts.status_code == 403
    assert update.status_code == 403
    assert fake.calls_to("leads")[-1].key == "ptok"


async def test_authorize_refuses_bad_requests(fake: FakeWhatConverts, http: httpx.AsyncClient) -> None:
    fake.register_oauth_client("wc-client", "wc-secret", REDIRECT_URI)

    wrong_uri, _, _ = await oauth_start(fake, http, redirect_uri=REDIRECT_URI + "/")
    assert wrong_uri.status_code == 400 and "location" not in wrong_uri.headers

    plain, query, _ = await oauth_start(fake, http, code_challenge_method="plain")
    assert plain.status_code == 302 and query["error"] == ["invalid_request"] and query["state"] == ["st-123"]

    fake.deny_next()
    _, denied, _ = await oauth_start(fake, http)
    assert denied["error"] == ["access_denied"] and denied["state"] == ["st-123"]
    _, approved, _ = await oauth_start(fake, http)
    assert "code" in approved


async def test_code_is_single_use_and_bound_to_redirect_uri_and_verifier(
    fake: FakeWhatConverts, http: httpx.AsyncClient
) -> None:
    fake.register_oauth_client("wc-client", "wc-secret", REDIRECT_URI)

    _, query, verifier = await oauth_start(fake, http)
    wrong_redirect = await token(
        http,
        fake,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri="https://evil.test/cb",
        code_verifier=verifier,
    )
    assert wrong_redirect.status_code == 400 and wrong_redirect.json()["error"] == "invalid_grant"

    _, query, verifier = await oauth_start(fake, http)
    wrong_verifier = await token(
        http,
        fake,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT_URI,
        code_verifier=secrets.token_urlsafe(48),
    )
    assert wrong_verifier.json()["error"] == "invalid_grant"

    _, query, verifier = await oauth_start(fake, http)
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI}
    first = await token(http, fake, basic=False, **form, code_verifier=verifier)
    assert first.status_code == 200
    reused = await token(http, fake, **form, code_verifier=verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # A replayed code revokes what it issued (RFC 6749 §4.1.2).
    async with httpx.AsyncClient(base_url=fake.api_url) as client:
        revoked = await client.get("leads", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert revoked.status_code == 401

    bad_client = await http.post(fake.oauth_token_url, data=form, auth=("wc-client", "nope"))
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"


async def test_refresh_rotation_expiry_and_revocation(
    fake: FakeWhatConverts, http: httpx.AsyncClient, clock: Clock
) -> None:
    fake.register_oauth_client("wc-client", "wc-secret", REDIRECT_URI, access_ttl=600, scopes="read_leads write_leads")
    fake.authorize_as("mtok", profile_id=30002)
    _, query, verifier = await oauth_start(fake, http, scope="read_leads")
    first = (
        await token(
            http,
            fake,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
    ).json()

    async def status(access_token: str) -> int:
        async with httpx.AsyncClient(base_url=fake.api_url) as client:
            response = await client.get("leads", headers={"Authorization": f"Bearer {access_token}"})
        return response.status_code

    assert await status(first["access_token"]) == 200
    clock.now += 600
    assert await status(first["access_token"]) == 401

    second = (await token(http, fake, grant_type="refresh_token", refresh_token=first["refresh_token"])).json()
    assert second["refresh_token"] != first["refresh_token"] and second["scope"] == "read_leads"
    reused = await token(http, fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid refresh token.",
    }
    assert fake.token_requests("refresh_token") == 2

    fake.expire_access_token(second["access_token"])
    assert await status(second["access_token"]) == 401

    third = (await token(http, fake, grant_type="refresh_token", refresh_token=second["refresh_token"])).json()
    revoke = await http.post(
        fake.oauth_revoke_url, data={"token": third["refresh_token"]}, auth=("wc-client", "wc-secret")
    )
    assert revoke.status_code == 200
    assert await status(third["access_token"]) == 401
    gone = await token(http, fake, grant_type="refresh_token", refresh_token=third["refresh_token"])
    assert gone.json()["error"] == "invalid_grant"


async def test_refresh_without_rotation_keeps_the_refresh_token_until_the_grant_is_revoked(
    fake: FakeWhatConverts, http: httpx.AsyncClient
) -> None:
    fake.register_oauth_client("wc-client", "wc-secret", REDIRECT_URI, rotate_refresh_tokens=False)
    _, query, verifier = await oauth_start(fake, http)
    first = (
        await token(
            http,
            fake,
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
    ).json()
    for _ in range(2):
        again = (await token(http, fake, grant_type="refresh_token", refresh_token=first["refresh_token"])).json()
        assert "access_token" in again and "refresh_token" not in again
    fake.revoke_grant(first["refresh_token"])
    refused = await token(http, fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refused.json()["error"] == "invalid_grant"


async def test_fault_injection_is_fifo_per_path(fake: FakeWhatConverts) -> None:
    fake.fail_next("/api/v1/leads", status=500)
    fake.rate_limit_next("/api/v1/leads", retry_after=30)
    fake.malformed_next("leads")
    fake.error_message_next("leads", "Invalid start_date.")
    async with api(fake) as client:
        failed = await client.get("leads")
        limited = await client.get("leads/123")
        malformed = await client.get("leads")
        message = await client.get("leads")
        recovered = await client.get("leads")
        accounts = await client.get("accounts")
    assert failed.status_code == 500
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "30")
    assert malformed.status_code == 200 and malformed.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        malformed.json()
    assert (message.status_code, message.json()) == (400, {"error_message": "Invalid start_date."})
    assert recovered.status_code == 200
    assert accounts.status_code == 401  # faults only hit their own path
    # Injected faults never reached the API, so they cost no quota.
    assert fake.requests_today("ptok") == 2

    fake.delay_next("leads", seconds=2)
    async with api(fake, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("leads")


async def test_fixtures_load_and_webhook_payload_matches_the_official_shape(fake: FakeWhatConverts) -> None:
    loaded = fake.load_fixture_leads(FIXTURES / "leads_page_mixed.json", profile_id=10)
    assert [lead["lead_id"] for lead in loaded] == [448621, 448601, 448600]
    assert loaded[0]["additional_fields"] == {"Name:": "John Doe", "Email": "John@Doe.com"}
    async with api(fake) as client:
        web_forms = (await client.get("leads", params={"lead_type": "web_form", "order": "asc"})).json()
    assert [lead["lead_id"] for lead in web_forms["leads"]] == [448600, 448621]

    official = json.loads((FIXTURES / "webhook_chat_new.json").read_text())
    chat = fake.add_lead(lead_type="chat")
    payload = fake.webhook_payload(chat)
    assert payload["trigger"] == "new" and payload["lead_id"] == chat["lead_id"]
    assert set(official) - set(payload) == set()
    assert fake.webhook_payload(chat, trigger="update")["trigger"] == "update"


async def test_a_master_key_gains_accounts_and_profiles_after_connect(fake: FakeWhatConverts) -> None:
    fake.add_account("mtok", {"account_id": 20003, "account_name": "Cedar Roofing",
                              "profiles": [{"profile_id": 30005, "profile_name": "Cedar Main"}]})  # fmt: skip
    fake.add_profile("mtok", 20001, 30006, "Northwind West")
    cedar = fake.add_lead(profile_id=30005)
    west = fake.add_lead(profile_id=30006)

    async with api(fake, "mtok", "msecret") as client:
        accounts = (await client.get("accounts", params={"order": "asc"})).json()["accounts"]
        leads = (await client.get("leads")).json()["leads"]
    async with api(fake) as client:
        foreign = (await client.get("leads")).json()["leads"]

    assert [a["account_id"] for a in accounts] == [20001, 20002, 20003]
    assert [p["profile_id"] for p in accounts[0]["profiles"]] == [30001, 30002, 30006]
    assert (cedar["account_id"], cedar["account"], cedar["profile"]) == (20003, "Cedar Roofing", "Cedar Main")
    assert {lead["lead_id"] for lead in leads} == {cedar["lead_id"], west["lead_id"]}
    assert foreign == []  # the profile key still sees only its own profile
    with pytest.raises(ValueError):
        fake.add_account("ptok", {"account_id": 1, "account_name": "x"})
