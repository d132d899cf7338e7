"""Lead cards: golden cards for the official samples, hostile input, Block Kit limits, and fuzzing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot import ids
from bot.alerts.cards import TYPE_LABELS, CardClaim, duration, lead_card, money, sample_card, sample_lead, truncate
from bot.slack.escape import safe_url
from bot.whatconverts.leads import LEAD_TYPES, Lead

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatconverts"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def md(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


# --- golden cards --------------------------------------------------------------------------------

PHONE_CONTEXT = {
    "type": "context",
    "elements": [md("Lead #178849242 · <!date^1748459991^{date_short_pretty} at {time}|2025-05-28 19:19 UTC>")],
}


def test_phone_call_card() -> None:
    (lead,) = [Lead.from_api(item) for item in fixture("leads_page_phone_call.json")["leads"]]
    recording = "https://app.whatconverts.com/recording/r-fbe05094-61e20aad-dc7a-4961-8da7-aeb5a20e0d3d/play"
    assert lead_card(lead) == {
        "text": "New phone call from M Bergeron ((direct) / (none))",
        "blocks": [
            {"type": "header", "text": plain("📞 Phone call from M Bergeron")},
            {
                "type": "section",
                "fields": [
                    md("*Contact*\nM Bergeron"),
                    md("*Source*\n(direct) · (none)"),
                    md("*Account*\nTest User"),
                    md("*Status*\nUnique"),
                    md("*Call*\n13s · Completed · Answered"),
                    md("*Location*\nSanta Cruz, CA, US"),
                ],
            },
            {
                "type": "section",
                "text": md(
                    f":arrow_forward: <{recording}|Play recording>"
                    " · :link: <https://www.test.com/?wc_verification=true|Landing page>"
                ),
            },
            PHONE_CONTEXT,
        ],
    }


def test_chat_webhook_card_with_notes_and_actions() -> None:
    lead = Lead.from_api(fixture("webhook_chat_new.json"))
    card = lead_card(lead, actions=True, notes=["✓ marked quotable by <@U123>"])
    assert card == {
        "text": "New chat from Jeremy Helms (google / cpc)",
        "blocks": [
            {"type": "header", "text": plain("💬 Chat from Jeremy Helms")},
            {
                "type": "section",
                "fields": [
                    md("*Contact*\nJeremy Helms"),
                    md("*Phone*\n<tel:+17044695324|(704) 469-5324>"),
                    md("*Email*\nhello@whatconverts.com"),
                    md("*Company*\nCall Tracking Company"),
                    md("*Source*\ngoogle · cpc · lead generation · generating leads"),
                    md("*Account*\nMy Account / My Profile"),
                    md("*Status*\nUnique"),
                    md("*Location*\nCharlotte, NC, US"),
                ],
            },
            {
                "type": "section",
                "text": md(
                    "> Hello, I like your service!\n"
                    "*Summary:* The customer was looking to purchase call tracking services."
                    " The agent assisted them with setting up an account.\n"
                    "*Notes:* This is a new lead!"
                ),
            },
            {"type": "section", "text": md(":link: <https://www.whatconverts.com/|Landing page>")},
            {
                "type": "context",
                "elements": [
                    md("Lead #153928 · <!date^1454335741^{date_short_pretty} at {time}|2016-02-01 14:09 UTC>")
                ],
            },
            {"type": "context", "elements": [md("✓ marked quotable by <@U123>")]},
            {
                "type": "actions",
                "block_id": "lead_actions",
                "elements": [
                    {"type": "button", "text": plain("Quotable"), "action_id": "lead_quotable", "value": "153928"},
                    {
                        "type": "button",
                        "text": plain("Not quotable"),
                        "action_id": "lead_not_quotable",
                        "value": "153928",
                    },
                    {"type": "button", "text": plain("Add value"), "action_id": "lead_value", "value": "153928"},
                ],
            },
        ],
    }
    assert [e["action_id"] for e in card["blocks"][-1]["elements"]] == [
        ids.ACTION_LEAD_QUOTABLE,
        ids.ACTION_LEAD_NOT_QUOTABLE,
        ids.ACTION_LEAD_VALUE,
    ]  # no Spam: the API can't mark it (W1)
    assert card["blocks"][-1]["block_id"] == ids.BLOCK_LEAD_ACTIONS


def test_web_form_card() -> None:
    lead = Lead.from_api(fixture("leads_page_mixed.json")["leads"][0])
    assert lead_card(lead) == {
        "text": "New web form from John Doe (google / cpc)",
        "blocks": [
            {"type": "header", "text": plain("📝 Web form from John Doe")},
            {
                "type": "section",
                "fields": [
                    md("*Contact*\nJohn Doe"),
                    md("*Email*\nJohn@Doe.com"),
                    md("*Source*\ngoogle · cpc · Google Campaign"),
                    md("*Status*\nRepeat"),
                    md("*Form*\nForm 04-28-2016"),
                ],
            },
            {"type": "section", "text": md(":link: <http://example.com|Landing page>")},
            {
                "type": "context",
                "elements": [
                    md("Lead #448621 · <!date^1470319518^{date_short_pretty} at {time}|2016-08-04 14:05 UTC>")
                ],
            },
        ],
    }


def test_compact_card() -> None:
    (lead,) = [Lead.from_api(item) for item in fixture("leads_page_phone_call.json")["leads"]]
    assert lead_card(lead, compact=True) == {
        "text": "New phone call from M Bergeron ((direct) / (none))",
        "blocks": [
            {"type": "section", "text": md("📞 *M Bergeron* · Phone call · (direct) / (none)")},
            PHONE_CONTEXT,
        ],
    }


def test_compact_card_with_values_flags_and_actions() -> None:
    lead = Lead.from_api(
        {
            "lead_id": 7,
            "lead_type": "Chat",
            "lead_source": "bing",
            "quote_value": "1200",
            "sales_value": "99.5",
            "duplicate": "true",
            "lead_state": "In Progess",
        }
    )
    card = lead_card(lead, compact=True, actions=True)
    assert card["text"] == "New chat (bing)"
    assert [b["type"] for b in card["blocks"]] == ["section", "context", "actions"]
    assert card["blocks"][0]["text"]["text"] == "💬 · Chat · bing · Quote $1,200.00 · Sales $99.50"
    assert card["blocks"][1]["elements"][0]["text"] == "Lead #7 · Duplicate · :hourglass_flowing_sand: In progress"


# --- who has the lead ------------------------------------------------------------------------------

CLAIM = ids.ACTION_LEAD_CLAIM
WRITES = [ids.ACTION_LEAD_QUOTABLE, ids.ACTION_LEAD_NOT_QUOTABLE, ids.ACTION_LEAD_VALUE]


def controls(card: dict) -> list[tuple[str, str]]:
    (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
    return [(e["type"], e["action_id"]) for e in actions["elements"]]


def test_an_unclaimed_card_offers_to_take_the_lead_first() -> None:
    card = lead_card(sample_lead(), actions=True, claims=True)
    (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0] == {
        "type": "button", "text": plain("I'll take it"), "action_id": CLAIM, "value": "100000001", "style": "primary",
    }  # fmt: skip
    assert [a for _, a in controls(card)] == [CLAIM, *WRITES]
    assert "Claimed by" not in json.dumps(card)
    # Released (nobody holds it, a first claim on record): the same as never claimed.
    released = CardClaim(holder=None, first_by="U1", taken_after=timedelta(minutes=5))
    assert lead_card(sample_lead(), actions=True, claims=True, claim=released) == card


@pytest.mark.parametrize(
    ("claim", "line"),
    [
        (CardClaim("U2", "U2", timedelta(minutes=3, seconds=59)), "Claimed by <@U2> · 3 min after it arrived"),
        (CardClaim("U2", "U2", timedelta(seconds=59)), "Claimed by <@U2> · under a minute after it arrived"),
        (
            CardClaim("U3", "U2", timedelta(hours=2, minutes=5)),
            "Claimed by <@U3> · first claimed by <@U2> 2 h 5 min after it arrived",
        ),
        (
            CardClaim("<!channel>", "U2", timedelta(days=1)),
            "Claimed by &lt;!channel&gt; · first claimed by <@U2> 1 d after it arrived",
        ),
    ],
)
def test_a_claimed_card_says_who_has_it_and_offers_release_and_hand_over(claim: CardClaim, line: str) -> None:
    card = lead_card(sample_lead(), compact=True, claims=True, claim=claim)
    assert card["blocks"][-2] == {"type": "context", "elements": [md(f":raising_hand: {line}")]}
    assert controls(card) == [("button", ids.ACTION_LEAD_RELEASE), ("users_select", ids.ACTION_LEAD_HAND_OVER)]
    assert card["blocks"][-1]["elements"][1]["placeholder"] == plain("Hand over to…")
    check_slack_accepts(card)


def test_no_claim_controls_on_sample_and_spam_cards() -> None:
    assert CLAIM not in json.dumps(sample_card())
    spam = Lead.from_api({"lead_id": 5, "lead_type": "Web Form", "spam": True})
    held = CardClaim("U2", "U2", timedelta(minutes=1))
    assert [b["type"] for b in lead_card(spam, actions=True, claims=True, claim=held)["blocks"]] == ["context"]


def test_transaction_sample_is_not_shown_in_progress() -> None:
    """The official transaction sample says "In Progess" (sic); transactions never progress (W8)."""
    card = lead_card(Lead.from_api(fixture("webhook_transaction_new.json")), actions=True)
    assert card["blocks"][0] == {"type": "header", "text": plain("💳 Transaction from Riley Chen")}
    context = [b for b in card["blocks"] if b["type"] == "context"]
    assert context == [
        {
            "type": "context",
            "elements": [md("Lead #153930 · <!date^1454335741^{date_short_pretty} at {time}|2016-02-01 14:09 UTC>")],
        }
    ]
    check_limits(card)
    check_slack_accepts(card)


def test_custom_event_card_is_an_event() -> None:
    card = lead_card(Lead.from_api(fixture("webhook_custom_event_new.json")))
    assert card["text"] == "New event (google / organic)"
    assert card["blocks"][0] == {"type": "header", "text": plain("🎯 New event")}
    check_limits(card)
    check_slack_accepts(card)


def test_card_without_anyone_named() -> None:
    call = lead_card(Lead.from_api({"lead_id": 1, "lead_type": "Phone Call"}))
    assert call["blocks"][0]["text"]["text"] == "📞 Phone call from Unknown caller"
    assert call["text"] == "New phone call from Unknown caller"
    other = lead_card(Lead.from_api({"lead_id": 2, "lead_type": "Mystery", "contact_email_address": "a@b.example"}))
    assert other["blocks"][0]["text"]["text"] == "📌 Lead from a@b.example"
    empty = lead_card(Lead.from_api({"lead_id": 3}))
    assert empty == {
        "text": "New lead",
        "blocks": [{"type": "header", "text": plain("📌 New lead")}, {"type": "context", "elements": [md("Lead #3")]}],
    }


def test_sample_lead_is_a_full_phone_call() -> None:
    lead = sample_lead()
    assert lead.lead_type == "phone_call" and lead.contact_name and lead.quote_value == Decimal("1200")
    card = lead_card(lead)
    assert card["text"] == "New phone call from Jane Doe (google / cpc)"
    assert md("*Value*\nQuotable · Quote $1,200.00") in card["blocks"][1]["fields"]
    assert md("*Call*\n3m 12s · Completed · Answered") in card["blocks"][1]["fields"]
    check_limits(card)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert sample_lead(now).date_created == now


def test_type_labels_cover_every_lead_type() -> None:
    assert set(TYPE_LABELS) == set(LEAD_TYPES)
    assert TYPE_LABELS["phone_call"] == ("📞", "Phone call")
    assert TYPE_LABELS["other"][1] == "Lead"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1200"), "$1,200.00"),
        (Decimal("0"), "$0.00"),
        (Decimal("-5.5"), "-$5.50"),
        (Decimal("1234567.891"), "$1,234,567.89"),
    ],
)
def test_money(value: Decimal, expected: str) -> None:
    assert money(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0s"), (13, "13s"), (192, "3m 12s"), (3600, "1h"), (3725, "1h 2m 5s")]
)
def test_duration(seconds: int, expected: str) -> None:
    assert duration(seconds) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("abcdef", 4, "abc…"),
        ("ab&amp;cd", 5, "ab…"),  # never "ab&a…"
        ("ab&amp;cd", 8, "ab&amp;…"),
        ("x&lt;", 4, "x…"),
        ("éééééééééé", 5, "éééé…"),  # characters, not bytes
        ("Tom & Jerry and friends", 12, "Tom & Jerry…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


def test_a_card_for_people_mentions_them_after_its_title_and_in_its_notification() -> None:
    lead = sample_lead()
    plain_card = lead_card(lead, actions=True)
    card = lead_card(lead, actions=True, notify=["U1", "W0BEA", "U1"])

    for_them = {"type": "context", "elements": [md(":bust_in_silhouette: For <@U1>, <@W0BEA>")]}
    assert card["blocks"] == [plain_card["blocks"][0], for_them, *plain_card["blocks"][1:]]
    assert card["text"] == plain_card["text"] + " · for <@U1>, <@W0BEA>"
    compact = lead_card(lead, compact=True, notify=["U1"])
    assert compact["blocks"][0]["type"] == "section" and compact["blocks"][1]["elements"][0]["text"].endswith("<@U1>")
    # Only user ids become mentions: nothing else can ping, and a spam card mentions nobody.
    assert lead_card(lead, notify=["<!channel>", "here", "C123"]) == lead_card(lead)
    spam = Lead.from_api({**lead.raw, "spam": True})
    assert lead_card(spam, notify=["U1"]) == lead_card(spam)
    for block in card["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]


def test_notes_beyond_ten_keep_the_latest() -> None:
    lead = Lead.from_api({"lead_id": 5})
    card = lead_card(lead, notes=[f"note {i}" for i in range(15)])
    (notes,) = [b for b in card["blocks"] if b["type"] == "context"][1:]
    assert [e["text"] for e in notes["elements"]] == ["_…6 earlier_", *(f"note {i}" for i in range(6, 15))]
    check_limits(card)


# --- limits, safety and Slack's own validation -----------------------------------------------------

ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
OUR_DATE = r"<!date\^-?\d+\^\{date_short_pretty\} at \{time\}\|\d{1,4}-\d\d-\d\d \d\d:\d\d UTC>"
OUR_LINK = re.compile(r"<((?i:https?)://[^|<>\s]+)\|(?:Play recording|Landing page)>")
# A phone link: E.164 only, labelled with phonenumbers' own formatting (never lead text).
TEL_LINK = re.compile(r"<tel:\+\d{2,15}\|[\d +()\-.]+(?: ext\. \d+)?>")


def strings(node: Any, plain_text: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string in a message, with whether Slack treats it as plain_text (never parsed for markup)."""
    if isinstance(node, dict):
        is_plain = node.get("type") == "plain_text"
        for key, value in node.items():
            yield from strings(value, is_plain and key == "text")
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node, plain_text


def check_safe(message: dict, *, urls: frozenset[str] = frozenset(), notes: tuple[str, ...] = ()) -> None:
    """Outside plain_text, the only `<…>` are our date token, links to `urls` and our own notes."""
    for value, is_plain in [(message["text"], False), *strings(message["blocks"])]:
        if is_plain or value in notes:
            continue  # headers and button labels are shown literally; notes are our own mrkdwn
        value = re.sub(OUR_DATE, "", value)
        value = re.sub(r"(?m)^>( |$)", "", value)  # our quote marker; a lead's ">" is "&gt;" by now
        for match in OUR_LINK.finditer(value):
            assert match.group(1).replace("&amp;", "&") in urls, match.group(0)
        value = TEL_LINK.sub("", OUR_LINK.sub("", value))
        assert "<" not in value and ">" not in value, value
        assert not ENTITY.search(value), value  # every & starts a whole entity: escaped, never cut in half
        assert "\u202e" not in value and "\x00" not in value


def check_limits(message: dict) -> None:
    """Every Block Kit limit the card must respect, walking every block."""
    text, blocks = message["text"], message["blocks"]
    assert isinstance(text, str) and 0 < len(text) <= 3000
    assert 0 < len(blocks) <= 50
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and 0 < len(block["text"]["text"]) <= 150
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(0 < len(f["text"]) <= 2000 for f in fields)
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(0 < len(e["text"]) <= 2000 for e in block["elements"])
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for button in block["elements"]:
                assert 0 < len(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000
                if confirm := button.get("confirm"):
                    assert len(confirm["title"]["text"]) <= 100 and len(confirm["text"]["text"]) <= 300
                    assert len(confirm["confirm"]["text"]) <= 30 and len(confirm["deny"]["text"]) <= 30
        else:
            raise AssertionError(f"unexpected block {kind}")
        for value, _ in strings(block):
            assert value.strip(), block  # no blank labels or values


def check_slack_accepts(message: dict) -> None:
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()  # raises SlackObjectFormationError on a violation


EVIL = "<!channel> <!here> <@U123> <#C1> <https://evil.example|click> *bold* 🎉 \u202eevil\x00 & done"

HOSTILE = {
    "lead_id": 666,
    "lead_type": "Web Form",
    "lead_status": EVIL,
    "lead_state": EVIL,
    "quotable": EVIL,
    "quote_value": "1e5000",
    "sales_value": "<!channel>",
    "date_created": EVIL,
    "account": EVIL,
    "profile": "<!here>",
    "lead_source": EVIL,
    "lead_medium": "<@U123>",
    "lead_campaign": "<#C1>",
    "lead_keyword": "<https://evil.example|click>",
    "landing_url": "javascript:alert(1)",
    "play_recording": "data:text/html,<script>alert(1)</script>",
    "contact_name": EVIL,
    "contact_company_name": EVIL * 50,
    "contact_email_address": "<mailto:x@evil.example|boss@company.example>",
    "contact_phone_number": "\u202e1234",
    "city": None,
    "state": [],
    "country": {},
    "form_name": EVIL,
    "message": EVIL + "\n" + "x" * 10_000,
    "notes": None,
    "call_duration_seconds": "1e5000",
    "lead_analysis": [],
    "additional_fields": [],
    "field_mappings": None,
}


@pytest.mark.parametrize("lead_type", ["Web Form", "Phone Call", "Chat", None])
@pytest.mark.parametrize("compact", [False, True])
def test_hostile_lead_is_inert(lead_type: str | None, compact: bool) -> None:
    lead = Lead.from_api({**HOSTILE, "lead_type": lead_type})
    notes = ("✓ marked quotable by <@U999>",)
    card = lead_card(lead, compact=compact, actions=True, notes=notes)
    check_limits(card)
    check_safe(card, notes=notes)
    check_slack_accepts(card)
    assert "&lt;!channel&gt;" in card["text"]
    everything = json.dumps(card, ensure_ascii=False)
    assert "javascript:" not in everything and "data:text" not in everything
    assert "*bold*" in everything  # formatting from a form is harmless and kept


def test_hostile_full_card_details() -> None:
    card = lead_card(Lead.from_api(HOSTILE))
    header, fields, excerpt, context = card["blocks"]
    # plain_text is shown literally by Slack, so the header keeps the characters (but not the override).
    assert header["text"] == plain(
        "📝 Web form from <!channel> <!here> <@U123> <#C1> <https://evil.example|click> *bold* 🎉 evil & done"
    )
    texts = [f["text"] for f in fields["fields"]]
    assert texts[0].startswith("*Contact*\n&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;https://")
    assert texts[0].endswith("…") and len(texts[0]) <= len("*Contact*\n") + 100  # a "name" that long is junk
    company = texts[3]
    assert company.startswith("*Company*\n") and company.endswith("…") and 1990 <= len(company) <= 2000
    assert "evil &amp; done" in company  # the override is gone, the text stays
    assert "*Email*\n&lt;mailto:x@evil.example|boss@company.example&gt;" in texts
    assert "*Value*\nQuotable: " in " ".join(texts)
    assert "e+5000" not in " ".join(texts)  # an absurd number is dropped by the parser, not printed
    assert not any("None" in t for t in texts)
    message = excerpt["text"]["text"]
    assert message.startswith("> &lt;!channel&gt;") and message.endswith("…")
    assert len(message) < 700  # the 10,000-character message is cut to an excerpt
    # The junk date is dropped; a web form is never in progress, whatever its lead_state says (W8).
    assert context == {"type": "context", "elements": [md("Lead #666")]}
    chat = lead_card(Lead.from_api({**HOSTILE, "lead_type": "Chat"}))
    # For a chat an unknown lead_state counts as not final (bot.whatconverts.leads).
    assert chat["blocks"][-1] == {
        "type": "context",
        "elements": [md("Lead #666 · :hourglass_flowing_sand: In progress")],
    }


def test_only_safe_urls_become_links() -> None:
    good = "https://app.whatconverts.com/recording/abc/play?x=1&y=2"
    lead = Lead.from_api({**HOSTILE, "lead_type": "Phone Call", "play_recording": good, "landing_url": " http://a b"})
    card = lead_card(lead)
    links = [
        b for b in card["blocks"] if b["type"] == "section" and "Play recording" in b.get("text", {}).get("text", "")
    ]
    assert links == [
        {
            "type": "section",
            "text": md(":arrow_forward: <https://app.whatconverts.com/recording/abc/play?x=1&amp;y=2|Play recording>"),
        }
    ]
    check_safe(card, urls=frozenset({good}))
    too_long = "https://example.com/" + "a" * 2000
    assert "Landing page" not in json.dumps(lead_card(Lead.from_api({"lead_id": 1, "landing_url": too_long})))


# --- fuzzing -----------------------------------------------------------------------------------

NASTY = st.one_of(st.sampled_from(list("<>&|!@#*_~`\n\r\t \u202e\u2066\x00;")), st.characters())
TEXT = st.one_of(st.text(NASTY, max_size=40), st.text(NASTY, min_size=1, max_size=8).map(lambda s: s * 500))
VALUE = st.one_of(
    st.none(),
    TEXT,
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.just([]),
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=2),
)
URL = st.one_of(
    VALUE,
    st.sampled_from(["javascript:alert(1)", "data:text/html,x", "https://ok.example/p?a=1&b=2", "http://ok.example"]),
)
FIELDS = [
    "lead_status",
    "lead_state",
    "quotable",
    "quote_value",
    "sales_value",
    "date_created",
    "account",
    "profile",
    "lead_source",
    "lead_medium",
    "lead_campaign",
    "lead_keyword",
    "contact_name",
    "contact_company_name",
    "contact_email_address",
    "contact_phone_number",
    "caller_name",
    "city",
    "state",
    "country",
    "form_name",
    "message",
    "notes",
    "spam",
    "duplicate",
    "call_status",
    "answer_status",
    "call_duration_seconds",
]
LEADS = st.fixed_dictionaries(
    {
        "lead_id": st.integers(1, 10**12),
        "lead_type": st.one_of(VALUE, st.sampled_from(["Phone Call", "Web Form", "Chat", "Text Message", "Email"])),
        "landing_url": URL,
        "play_recording": URL,
        "additional_fields": st.one_of(st.just([]), st.dictionaries(TEXT, VALUE, max_size=3)),
        "lead_analysis": st.one_of(st.just([]), st.fixed_dictionaries({"Lead Summary": VALUE})),
    },
    optional={name: VALUE for name in FIELDS},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=LEADS, compact=st.booleans())
def test_any_lead_gives_a_valid_safe_card(data: dict, compact: bool) -> None:
    lead = Lead.from_api(data)
    card = lead_card(lead, compact=compact, actions=True)
    check_limits(card)
    # Links may only point where the lead's own URLs point, and only those safe_url accepts.
    check_safe(card, urls=frozenset(u for u in (safe_url(lead.landing_url), safe_url(lead.recording_url)) if u))
    check_slack_accepts(card)
