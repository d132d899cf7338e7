"""`/whatconverts find <phone|email>`: one contact's leads, only for the asker, one request per connection searched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.commands.find import contact_for, split_connection, typed_text
from bot.commands.find_messages import Found, Search, find_message
from bot.errors import UsageError
from bot.formats import Locale
from bot.whatconverts.leads import Lead
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.connect import connect_key
from tests.support.constants import MASTER_SECRET, MASTER_TOKEN, PROFILE_TOKEN

NUMBER = "+17045550101"


def searches(fake_wc: FakeWhatConverts) -> list[dict[str, str]]:
    """The query of every `GET /leads` the app made since the last `clear()`."""
    return [call.query for call in fake_wc.calls_to("leads")]


async def quota_used(url: str) -> int:
    return sum(row["requests"] for row in (await rawdb.dump(url))["quota_usage"])


@pytest.mark.parametrize("typed", ["(704) 555-0101", "+1 704 555 0101", "7045550101", "704-555-0101 ext. 12"])
async def test_a_phone_number_typed_any_way_is_looked_up_in_e164(
    connected: None, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts, typed: str
) -> None:
    now = datetime.now(UTC)
    fake_wc.add_lead(
        lead_type="phone_call", caller_number=NUMBER, contact_name="Old Call", date_created=now - timedelta(days=3)
    )
    fake_wc.add_lead(lead_type="web_form", contact_phone_number=NUMBER, contact_name="New Form", date_created=now)
    fake_wc.add_lead(lead_type="web_form", contact_phone_number="+17045550199", contact_name="Someone Else")
    fake_wc.clear()

    mark = fake_slack.mark()
    ack = await slack.command(f"find {typed}")
    reply = (await fake_slack.next_call(mark)).params

    assert ack.status_code == 200 and ack.text == ""  # acked at once; the answer goes to the response URL
    assert reply["response_type"] == "ephemeral"
    (query,) = searches(fake_wc)
    assert query["phone_number"] == NUMBER and "email_address" not in query
    assert (query["order"], query["leads_per_page"], query["page_number"]) == ("desc", "10", "1")
    start = datetime.fromisoformat(query["start_date"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(query["end_date"].replace("Z", "+00:00"))
    assert timedelta(days=364) < end - start <= timedelta(days=366)  # within the API's 400 days
    text = reply["text"]
    assert text.startswith("*Leads for +1 704-555-0101 in the last year* (2)")
    assert text.index("New Form") < text.index("Old Call")  # newest first
    assert "Someone Else" not in text
    assert "Cost 1 WhatConverts request (quota today: 3 / 1,000)." in text  # connect's 2 checks and this one


async def test_a_national_number_is_dialled_from_the_connections_country(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    await slack.ask("connection country GB")
    fake_wc.add_lead(contact_phone_number="+442079460018", contact_name="London Caller")
    fake_wc.clear()

    reply = await slack.ask("find 020 7946 0018")

    assert [q["phone_number"] for q in searches(fake_wc)] == ["+442079460018"]
    assert reply["text"].startswith("*Leads for +44 20 7946 0018 in the last year* (1)")
    assert "London Caller" in reply["text"]


async def test_an_email_address_as_slack_sends_it(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.add_lead(contact_email_address="jo.smith@example.com", contact_name="Jo Smith")
    fake_wc.clear()

    # With should_escape on, Slack turns a typed address into a mailto link; the domain's case doesn't matter.
    linked = await slack.ask("find <mailto:Jo.Smith@Example.COM|Jo.Smith@Example.COM>")
    plain = await slack.ask("find jo.smith@example.com")

    assert [q["email_address"] for q in searches(fake_wc)] == ["Jo.Smith@example.com", "jo.smith@example.com"]
    assert all("phone_number" not in q for q in searches(fake_wc))
    assert linked["text"].startswith("*Leads for Jo.Smith@example.com in the last year* (1)")
    assert "Jo Smith" in linked["text"] and "Jo Smith" in plain["text"]


async def test_no_leads_says_so_and_what_it_cost(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    fake_wc.clear()
    before = await quota_used(sqlite_url)

    reply = await slack.ask("find +1 704 555 0101")

    assert reply["text"].startswith("No leads for +1 704-555-0101 in the last year.")
    assert f"Cost 1 WhatConverts request (quota today: {before + 1} / 1,000)." in reply["text"]
    assert await quota_used(sqlite_url) == before + 1
    assert len(searches(fake_wc)) == 1


async def test_only_the_latest_ten_are_shown_with_how_many_more_exist(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    now = datetime.now(UTC)
    for i in range(13):
        fake_wc.add_lead(contact_phone_number=NUMBER, contact_name=f"Visit {i}", date_created=now - timedelta(hours=i))
    fake_wc.clear()

    reply = await slack.ask("find 7045550101")

    text = reply["text"]
    assert "(latest 10 of 13)" in text and "3 more leads for this contact in WhatConverts." in text
    assert "Visit 0" in text and "Visit 9" in text and "Visit 10" not in text
    assert len(searches(fake_wc)) == 1  # the count comes from total_leads, not from reading every page


async def test_every_connection_is_searched_unless_one_is_named(
    connected: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str
) -> None:
    fake_wc.set_daily_limit(MASTER_TOKEN, None)
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect agency")
    now = datetime.now(UTC)
    fake_wc.add_lead(contact_phone_number=NUMBER, contact_name="Main Lead", date_created=now - timedelta(hours=1))
    fake_wc.add_lead(profile_id=30001, contact_phone_number=NUMBER, contact_name="Agency Lead", date_created=now)
    fake_wc.clear()
    before = await quota_used(sqlite_url)

    both = await slack.ask("find (704) 555-0101")

    assert sorted(call.key for call in fake_wc.calls_to("leads")) == sorted([PROFILE_TOKEN, MASTER_TOKEN])
    text = both["text"]
    assert text.startswith("*Leads for +1 704-555-0101 in the last year* (2)")
    assert text.index("Agency Lead") < text.index("Main Lead")
    assert "Cost 2 WhatConverts requests, 2 connections searched (quota today: " in text
    assert "`agency` " in text and "`main-site` " in text
    assert await quota_used(sqlite_url) == before + 2

    fake_wc.clear()
    one = await slack.ask("find (704) 555-0101 connection:agency")

    assert [call.key for call in fake_wc.calls_to("leads")] == [MASTER_TOKEN]
    assert "Agency Lead" in one["text"] and "Main Lead" not in one["text"]
    assert "Cost 1 WhatConverts request (quota today: " in one["text"]

    fake_wc.clear()
    unknown = await slack.ask("find (704) 555-0101 connection:nope")
    assert "No connection called `nope`" in unknown["text"] and searches(fake_wc) == []


async def test_a_failing_connection_is_named_and_the_others_still_answer(
    connected: None, app_url: str, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.set_daily_limit(MASTER_TOKEN, None)
    await connect_key(app_url, slack, token=MASTER_TOKEN, secret=MASTER_SECRET, text="connect agency")
    fake_wc.add_lead(contact_phone_number=NUMBER, contact_name="Main Lead")
    fake_wc.clear()
    fake_wc.fail_next("/api/v1/leads", status=503)

    reply = await slack.ask("find 7045550101")

    assert len(searches(fake_wc)) == 2
    assert "Couldn't search `" in reply["text"] and "didn't answer properly" in reply["text"]
    assert "Cost 2 WhatConverts requests" in reply["text"]  # the failed request counts too


async def test_when_whatconverts_fails_the_user_is_told(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.clear()
    fake_wc.fail_next("/api/v1/leads", status=503)

    reply = await slack.ask("find 7045550101")

    assert "didn't answer properly" in reply["text"] and len(searches(fake_wc)) == 1


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "Whose leads?"),
        ("hello", "That isn't a whole phone number"),
        ("555-0101", "That isn't a whole phone number"),  # no area code
        ("12", "That isn't a whole phone number"),
        ("call 704 555 0101", "That isn't a whole phone number"),
        ("jo@example", "That isn't an email address"),
        ("jo@@example.com", "That isn't an email address"),
        ("9" * 300, "too long"),
        ("<@U2>", "not a mention or a link"),
        ("<!channel>", "not a mention or a link"),
        ("<#C1|leads>", "not a mention or a link"),
        ("<https://evil.example/x|jo@example.com>", "not a mention or a link"),
        ("7045550101 connection:a connection:b", "Name one connection"),
        ("7045550101 connection:", "needs a label"),
    ],
)
async def test_bad_input_gets_a_short_answer_and_no_request(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts, sqlite_url: str, typed: str, said: str
) -> None:
    fake_wc.clear()
    before = await quota_used(sqlite_url)

    reply = await slack.ask(f"find {typed}")

    assert said in reply["text"]
    assert "<!channel>" not in json.dumps(reply) and "<@U2>" not in json.dumps(reply)
    assert searches(fake_wc) == [] and await quota_used(sqlite_url) == before


async def test_guests_are_refused_before_anything_is_looked_up(
    connected: None, slack: SlackClient, fake_wc: FakeWhatConverts
) -> None:
    fake_wc.clear()
    reply = await slack.ask("find 7045550101", user_id="U3")
    assert "guests can't use" in reply["text"] and searches(fake_wc) == []


async def test_without_a_connection_it_says_to_connect(installed: None, slack: SlackClient) -> None:
    reply = await slack.ask("find 7045550101")
    assert "Connect WhatConverts first" in reply["text"]


async def test_hostile_lead_content_is_escaped(connected: None, slack: SlackClient, fake_wc: FakeWhatConverts) -> None:
    fake_wc.add_lead(contact_phone_number=NUMBER, contact_name="<!channel> <https://evil.example|Click>")

    reply = await slack.ask("find 7045550101")

    assert "<!channel>" not in json.dumps(reply) and "<https://evil.example" not in json.dumps(reply)
    assert "&lt;!channel&gt;" in reply["text"]


@pytest.mark.parametrize(
    ("typed", "country", "field", "value"),
    [
        ("(704) 555-0101", "US", "phone_number", NUMBER),
        ("+1 704 555 0101", "GB", "phone_number", NUMBER),
        ("020 7946 0018", "GB", "phone_number", "+442079460018"),
        ("1-800-555-0199", "US", "phone_number", "+18005550199"),
        ("Jo@Example.com", "US", "email_address", "Jo@example.com"),
        ("a+b@x.co.uk", "US", "email_address", "a+b@x.co.uk"),
    ],
)
def test_contact_for(typed: str, country: str, field: str, value: str) -> None:
    contact = contact_for(typed, country)
    assert contact is not None and (contact.field, contact.value) == (field, value)


@pytest.mark.parametrize(
    "typed", ["555-0101", "hello", "jo@", "@example.com", "jo@example", "+999 123", "jo@ex ample.com"]
)
def test_contact_for_refuses(typed: str) -> None:
    assert contact_for(typed, "US") is None


def test_the_answer_fits_slack_and_says_what_each_connection_cost() -> None:
    leads = [
        Found(
            Lead.from_api({"lead_id": i + 1, "lead_type": "Web Form", "contact_name": "<!here> " + "x" * 400}), Locale()
        )
        for i in range(10)
    ]
    searches = [Search("acme", 1, 12, 1000, total=25), Search("beta", 2, 7, 10000, error="it <b>broke</b>")]

    message = find_message(leads, contact="jo@example.com", since="in the last year", searches=searches)

    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    footer = message["blocks"][-1]["elements"][0]["text"]
    assert footer == (
        ":warning: Couldn't search `beta`: it &lt;b&gt;broke&lt;/b&gt;\n"
        "15 more leads for this contact in WhatConverts.\n"
        "Cost 3 WhatConverts requests, 2 connections searched (quota today: `acme` 12 / 1,000 · `beta` 7 / 10,000)."
    )
    assert "<!here>" not in json.dumps(message)


@given(st.lists(st.text(max_size=40), max_size=6), st.sampled_from(["US", "GB", "ZZ"]))
def test_any_words_give_a_contact_none_or_a_usage_error(words: list[str], country: str) -> None:
    try:
        _, rest = split_connection(words)
        contact = contact_for(typed_text(rest), country)
    except UsageError:
        return
    if contact is not None:
        assert contact.field in ("phone_number", "email_address")
        assert not set(contact.value) & set("<>| \n") and len(contact.value) <= 254
