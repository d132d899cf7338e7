"""Phone numbers and money as people read them, per connection; the sample card and the folded spam card."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette

from bot import formats, ids
from bot.alerts.cards import lead_card, sample_card
from bot.config import Settings
from bot.connect.settings_messages import locale_message
from bot.formats import Locale, Phone, country_code, currency_code, money, phone
from bot.whatconverts.leads import Lead
from tests.fakes.signing import SlackClient
from tests.fakes.slack import FakeSlack
from tests.fakes.whatconverts import FakeWhatConverts
from tests.support import rawdb
from tests.support.outbox import cards_in, poll_now, subscribed, unpaced
from tests.support.payloads import home_press
from tests.support.settings import make_settings

__all__ = ["subscribed"]  # a fixture, used by name


def md(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def slack_accepts(message: dict) -> None:
    """What Slack would refuse (`invalid_blocks`), slack_sdk refuses too."""
    assert 0 < len(message["text"]) <= 3000
    blocks = Block.parse_all(message["blocks"])
    assert len(blocks) == len(message["blocks"]) <= 50
    for block in blocks:
        block.validate_json()


def fields_of(card: dict) -> dict[str, str]:
    """The card's fields by label: {"Phone": "<tel:…|…>", …}."""
    texts = [f["text"] for b in card["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    return dict(t.split("\n", 1) for t in texts)


# --- phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+17045550101", "US", Phone("(704) 555-0101", "+17045550101")),  # at home: national format
        ("704.555.0101", "US", Phone("(704) 555-0101", "+17045550101")),
        ("+1 704 555 0101 ext. 12", "US", Phone("(704) 555-0101 ext. 12", "+17045550101")),
        ("+442079460958", "US", Phone("+44 20 7946 0958", "+442079460958")),  # abroad: international
        ("+442079460958", "GB", Phone("020 7946 0958", "+442079460958")),
        ("020 7946 0958", "GB", Phone("020 7946 0958", "+442079460958")),  # no +: dialled from the country
        ("+17045550101", "GB", Phone("+1 704-555-0101", "+17045550101")),
        ("+1 416-555-0199", "US", Phone("+1 416-555-0199", "+14165550199")),  # Canada shares +1, not the US
        ("+1 555-0100", "US", Phone("+1 555-0100")),  # no such number: as given, unlinked
        ("call me on 704 555 0101", "US", Phone("call me on 704 555 0101")),  # not just a number
        ("garbage", "US", Phone("garbage")),
        ("<tel:+17045550101|(704) 555-0101>", "US", Phone("<tel:+17045550101|(704) 555-0101>")),
        ("1" * 60, "US", Phone("1" * 60)),
    ],
)
def test_phone(raw: str, country: str, expected: Phone) -> None:
    assert phone(raw, country) == expected


@given(st.text(max_size=60), st.sampled_from(["US", "GB", "DE", "JP", "ZZ"]))
def test_phone_never_raises_and_links_only_real_numbers(raw: str, country: str) -> None:
    shown = phone(raw, country)
    if shown.e164 is None:
        assert shown.text == raw.strip()
    else:
        assert shown.e164[0] == "+" and shown.e164[1:].isdigit()
        assert not set(shown.text) - set("0123456789 +-().ext")


def lead_with(phone_number: str, **more: object) -> Lead:
    return Lead.from_api({"lead_id": 9, "lead_type": "Web Form", "contact_phone_number": phone_number, **more})


@pytest.mark.parametrize(
    ("typed", "country", "e164", "shown"),
    [
        ("(704) 555-0101", "US", "+17045550101", "+1 704-555-0101"),
        ("704.555.0101 x12", "US", "+17045550101", "+1 704-555-0101"),  # leads keep no extension
        ("020 7946 0018", "GB", "+442079460018", "+44 20 7946 0018"),
        ("+1 704 555 0101", "GB", "+17045550101", "+1 704-555-0101"),
    ],
)
def test_a_typed_number_for_a_lookup(typed: str, country: str, e164: str, shown: str) -> None:
    assert formats.typed_phone(typed, country) == Phone(shown, e164)


@pytest.mark.parametrize("typed", ["555-0101", "12", "+999 123", "call 7045550101", "7045550101!", ""])
def test_not_a_whole_number_for_a_lookup(typed: str) -> None:
    assert formats.typed_phone(typed, "US") is None


@given(st.text(max_size=60), st.sampled_from(["US", "GB", "DE", "JP", "ZZ"]))
def test_a_lookup_never_raises_and_sends_only_e164(raw: str, country: str) -> None:
    found = formats.typed_phone(raw, country)
    assert found is None or (found.e164 is not None and re.fullmatch(r"\+\d{2,15}", found.e164))


def test_card_links_a_real_number_in_national_format() -> None:
    card = lead_card(lead_with("+17045550101"))
    assert fields_of(card)["*Phone*"] == "<tel:+17045550101|(704) 555-0101>"
    # With nobody named, the number names the lead, written the same way (plain text there: no link).
    assert card["text"] == "New web form from (704) 555-0101"
    assert card["blocks"][0]["text"]["text"] == "📝 Web form from (704) 555-0101"
    slack_accepts(card)


def test_card_shows_a_foreign_number_internationally() -> None:
    card = lead_card(lead_with("+44 20 7946 0958"))
    assert fields_of(card)["*Phone*"] == "<tel:+442079460958|+44 20 7946 0958>"
    assert fields_of(lead_card(lead_with("+44 20 7946 0958"), locale=Locale(country="GB")))["*Phone*"] == (
        "<tel:+442079460958|020 7946 0958>"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("garbage", "garbage"),
        (
            "<!channel> 555 & <https://evil.example|call>",
            "&lt;!channel&gt; 555 &amp; &lt;https://evil.example|call&gt;",
        ),
        ("<tel:+19005550199|(704) 555-0101>", "&lt;tel:+19005550199|(704) 555-0101&gt;"),
    ],
)
def test_an_unreadable_number_is_shown_escaped_and_never_linked(raw: str, shown: str) -> None:
    card = lead_card(lead_with(raw), compact=False)
    assert fields_of(card)["*Phone*"] == shown
    # Everything Slack parses as mrkdwn (the header is plain_text: shown literally, never a link).
    everything = json.dumps([card["text"], *(b for b in card["blocks"] if b["type"] != "header")])
    assert "<tel:" not in everything and "<!channel>" not in everything and "<https://" not in everything
    slack_accepts(card)


def test_compact_lines_write_numbers_the_same_way() -> None:
    """Compact cards are what `leads` lists and the quiet-hours summary show."""
    line = lead_card(lead_with("+17045550101"), compact=True)["blocks"][0]["text"]["text"]
    assert line == "📝 *(704) 555-0101* · Web form"


# --- money -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("1234.5", "USD", "$1,234.50"),
        ("1234.5", "EUR", "€1,234.50"),
        ("1234.5", "GBP", "£1,234.50"),
        ("1234.5", "CAD", "CA$1,234.50"),
        ("1234.5", "CHF", "CHF 1,234.50"),  # no symbol everyone knows: the ISO code
        ("1234.5", "JPY", "¥1,234"),  # no minor unit
        ("1234.5", "KWD", "KWD 1,234.500"),  # three decimals
        ("-5.5", "EUR", "-€5.50"),
        ("0", "SEK", "SEK 0.00"),
        ("1E+20", "EUR", "€1.000e+20"),
    ],
)
def test_money(value: str, currency: str, expected: str) -> None:
    assert money(Decimal(value), currency) == expected


def test_card_values_in_the_connections_currency() -> None:
    lead = Lead.from_api({"lead_id": 3, "quote_value": "1234.5", "sales_value": "99", "quotable": "Yes"})
    assert fields_of(lead_card(lead))["*Value*"] == "Quotable · Quote $1,234.50 · Sales $99.00"
    euro = lead_card(lead, locale=Locale(currency="EUR"))
    assert fields_of(euro)["*Value*"] == "Quotable · Quote €1,234.50 · Sales €99.00"
    assert "Quote CHF 1,234.50" in json.dumps(lead_card(lead, compact=True, locale=Locale(currency="CHF")))


@pytest.mark.parametrize(("typed", "code"), [("eur", "EUR"), (" GBP ", "GBP"), ("usd", "USD"), ("XOF", "XOF")])
def test_currency_codes(typed: str, code: str) -> None:
    assert currency_code(typed) == code


@pytest.mark.parametrize("typed", ["EURO", "US$", "€", "", "ABC", "<!channel>"])
def test_not_currency_codes(typed: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        currency_code(typed)


@pytest.mark.parametrize(("typed", "code"), [("gb", "GB"), ("US", "US"), ("de", "DE")])
def test_country_codes(typed: str, code: str) -> None:
    assert country_code(typed) == code


def test_not_country_codes() -> None:
    with pytest.raises(ValueError, match="is GB"):
        country_code("uk")
    for typed in ("XX", "USA1", "", "<@U1>", "001"):
        with pytest.raises(ValueError, match="ISO 3166"):
            country_code(typed)


def test_the_settings_reply_escapes_and_shows_examples() -> None:
    reply = locale_message(label="a&b", locale=Locale("EUR", "GB"), changed=False)
    assert "`a&amp;b` cards show money in *EUR* (€1,234.50)" in reply["text"]
    assert "dialled from *GB* (0121 234 5678)" in reply["text"]
    slack_accepts(reply)


# --- the sample card ---------------------------------------------------------------------------


@pytest.mark.parametrize("compact", [False, True])
def test_the_sample_card_says_it_is_a_sample_and_has_no_buttons(compact: bool) -> None:
    card = sample_card(compact=compact, locale=Locale("EUR", "US"))
    assert card["text"].startswith("Sample: ")  # the notification says so too
    assert card["blocks"][0] == {
        "type": "context",
        "elements": [md("🧪 *Sample card — not a real lead.* New leads will look like this.")],
    }
    assert not any(b["type"] == "actions" for b in card["blocks"])
    assert "€1,200.00" in json.dumps(card, ensure_ascii=False)
    slack_accepts(card)


def test_the_sample_number_is_a_real_format() -> None:
    assert fields_of(sample_card())["*Phone*"] == "<tel:+17045550101|(704) 555-0101>"


# --- the spam card -----------------------------------------------------------------------------

SPAM = {
    "lead_id": 41,
    "lead_type": "Phone Call",
    "spam": True,
    "lead_source": "google",
    "lead_medium": "<!channel>",
    "contact_name": "Jane Private",
    "contact_phone_number": "+17045550101",
    "contact_email_address": "jane@example.com",
    "message": "my address is 1 Main St",
    "quote_value": "500",
    "date_created": "2025-05-28T19:00:00Z",
    "last_updated": "2025-05-28T19:19:51Z",
}


@pytest.mark.parametrize("compact", [False, True])
def test_a_spam_lead_folds_to_one_line_without_details_or_buttons(compact: bool) -> None:
    card = lead_card(Lead.from_api(SPAM), compact=compact, actions=True, notes=["✓ marked quotable by <@U2>"])
    assert card == {
        "text": "Spam phone call (google / &lt;!channel&gt;)",
        "blocks": [
            {
                "type": "context",
                "elements": [
                    md(
                        ":no_entry: Marked as spam in WhatConverts"
                        " · <!date^1748459991^{date_short_pretty} at {time}|2025-05-28 19:19 UTC>"
                        " · 📞 Phone call · google / &lt;!channel&gt; · Lead #41"
                    )
                ],
            }
        ],
    }
    slack_accepts(card)


def test_a_lead_no_longer_spam_gets_its_full_card_back() -> None:
    card = lead_card(Lead.from_api({**SPAM, "spam": False}), actions=True)
    assert "Jane Private" in json.dumps(card) and card["blocks"][-1]["block_id"] == ids.BLOCK_LEAD_ACTIONS


# --- end to end: set through Slack, shown on cards ----------------------------------------------------


class TestSetThroughSlack:
    """On SQLite and PostgreSQL: the setting is stored by the command and read by the sender."""

    @pytest.fixture
    def settings(self, database_url: str, fake_slack: FakeSlack, fake_wc: FakeWhatConverts) -> Settings:
        return make_settings(database_url, fake_slack, fake_wc)

    async def test_currency_and_country_set_with_a_command_reach_the_cards(
        self, subscribed: None, app: Starlette, slack: SlackClient, fake_slack: FakeSlack, fake_wc: FakeWhatConverts,
        database_url: str,
    ) -> None:  # fmt: skip
        shown = await slack.ask("connection")
        assert "cards show money in *USD* ($1,234.50)" in shown["text"] and "*US*" in shown["text"]

        changed = await slack.ask("connection main-site currency eur")  # U1, a workspace admin
        assert "now show money in *EUR* (€1,234.50)" in changed["text"]
        await slack.ask("connection country GB")
        (row,) = (await rawdb.dump(database_url))["connections"]
        assert (row["currency"], row["country"]) == ("EUR", "GB")

        fake_wc.add_lead(lead_type="web_form", quote_value=1234.5, contact_phone_number="+442079460958")
        await poll_now(app)
        await unpaced(app).run()

        (card,) = cards_in(fake_slack, "C1")
        fields = fields_of(card)
        assert fields["*Value*"].endswith("Quote €1,234.50")
        assert fields["*Phone*"] == "<tel:+442079460958|020 7946 0958>"
        slack_accepts(card)


async def test_bad_codes_and_members_change_nothing(subscribed: None, slack: SlackClient, sqlite_url: str) -> None:
    refused = await slack.ask("connection currency EURO")
    assert "`EURO` isn't a currency I know" in refused["text"] and "ISO 4217" in refused["text"]
    refused = await slack.ask("connection country <!channel>")
    assert "<!channel>" not in json.dumps(refused) and "&lt;!channel&gt;" in refused["text"]
    assert "Usage:" in (await slack.ask("connection currency"))["text"]
    assert "Usage:" in (await slack.ask("connection main-site tz UTC"))["text"]
    member = await slack.ask("connection currency EUR", user_id="U2")
    assert "Only workspace admins" in member["text"]
    guest = await slack.ask("connection", user_id="U3")
    assert "guests can't" in guest["text"]
    assert "No connection called `other`" in (await slack.ask("connection other currency EUR"))["text"]

    (row,) = (await rawdb.dump(sqlite_url))["connections"]
    assert (row["currency"], row["country"]) == ("USD", "US")


async def test_homes_test_card_is_a_sample_in_the_connections_currency(
    subscribed: None, slack: SlackClient, fake_slack: FakeSlack
) -> None:
    await slack.ask("connection currency GBP")
    await slack.event({"type": "app_home_opened", "channel": "D1", "tab": "home", "user": "U1"})
    view = (await fake_slack.wait_for_calls("views.publish"))[-1].params["view"]

    await slack.interaction(home_press(view, ids.ACTION_HOME_SUB_TEST, user_id="U1"))

    (post,) = await fake_slack.wait_for_calls("chat.postMessage")
    assert post.params["channel"] == "C1" and post.params["text"].startswith("Sample: ")
    blocks = post.params["blocks"]
    assert "Sample card — not a real lead" in blocks[0]["elements"][0]["text"]
    assert "Quote £1,200.00" in json.dumps(blocks, ensure_ascii=False)
    assert not any(b["type"] == "actions" for b in blocks)
    slack_accepts(post.params)


def test_every_default_is_what_cards_showed_before() -> None:
    assert formats.DEFAULT == Locale("USD", "US")
