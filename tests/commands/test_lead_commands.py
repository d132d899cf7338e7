"""`/whatconverts leads`, `stats` and `test`: answered after the ack, counted against the quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.constants import PROFILE_TOKEN

MIDDAY_IN_NEW_YORK = datetime(2025, 6, 2, 16, 0, tzinfo=UTC)


async def answer(fake: FakeSlack) -> dict:
    """The latest answer posted to the response URL."""
    return (await fake.wait_for_calls("response_url"))[-1].params


# Midday in New York (ada's zone), so leads minutes old are today's there whenever the suite runs:
# at real time, leads made in the 12 minutes before 00:12 in New York were yesterday's.
@time_machine.travel(MIDDAY_IN_NEW_YORK, tick=True)
async def test_leads_today_with_filters(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    now = datetime.now(UTC)
    for i in range(12):
        fake_wc.add_lead(lead_type="phone_call", contact_name=f"Caller {i}", date_created=now - timedelta(minutes=i))
    fake_wc.add_lead(lead_type="web_form", contact_name="Form Person")
    fake_wc.add_lead(lead_type="phone_call", contact_name="Old Caller", date_created=now - timedelta(days=3))
    before = fake_wc.requests_today(PROFILE_TOKEN)

    mark = fake_slack.mark()
    ack = await slack.command("leads today calls")
    body = (await fake_slack.next_call(mark)).params

    assert ack.status_code == 200 and ack.text == ""  # acked at once; the answer follows
    assert body["response_type"] == "ephemeral"
    assert "latest 10 of 12" in body["text"] and "Caller 0" in body["text"]
    assert "Form Person" not in body["text"] and "Old Caller" not in body["text"] and "Caller 11" not in body["text"]
    assert fake_wc.requests_today(PROFILE_TOKEN) == before + 1
    used = (await rawdb.dump(sqlite_url))["quota_usage"]
    assert sum(r["requests"] for r in used) == 2 + 1  # connect checks + this command


async def test_stats_counts_and_totals(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead(lead_type="phone_call", lead_source="google", quote_value=1200, quotable="yes")
    fake_wc.add_lead(lead_type="web_form", lead_source="google", sales_value=99.5, lead_campaign="Spring")
    fake_wc.add_lead(lead_type="web_form", lead_source="bing", spam=True)

    await slack.ask("stats 7d")
    text = (await answer(fake_slack))["text"]

    assert "*2 leads the last 7 days*" in text  # spam is hidden by default
    assert "Phone call: 1" in text and "Web form: 1" in text
    assert "google: 2" in text and "bing" not in text
    assert "$1,200.00" in text and "$99.50" in text and "Spring: 1" in text


async def test_leads_errors_reach_the_user(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.fail_next("/api/v1/leads", status=503)
    await slack.ask("leads")
    assert "didn't answer properly" in (await answer(fake_slack))["text"]

    await slack.ask("leads today yesterday")
    assert "one range" in (await answer(fake_slack))["text"]

    await slack.ask("leads +colour:red")
    assert "+colour:red" in (await answer(fake_slack))["text"]


async def test_guests_see_no_leads(connected: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    await slack.ask("leads", user_id="U3")
    assert "guests can't use" in (await answer(fake_slack))["text"]


async def test_test_posts_a_sample_card_here(connected: None, slack: SlackClient, fake_slack: FakeSlack) -> None:
    fake_slack.clear()
    reply = await slack.ask("test", channel_id="C1")

    assert "Posted a sample" in reply["text"]
    (post,) = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "C1" and post.params["text"].startswith("Sample: ")
    fake_slack.add_channel("T1", "C5", name="closed", is_member=False)
    refused = await slack.ask("test", channel_id="C5")
    assert "Invite me" in refused["text"]
