"""Polling drops to the backstop only while webhooks bring every new lead.

WhatConverts webhooks are set up per profile for *New Lead* and/or *Update Lead*, and may be
limited to some lead types. An update-only webhook, or a calls-only one, still sends webhooks; a
poller that took any webhook as "leads arrive instantly" left the other leads to a poll every 15
minutes (the demo, whose stand-in sent update webhooks only, stalled that way).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from starlette.applications import Starlette

from bot.alerts import webhook_trust
from bot.alerts.delivery import Sender
from bot.alerts.poller import Poller
from bot.whatconverts.leads import Lead
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support.connect import local
from tests.support.polls import poll_now
from tests.support.waiting import eventually


@pytest.fixture
async def hook(connected: None, app_url: str, slack: SlackClient) -> str:
    """#C1 subscribed to every lead since ten minutes ago, and the connection's webhook URL."""
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=10), tick=True):
        await slack.ask("subscribe")
    return local((await slack.ask("webhook"))["text"].split("```")[1], app_url)


async def post(url: str, payload: dict) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.post(url, json=payload)).status_code


def ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def test_update_webhooks_alone_leave_polling_at_its_normal_cadence(
    hook: str, app: Starlette, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    """A webhook set up for *Update Lead* only never brings a new lead: polling mustn't wait for one."""
    services = app.state.services
    poller = Poller(services, owner="trust-poller")
    call = fake_wc.add_lead(lead_type="phone_call", lead_state="In Progress", date_created=ago(1))
    await poll_now(services, poller)  # the call's card comes by polling
    done = fake_wc.update_lead(call["lead_id"], lead_state="Completed", call_duration_seconds=95)

    assert await post(hook, fake_wc.webhook_payload(done, trigger="update")) == 200
    wait = await poll_now(services, poller)
    await poller.aclose()

    assert wait < 2 * 60  # a profile key's normal cadence (the backstop is 15 min)
    status = (await slack.ask("status"))["text"]
    assert "Mode: polling" in status and "backstop" not in status
    assert "New-lead webhooks in the last 60 min: none yet." in (await slack.ask("webhook"))["text"]


async def test_a_lead_the_webhook_did_not_bring_puts_polling_back_to_its_normal_cadence(
    hook: str, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    """A webhook limited to calls: the poll finds the forms, and stops relying on it for a day."""
    services = app.state.services
    poller = Poller(services, owner="trust-poller")
    call = fake_wc.add_lead(lead_type="phone_call", date_created=ago(5))
    assert await post(hook, fake_wc.webhook_payload(call)) == 200
    # Made seconds ago: its webhook may still be on its way, so the poll finding it first proves nothing.
    fake_wc.add_lead(lead_type="web_form", date_created=ago(0))
    trusted = await poll_now(services, poller)
    form = fake_wc.add_lead(lead_type="web_form", contact_name="Forma Missed", date_created=ago(3))

    missed = await poll_now(services, poller)
    assert await post(hook, fake_wc.webhook_payload(fake_wc.add_lead(lead_type="phone_call"))) == 200
    still = await poll_now(services, poller)
    await poller.aclose()
    sender = Sender(services, spacing=0)

    async def form_card() -> bool:
        await sender.tick()  # one card per channel per tick: Slack's pace
        return any(f"Lead #{form['lead_id']}" in str(m["blocks"]) for m in fake_slack.messages("C1"))

    assert trusted > 14 * 60  # the call came by webhook and the poll found it again: no miss
    assert missed < 2 * 60 and still < 2 * 60  # calls keep coming by webhook; the forms wouldn't
    assert await eventually(form_card)
    status = (await slack.ask("status"))["text"]
    assert "Mode: polling (a webhook missed a lead <!date^" in status
    webhook = (await slack.ask("webhook"))["text"]
    assert ":warning: A poll found a lead the webhook didn't bring" in webhook
    assert "make sure the webhook is set for *New Lead* and every lead type" in webhook
    assert services.metrics.webhook_misses._value.get() == 1


NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def lead(lead_id: int, *, minutes_old: float | None, profile_id: int = 10) -> Lead:
    created = None if minutes_old is None else (NOW - timedelta(minutes=minutes_old)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Lead.from_api({"lead_id": lead_id, "account_id": 1, "profile_id": profile_id, "date_created": created})


@pytest.mark.parametrize(
    ("minutes_old", "missed"),
    [(0.5, False), (1.9, False), (2.5, True), (59, True), (61, False), (None, False)],
)
def test_a_miss_is_a_lead_old_enough_for_its_webhook_and_new_enough_to_be_news(
    minutes_old: float | None, missed: bool
) -> None:
    """Younger: its webhook may be on its way. Older: a sweep's find (it changed to match), not news."""
    found = webhook_trust.misses([lead(1, minutes_old=minutes_old)], {(1, 10)}, key_type="profile", now=NOW)

    assert found == ({(1, 10)} if missed else set())


def test_an_agency_key_misses_per_profile_and_a_profile_key_as_a_whole() -> None:
    trusted = {(1, 10), (1, 20)}
    late = [lead(1, minutes_old=5, profile_id=20), lead(2, minutes_old=5, profile_id=30)]  # 30 isn't trusted

    assert webhook_trust.misses(late, trusted, key_type="master", now=NOW) == {(1, 20)}
    assert webhook_trust.misses(late, trusted, key_type="profile", now=NOW) == trusted
    assert webhook_trust.misses(late, set(), key_type="profile", now=NOW) == set()
