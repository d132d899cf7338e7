"""The WhatConverts client against the fake API: pagination, concurrency bounds, and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.whatconverts.client import (
    ApiKey,
    WhatConvertsAuthError,
    WhatConvertsBadResponse,
    WhatConvertsClient,
    WhatConvertsForbidden,
    WhatConvertsQuotaExceeded,
    WhatConvertsRequestError,
    WhatConvertsThrottled,
    WhatConvertsUnavailable,
)
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_SECRET, PROFILE_TOKEN

PROFILE = ApiKey(PROFILE_TOKEN, PROFILE_SECRET)
MASTER = ApiKey(MASTER_TOKEN, MASTER_SECRET)


@pytest.fixture
async def client(fake_wc: FakeWhatConverts) -> AsyncIterator[WhatConvertsClient]:
    client = WhatConvertsClient(fake_wc.api_url, timeout=2.0)
    yield client
    await client.aclose()


async def test_walk_reads_every_page_oldest_first(client: WhatConvertsClient, fake_wc: FakeWhatConverts) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(7):
        fake_wc.add_lead(date_created=start + timedelta(minutes=i))

    walk = await client.walk_leads(PROFILE, start=start, end=start + timedelta(hours=1), per_page=3)

    assert walk.requests == 3
    assert [lead.date_created for lead in walk.leads] == [start + timedelta(minutes=i) for i in range(7)]
    pages = [c.query["page_number"] for c in fake_wc.calls_to("leads")]
    assert pages == ["1", "2", "3"]
    assert {c.query["order"] for c in fake_wc.calls_to("leads")} == {"asc"}


async def test_accounts_for_master_and_refused_for_profile(client: WhatConvertsClient) -> None:
    accounts = await client.accounts(MASTER)
    assert len(accounts) == 2 and all(a.profiles for a in accounts)
    with pytest.raises(WhatConvertsAuthError):  # 401, as the real API answers a profile key
        await client.accounts(PROFILE)


async def test_single_lead_and_update(client: WhatConvertsClient, fake_wc: FakeWhatConverts) -> None:
    lead_id = fake_wc.add_lead(lead_type="phone_call")["lead_id"]

    lead = await client.lead(PROFILE, lead_id)
    updated = await client.update_lead(PROFILE, lead_id, {"quotable": "yes", "quote_value": "1200"})

    assert lead.lead_id == lead_id and lead.lead_type == "phone_call"
    assert updated.quotable == "yes" and str(updated.quote_value) == "1200"
    assert fake_wc.get_lead(lead_id)["quotable"] == "Yes"
    with pytest.raises(WhatConvertsRequestError, match="Invalid lead ID"):
        await client.lead(PROFILE, 999999)


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        (lambda f: f.fail_next("/api/v1/leads", status=500), WhatConvertsUnavailable),
        (lambda f: f.fail_next("/api/v1/leads", status=503, body="down"), WhatConvertsUnavailable),
        (lambda f: f.malformed_next("/api/v1/leads"), WhatConvertsBadResponse),
        (lambda f: f.delay_next("/api/v1/leads", 5), WhatConvertsUnavailable),
        # aiohttp retries an idempotent request once on a dropped connection; two drops reach us.
        (lambda f: f.drop_next("/api/v1/leads", times=2), WhatConvertsUnavailable),
        (lambda f: f.error_message_next("/api/v1/leads", "Invalid parameter."), WhatConvertsRequestError),
    ],
)
async def test_faults_map_to_a_closed_vocabulary(
    client: WhatConvertsClient, fake_wc: FakeWhatConverts, inject: object, error: type[Exception]
) -> None:
    inject(fake_wc)  # type: ignore[operator]
    with pytest.raises(error):
        await client.leads_page(PROFILE, leads_per_page=1)


async def test_a_429_is_a_throttle_unless_it_says_daily(client: WhatConvertsClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.rate_limit_next("/api/v1/leads")  # as WhatConverts throttles: 429, no Retry-After
    with pytest.raises(WhatConvertsThrottled) as throttled:
        await client.leads_page(PROFILE)
    assert throttled.value.retry_after is None

    fake_wc.rate_limit_next("/api/v1/leads", retry_after=7)
    with pytest.raises(WhatConvertsThrottled) as told:
        await client.leads_page(PROFILE)
    assert told.value.retry_after == 7

    fake_wc.set_daily_limit(PROFILE_TOKEN, 0)
    with pytest.raises(WhatConvertsQuotaExceeded) as spent:
        await client.leads_page(PROFILE)
    assert spent.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (429, "Too many requests", WhatConvertsThrottled),
        (400, "API rate limit exceeded", WhatConvertsThrottled),
        (400, "Daily API limit reached", WhatConvertsQuotaExceeded),
        # A limit refused as "forbidden" is still a limit, not a dead key.
        (403, "Your daily request limit has been reached", WhatConvertsQuotaExceeded),
        (403, "This endpoint requires a Master Account API key.", WhatConvertsForbidden),
        (400, "Invalid lead ID.", WhatConvertsRequestError),
    ],
)
async def test_limits_are_told_apart_by_what_the_answer_says(
    client: WhatConvertsClient, fake_wc: FakeWhatConverts, status: int, message: str, error: type[Exception]
) -> None:
    fake_wc.error_message_next("/api/v1/leads", message, status=status)
    with pytest.raises(error):
        await client.leads_page(PROFILE)


async def test_wrong_secret_is_an_auth_error_without_the_secret(client: WhatConvertsClient) -> None:
    with pytest.raises(WhatConvertsAuthError) as info:
        await client.leads_page(ApiKey(PROFILE_TOKEN, "wrong-secret-value"))
    assert "wrong-secret-value" not in str(info.value) and "wrong-secret-value" not in repr(ApiKey("t", "wrong"))


async def test_at_most_twenty_requests_in_flight_per_key(client: WhatConvertsClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.response_delay = 0.05

    await asyncio.gather(*(client.leads_page(PROFILE, leads_per_page=1) for _ in range(60)))

    assert fake_wc.max_in_flight(PROFILE_TOKEN) == 20
