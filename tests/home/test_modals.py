"""The subscription and lead-value modals: golden views, Block Kit limits, and submissions read back.

Submissions are built the way Slack sends them in `view_submission`: the view we opened, with
`state.values[block_id][action_id]` shaped per element type and holding the initial values the
user didn't touch. The subscription form must give the same `Filters` as the slash command.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.views import View

from bot import ids
from bot.alerts.filters import Filters, parse_subscription, render
from bot.alerts.value_modal import LeadValues, parse_amount, read_value_modal, value_modal
from bot.errors import UsageError
from bot.home.modals import TYPE_CHOICES, SubscriptionChoice, read_subscription_modal, subscription_modal
from bot.slack.payloads import tokenize
from bot.slack.views import ModalErrors
from bot.whatconverts.leads import LEAD_TYPES
from tests.support.payloads import fill


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def option(value: str, label: str) -> dict:
    return {"text": plain(label), "value": value}


def rules(text: str) -> Filters:
    return parse_subscription(tokenize(text))[1]


def valid(view: dict) -> None:
    """slack_sdk's models check Block Kit limits on every nested object as they serialize."""
    View(**view).to_dict()


TYPE_OPTIONS = [
    option("phone_call", "Phone calls"),
    option("web_form", "Web forms"),
    option("chat", "Chats"),
    option("text_message", "Text messages"),
    option("email", "Emails"),
    option("transaction", "Transactions"),
    option("appointment", "Appointments"),
    option("event", "Events"),
    option("other", "Other leads"),
]
STATUS_OPTIONS = [option("any", "Any status"), option("unique", "Unique (first contact)"), option("repeat", "Repeat")]
QUOTABLE_OPTIONS = [
    option("yes", "Yes"),
    option("no", "No"),
    option("pending", "Pending"),
    option("not_set", "Not set"),
]
FLAG_OPTIONS = [
    option("spam", "Show spam"),
    option("duplicates", "Show duplicates"),
    option("compact", "Compact cards"),
]
CHANNEL_FILTER = {"include": ["public", "private"], "exclude_bot_users": True, "exclude_external_shared_channels": True}


# --- golden views --------------------------------------------------------------------------------


def test_add_modal_with_one_connection() -> None:
    view = subscription_modal(connections=[(7, "acme")], channel_id="C0123")
    assert view == {
        "type": "modal",
        "callback_id": "subscription_modal",
        "private_metadata": '{"connection_id":7,"keep":"","subscription_id":null}',
        "title": plain("Add subscription"),
        "submit": plain("Subscribe"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "sub_channel",
                "label": plain("Channel"),
                "element": {
                    "type": "conversations_select",
                    "action_id": "sub_channel_select",
                    "placeholder": plain("Pick a channel"),
                    "filter": CHANNEL_FILTER,
                    "initial_conversation": "C0123",
                },
                "optional": False,
                "hint": plain("Private channel? Invite the app first."),
            },
            {
                "type": "input",
                "block_id": "sub_types",
                "label": plain("Lead types"),
                "element": {"type": "checkboxes", "action_id": "sub_types_checks", "options": TYPE_OPTIONS},
                "optional": True,
                "hint": plain("None checked means every type."),
            },
            {
                "type": "input",
                "block_id": "sub_include_sources",
                "label": plain("Only these sources"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "sub_include_sources_input",
                    "placeholder": plain("google, bing"),
                },
                "optional": True,
                "hint": plain("Separate sources with commas. Empty means all."),
            },
            {
                "type": "input",
                "block_id": "sub_exclude_sources",
                "label": plain("Never these sources"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "sub_exclude_sources_input",
                    "placeholder": plain("google, bing"),
                },
                "optional": True,
                "hint": plain("Separate sources with commas. These always win."),
            },
            {
                "type": "input",
                "block_id": "sub_status",
                "label": plain("Status"),
                "element": {
                    "type": "static_select",
                    "action_id": "sub_status_select",
                    "placeholder": plain("Any status"),
                    "options": STATUS_OPTIONS,
                    "initial_option": option("any", "Any status"),
                },
                "optional": False,
            },
            {
                "type": "input",
                "block_id": "sub_quotable",
                "label": plain("Quotable"),
                "element": {"type": "checkboxes", "action_id": "sub_quotable_checks", "options": QUOTABLE_OPTIONS},
                "optional": True,
                "hint": plain("None checked means any."),
            },
            {
                "type": "input",
                "block_id": "sub_options",
                "label": plain("Options"),
                "element": {"type": "checkboxes", "action_id": "sub_options_checks", "options": FLAG_OPTIONS},
                "optional": True,
            },
        ],
    }
    valid(view)


def test_edit_modal_prefills_every_field_and_keeps_what_it_cannot_show() -> None:
    initial = rules(
        'calls forms +source:google,"Google Ads" -source:bing +status:unique +quotable:yes,pending '
        "-medium:organic +spam +compact +thread +digest:09:00"
    )
    view = subscription_modal(
        connections=[(1, "acme"), (2, "beta")], initial=initial, channel_id="C0123", connection_id=2, subscription_id=41
    )
    assert view == {
        "type": "modal",
        "callback_id": "subscription_modal",
        "private_metadata": (
            '{"connection_id":null,"keep":"-medium:organic +thread +digest:09:00","subscription_id":41}'
        ),
        "title": plain("Edit subscription"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "sub_connection",
                "label": plain("WhatConverts connection"),
                "element": {
                    "type": "static_select",
                    "action_id": "sub_connection_select",
                    "placeholder": plain("Pick a connection"),
                    "options": [option("1", "acme"), option("2", "beta")],
                    "initial_option": option("2", "beta"),
                },
                "optional": False,
            },
            {
                "type": "input",
                "block_id": "sub_channel",
                "label": plain("Channel"),
                "element": {
                    "type": "conversations_select",
                    "action_id": "sub_channel_select",
                    "placeholder": plain("Pick a channel"),
                    "filter": CHANNEL_FILTER,
                    "initial_conversation": "C0123",
                },
                "optional": False,
                "hint": plain("Private channel? Invite the app first."),
            },
            {
                "type": "input",
                "block_id": "sub_types",
                "label": plain("Lead types"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "sub_types_checks",
                    "options": TYPE_OPTIONS,
                    "initial_options": [option("phone_call", "Phone calls"), option("web_form", "Web forms")],
                },
                "optional": True,
                "hint": plain("None checked means every type."),
            },
            {
                "type": "input",
                "block_id": "sub_include_sources",
                "label": plain("Only these sources"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "sub_include_sources_input",
                    "placeholder": plain("google, bing"),
                    "initial_value": "google, Google Ads",
                },
                "optional": True,
                "hint": plain("Separate sources with commas. Empty means all."),
            },
            {
                "type": "input",
                "block_id": "sub_exclude_sources",
                "label": plain("Never these sources"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "sub_exclude_sources_input",
                    "placeholder": plain("google, bing"),
                    "initial_value": "bing",
                },
                "optional": True,
                "hint": plain("Separate sources with commas. These always win."),
            },
            {
                "type": "input",
                "block_id": "sub_status",
                "label": plain("Status"),
                "element": {
                    "type": "static_select",
                    "action_id": "sub_status_select",
                    "placeholder": plain("Any status"),
                    "options": STATUS_OPTIONS,
                    "initial_option": option("unique", "Unique (first contact)"),
                },
                "optional": False,
            },
            {
                "type": "input",
                "block_id": "sub_quotable",
                "label": plain("Quotable"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "sub_quotable_checks",
                    "options": QUOTABLE_OPTIONS,
                    "initial_options": [option("yes", "Yes"), option("pending", "Pending")],
                },
                "optional": True,
                "hint": plain("None checked means any."),
            },
            {
                "type": "input",
                "block_id": "sub_options",
                "label": plain("Options"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "sub_options_checks",
                    "options": FLAG_OPTIONS,
                    "initial_options": [option("spam", "Show spam"), option("compact", "Compact cards")],
                },
                "optional": True,
            },
            {
                "type": "context",
                "block_id": "sub_kept",
                "elements": [plain("Also kept, the form can't change these: -medium:organic +thread +digest:09:00")],
            },
        ],
    }
    valid(view)


def test_value_modal() -> None:
    view = value_modal(
        lead_id=178849242,
        channel_id="C0123",
        message_ts="1748459991.000100",
        quote_value=Decimal("1200.5"),
        sales_value=None,
        currency="EUR",
    )
    assert view == {
        "type": "modal",
        "callback_id": "lead_value_modal",
        "private_metadata": '{"channel_id":"C0123","lead_id":178849242,"message_ts":"1748459991.000100"}',
        "title": plain("Lead value"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "value_quote",
                "label": plain("Quote value (EUR)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value_quote_input",
                    "placeholder": plain("0.00"),
                    "max_length": 24,
                    "initial_value": "1200.5",
                },
                "optional": True,
                "hint": plain("What you quoted, e.g. 1,200.50"),
            },
            {
                "type": "input",
                "block_id": "value_sales",
                "label": plain("Sales value (EUR)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value_sales_input",
                    "placeholder": plain("0.00"),
                    "max_length": 24,
                },
                "optional": True,
                "hint": plain("What the sale was worth."),
            },
        ],
    }
    valid(view)


def test_ids_come_from_the_constants_module() -> None:
    view = subscription_modal(connections=[(1, "a"), (2, "b")], initial=rules("-medium:organic"))
    assert view["callback_id"] == ids.VIEW_SUBSCRIPTION
    assert [b["block_id"] for b in view["blocks"]] == [
        ids.BLOCK_SUB_CONNECTION,
        ids.BLOCK_SUB_CHANNEL,
        ids.BLOCK_SUB_TYPES,
        ids.BLOCK_SUB_INCLUDE_SOURCES,
        ids.BLOCK_SUB_EXCLUDE_SOURCES,
        ids.BLOCK_SUB_STATUS,
        ids.BLOCK_SUB_QUOTABLE,
        ids.BLOCK_SUB_OPTIONS,
        ids.BLOCK_SUB_KEPT,
    ]
    assert [b["element"]["action_id"] for b in view["blocks"] if b["type"] == "input"] == [
        ids.ACTION_SUB_CONNECTION,
        ids.ACTION_SUB_CHANNEL,
        ids.ACTION_SUB_TYPES,
        ids.ACTION_SUB_INCLUDE_SOURCES,
        ids.ACTION_SUB_EXCLUDE_SOURCES,
        ids.ACTION_SUB_STATUS,
        ids.ACTION_SUB_QUOTABLE,
        ids.ACTION_SUB_OPTIONS,
    ]
    value = value_modal(lead_id=1, channel_id="C1", message_ts="1.2", quote_value=None, sales_value=None)
    assert value["callback_id"] == ids.VIEW_LEAD_VALUE
    assert [(b["block_id"], b["element"]["action_id"]) for b in value["blocks"]] == [
        (ids.BLOCK_VALUE_QUOTE, ids.ACTION_VALUE_QUOTE),
        (ids.BLOCK_VALUE_SALES, ids.ACTION_VALUE_SALES),
    ]


def test_every_lead_type_has_a_checkbox() -> None:
    assert tuple(TYPE_CHOICES) == LEAD_TYPES


# --- Block Kit limits ----------------------------------------------------------------------------


def test_the_validator_is_real() -> None:
    view = subscription_modal(connections=[(1, "acme")])
    with pytest.raises(SlackObjectFormationError):
        valid({**view, "title": plain("A title longer than twenty-four")})


def test_more_than_100_connections_show_the_first_100() -> None:
    connections = [(n, f"conn-{n}") for n in range(1, 151)]
    view = subscription_modal(connections=connections)
    options = view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == [str(n) for n in range(1, 101)]
    assert "initial_option" not in view["blocks"][0]["element"]
    valid(view)


def test_the_edited_subscriptions_connection_stays_selectable_past_100() -> None:
    connections = [(n, f"conn-{n}") for n in range(1, 151)]
    view = subscription_modal(connections=connections, connection_id=140, subscription_id=3)
    element = view["blocks"][0]["element"]
    assert len(element["options"]) == 100
    assert element["options"][-1] == element["initial_option"] == option("140", "conn-140")
    valid(view)


def test_long_labels_and_many_values_stay_within_limits() -> None:
    sources = ",".join(f"source{n}" for n in range(300))
    initial = rules(f'+source:{sources} -source:"{"x " * 100}x" profile:"{"Main Site " * 40}Z" +quiet:22:00-07:00')
    view = subscription_modal(connections=[(1, "L" * 200), (2, "b")], initial=initial, connection_id=1)
    assert view["blocks"][0]["element"]["initial_option"]["text"]["text"] == "L" * 74 + "…"
    kept = view["blocks"][-1]["elements"][0]["text"]
    assert len(kept) == 300 and kept.endswith("…")
    valid(view)


def test_no_connections_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="connect WhatConverts first"):
        subscription_modal(connections=[])


# --- filling a view the way Slack submits it -----------------------------------------------------


def add_form(connections: list[tuple[int, str]] | None = None) -> dict:
    return subscription_modal(connections=connections or [(7, "acme")])


# (form answers, what the same person would type after `/whatconverts subscribe`, as Slack sends it)
SAME_CHOICES = [
    ({}, ""),
    ({ids.BLOCK_SUB_TYPES: ["phone_call", "web_form"]}, "calls forms"),
    ({ids.BLOCK_SUB_TYPES: list(LEAD_TYPES)}, "all"),
    ({ids.BLOCK_SUB_INCLUDE_SOURCES: "google, Google Ads"}, '+source:google,"Google Ads"'),
    ({ids.BLOCK_SUB_INCLUDE_SOURCES: " google ,, bing, "}, "+source:google,bing"),
    ({ids.BLOCK_SUB_EXCLUDE_SOURCES: "bing", ids.BLOCK_SUB_STATUS: "unique"}, "-source:bing +status:unique"),
    ({ids.BLOCK_SUB_STATUS: "any"}, ""),
    ({ids.BLOCK_SUB_QUOTABLE: ["yes", "pending"]}, "+quotable:yes,pending"),
    ({ids.BLOCK_SUB_QUOTABLE: ["not_set"]}, "+quotable:not_set"),
    ({ids.BLOCK_SUB_OPTIONS: ["spam", "duplicates", "compact"]}, "+spam +duplicates +compact"),
    # Slack HTML-escapes `&`, `<`, `>` in command text; the form sends them raw.
    ({ids.BLOCK_SUB_INCLUDE_SOURCES: "A&B, x<y>z"}, "+source:A&amp;B,x&lt;y&gt;z"),
    ({ids.BLOCK_SUB_INCLUDE_SOURCES: "Café Ads, google.com"}, '+source:"Café Ads",google.com'),
    (
        {
            ids.BLOCK_SUB_TYPES: ["chat", "email"],
            ids.BLOCK_SUB_INCLUDE_SOURCES: "google",
            ids.BLOCK_SUB_EXCLUDE_SOURCES: "facebook, Yahoo Mail",
            ids.BLOCK_SUB_STATUS: "repeat",
            ids.BLOCK_SUB_QUOTABLE: ["no"],
            ids.BLOCK_SUB_OPTIONS: ["compact"],
        },
        'chats emails +source:google -source:facebook,"Yahoo Mail" +status:repeat +quotable:no +compact',
    ),
]


@pytest.mark.parametrize(("answers", "command"), SAME_CHOICES)
def test_the_form_and_the_command_give_the_same_subscription(answers: dict[str, Any], command: str) -> None:
    choice = read_subscription_modal(fill(add_form(), {ids.BLOCK_SUB_CHANNEL: "C0123", **answers}))
    channel, expected = parse_subscription(tokenize(f"<#C0123|sales> {command}"))
    assert choice == SubscriptionChoice(
        subscription_id=None, connection_id=7, channel_id="C0123", filters=expected, grammar=render(expected)
    )
    assert channel is not None and channel.id == choice.channel_id


def test_the_chosen_connection_is_read_when_there_are_several() -> None:
    view = fill(add_form([(1, "acme"), (2, "beta")]), {ids.BLOCK_SUB_CHANNEL: "G0456", ids.BLOCK_SUB_CONNECTION: "2"})
    choice = read_subscription_modal(view)
    assert (choice.connection_id, choice.channel_id, choice.subscription_id) == (2, "G0456", None)


EDITED = [
    "all",
    "calls forms +source:google -source:bing +status:unique +quotable:yes,pending +spam +compact",
    'texts +source:"Google Ads" -medium:organic +campaign:spring profile:"Main Site" -account:12',
    "+status:unique,repeat -status:repeat -quotable:no +thread",
    "+digest:09:00 +quiet:22:00-07:00 +urgent:calls +urgent:source:google",
    "-calls +duplicates +keyword:plumber,heater -content:ad1",
]


@pytest.mark.parametrize("command", EDITED)
def test_saving_an_untouched_edit_form_changes_nothing(command: str) -> None:
    initial = rules(command)
    view = subscription_modal(
        connections=[(1, "acme"), (2, "beta")], initial=initial, channel_id="C9", connection_id=1, subscription_id=5
    )
    valid(view)
    choice = read_subscription_modal(fill(view))
    assert choice == SubscriptionChoice(
        subscription_id=5, connection_id=1, channel_id="C9", filters=initial, grammar=render(initial)
    )


def test_edits_apply_on_top_of_the_kept_filters() -> None:
    view = subscription_modal(
        connections=[(1, "acme")], initial=rules("calls +status:unique,repeat -medium:organic +digest:09:00")
    )
    choice = read_subscription_modal(
        fill(view, {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_TYPES: ["web_form"], ids.BLOCK_SUB_STATUS: "repeat"})
    )
    # The picked status replaces the kept pair of statuses; the other kept filters stay.
    assert choice.filters == rules("forms +status:repeat -medium:organic +digest:09:00")


def test_the_people_a_subscription_notifies_are_kept_by_the_form() -> None:
    view = subscription_modal(connections=[(1, "acme")], initial=rules("calls +notify:<@U0ADA|ada>,<@U0BEA>"))
    assert json.loads(view["private_metadata"])["keep"] == "+notify:<@U0ADA>,<@U0BEA>"
    choice = read_subscription_modal(fill(view, {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_TYPES: ["web_form"]}))
    assert choice.filters == rules("forms +notify:<@U0ADA>,<@U0BEA>")


def test_the_connection_label_never_becomes_a_filter() -> None:
    view = subscription_modal(connections=[(1, "acme")], initial=rules("calls connection:acme"))
    assert "connection" not in json.loads(view["private_metadata"])["keep"]
    choice = read_subscription_modal(fill(view, {ids.BLOCK_SUB_CHANNEL: "C1"}))
    assert choice.filters == rules("calls") and choice.connection_id == 1


_TOKENS = st.sampled_from(
    [
        "calls",
        "forms",
        "chats",
        "other",
        "-events",
        "+source:google",
        '+source:"Google Ads",bing',
        "-source:facebook",
        "+status:unique",
        "+status:repeat",
        "-status:unique",
        "+quotable:yes",
        "+quotable:no,not_set",
        "-quotable:pending",
        "-medium:organic",
        'profile:"Main Site"',
        "+spam",
        "+duplicates",
        "+compact",
        "+thread",
        "+digest:08:30",
        "+quiet:22:00-06:00",
        "+urgent:calls",
        "+urgent:-source:bing",
    ]
)


@given(st.lists(_TOKENS, max_size=8))
@settings(max_examples=150, deadline=None)
def test_any_subscription_survives_the_edit_form(tokens: list[str]) -> None:
    try:
        _, initial = parse_subscription(tokenize(" ".join(tokens)))
    except UsageError:
        return  # e.g. every type dropped: not a subscription anyone has
    view = subscription_modal(connections=[(1, "acme")], initial=initial, channel_id="C1", subscription_id=1)
    assert read_subscription_modal(fill(view)).filters == initial


# --- invalid submissions -------------------------------------------------------------------------

PICKED = {ids.BLOCK_SUB_CHANNEL: "C1"}  # answers without it leave the channel unpicked


@pytest.mark.parametrize(
    ("connections", "answers", "blocks"),
    [
        ([(7, "acme")], {ids.BLOCK_SUB_CHANNEL: None}, {ids.BLOCK_SUB_CHANNEL}),
        ([(7, "acme")], {ids.BLOCK_SUB_CHANNEL: "D0123"}, {ids.BLOCK_SUB_CHANNEL}),
        ([(1, "a"), (2, "b")], {ids.BLOCK_SUB_CHANNEL: "C1"}, {ids.BLOCK_SUB_CONNECTION}),
        ([(1, "a"), (2, "b")], {}, {ids.BLOCK_SUB_CONNECTION, ids.BLOCK_SUB_CHANNEL}),
        ([(7, "acme")], {**PICKED, ids.BLOCK_SUB_INCLUDE_SOURCES: 'google, "bing"'}, {ids.BLOCK_SUB_INCLUDE_SOURCES}),
        ([(7, "acme")], {**PICKED, ids.BLOCK_SUB_INCLUDE_SOURCES: "“bing”"}, {ids.BLOCK_SUB_INCLUDE_SOURCES}),
        (
            [(7, "acme")],
            {**PICKED, ids.BLOCK_SUB_EXCLUDE_SOURCES: "<https://x.com|x>"},
            {ids.BLOCK_SUB_EXCLUDE_SOURCES},
        ),
        (
            [(7, "acme")],
            {**PICKED, ids.BLOCK_SUB_INCLUDE_SOURCES: "google, <!channel>"},
            {ids.BLOCK_SUB_INCLUDE_SOURCES},
        ),
        ([(7, "acme")], {**PICKED, ids.BLOCK_SUB_INCLUDE_SOURCES: "&amp;"}, {ids.BLOCK_SUB_INCLUDE_SOURCES}),
        ([(7, "acme")], {**PICKED, ids.BLOCK_SUB_EXCLUDE_SOURCES: "a\tb"}, {ids.BLOCK_SUB_EXCLUDE_SOURCES}),
        (
            [(7, "acme")],
            {ids.BLOCK_SUB_INCLUDE_SOURCES: '"x"', ids.BLOCK_SUB_EXCLUDE_SOURCES: "<@U1>"},
            {ids.BLOCK_SUB_CHANNEL, ids.BLOCK_SUB_INCLUDE_SOURCES, ids.BLOCK_SUB_EXCLUDE_SOURCES},
        ),
    ],
)
def test_invalid_choices_name_their_blocks(
    connections: list[tuple[int, str]], answers: dict[str, Any], blocks: set[str]
) -> None:
    with pytest.raises(ModalErrors) as caught:
        read_subscription_modal(fill(add_form(connections), answers))
    assert set(caught.value.errors) == blocks
    assert all(0 < len(message) <= 150 for message in caught.value.errors.values())


def test_a_bad_source_is_named_in_the_error() -> None:
    view = fill(add_form(), {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_INCLUDE_SOURCES: "google, <https://a.b|ab>"})
    with pytest.raises(ModalErrors) as caught:
        read_subscription_modal(view)
    assert caught.value.errors == {
        ids.BLOCK_SUB_INCLUDE_SOURCES: (
            "“<https://a.b|ab>” can't be a source: no links, mentions, HTML entities, control or invisible characters."
        )
    }


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200f", "\u200b"], ids=lambda c: f"U+{ord(c):04X}")
def test_a_source_with_a_text_direction_or_invisible_character_is_refused(char: str) -> None:
    view = fill(add_form(), {ids.BLOCK_SUB_CHANNEL: "C1", ids.BLOCK_SUB_EXCLUDE_SOURCES: f"bing, goo{char}gle"})
    with pytest.raises(ModalErrors) as caught:
        read_subscription_modal(view)
    assert caught.value.errors == {
        ids.BLOCK_SUB_EXCLUDE_SOURCES: (
            "“goo\ufffdgle” can't be a source: no links, mentions, HTML entities, control or invisible characters."
        )
    }


def test_options_we_never_offered_are_a_bug_not_a_user_error() -> None:
    view = fill(add_form(), {ids.BLOCK_SUB_CHANNEL: "C1"})
    view["state"]["values"][ids.BLOCK_SUB_TYPES][ids.ACTION_SUB_TYPES]["selected_options"] = [option("fax", "Fax")]
    with pytest.raises(ValueError, match="unknown options"):
        read_subscription_modal(view)


# --- the value modal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1200", Decimal("1200")),
        ("1,200.50", Decimal("1200.50")),
        ("$1,200", Decimal("1200")),
        (" 99.5 ", Decimal("99.5")),
        ("$ 12.34", Decimal("12.34")),
        (".5", Decimal("0.5")),
        ("0", Decimal("0")),
        ("-0", Decimal("0")),
        ("1234567", Decimal("1234567")),
        ("999,999,999,999.99", Decimal("999999999999.99")),
        ("", None),
        ("   ", None),
        ("€1,200", Decimal("1200")),
        ("1200 EUR", Decimal("1200")),
        ("eur 99.50", Decimal("99.50")),
        ("CA$ 5", Decimal("5")),
        ("£0.99", Decimal("0.99")),
    ],
)
def test_amounts_people_type(typed: str, amount: Decimal | None) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Enter an amount like 1200 or 1,200.50."),
        ("NaN", "Enter an amount like 1200 or 1,200.50."),
        ("inf", "Enter an amount like 1200 or 1,200.50."),
        ("Infinity", "Enter an amount like 1200 or 1,200.50."),
        ("1e3", "Enter an amount like 1200 or 1,200.50."),
        ("1,20", "Enter an amount like 1200 or 1,200.50."),
        ("1.200,50", "Enter an amount like 1200 or 1,200.50."),
        ("1.2.3", "Enter an amount like 1200 or 1,200.50."),
        ("5.", "Enter an amount like 1200 or 1,200.50."),
        ("$", "Enter an amount like 1200 or 1,200.50."),
        ("EUR", "Enter an amount like 1200 or 1,200.50."),
        ("12 dollars", "Enter an amount like 1200 or 1,200.50."),
        ("+5", "Enter an amount like 1200 or 1,200.50."),
        ("١٢٣", "Enter an amount like 1200 or 1,200.50."),
        ("-5", "The amount can't be negative."),
        ("-$5", "The amount can't be negative."),
        ("$-1,200.50", "The amount can't be negative."),
        ("1.234", "Use at most 2 decimal places."),
        ("1000000000000", "That amount is too large."),
        ("1,000,000,000,000", "That amount is too large."),
    ],
)
def test_amounts_refused(typed: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_amount(typed)
    assert str(caught.value) == message


def value_form(quote: Decimal | None = None, sales: Decimal | None = None) -> dict:
    return value_modal(
        lead_id=42, channel_id="C0123", message_ts="1748459991.000100", quote_value=quote, sales_value=sales
    )


def test_reading_the_value_modal() -> None:
    view = fill(value_form(), {ids.BLOCK_VALUE_QUOTE: "$1,200", ids.BLOCK_VALUE_SALES: ""})
    assert read_value_modal(view) == LeadValues(
        lead_id=42, channel_id="C0123", message_ts="1748459991.000100", quote_value=Decimal("1200"), sales_value=None
    )


@pytest.mark.parametrize(
    ("quote", "sales", "blocks"),
    [
        ("", "", {ids.BLOCK_VALUE_QUOTE}),
        (None, None, {ids.BLOCK_VALUE_QUOTE}),
        ("abc", "100", {ids.BLOCK_VALUE_QUOTE}),
        ("100", "-5", {ids.BLOCK_VALUE_SALES}),
        ("1.234", "1e99", {ids.BLOCK_VALUE_QUOTE, ids.BLOCK_VALUE_SALES}),
    ],
)
def test_value_modal_errors_name_their_blocks(quote: str | None, sales: str | None, blocks: set[str]) -> None:
    view = fill(value_form(), {ids.BLOCK_VALUE_QUOTE: quote, ids.BLOCK_VALUE_SALES: sales})
    with pytest.raises(ModalErrors) as caught:
        read_value_modal(view)
    assert set(caught.value.errors) == blocks


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (Decimal("1200"), "1200"),
        (Decimal("1200.50"), "1200.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("12.345"), "12.34"),  # sub-cent amounts from the API are shown in cents
        (Decimal("0.001"), "0.00"),
    ],
)
def test_stored_values_prefill_as_amounts_the_form_accepts(stored: Decimal, shown: str) -> None:
    view = value_form(quote=stored, sales=stored)
    assert [b["element"]["initial_value"] for b in view["blocks"]] == [shown, shown]
    values = read_value_modal(fill(view))
    assert values.quote_value == values.sales_value == Decimal(shown)


def test_value_modal_metadata_must_be_ours() -> None:
    view = fill(value_form(), {ids.BLOCK_VALUE_QUOTE: "5"})
    with pytest.raises(ValueError):
        read_value_modal({**view, "private_metadata": '{"lead_id": "42"}'})


def test_the_form_shown_again_after_a_failed_save_names_the_problem_and_keeps_the_choices() -> None:
    """A save that fails after the ack shows the form again, as submitted, the problem on top."""
    initial = rules("calls forms +source:google +quiet:22:00-07:00")
    first = read_subscription_modal(
        fill(subscription_modal(connections=[(1, "acme")], initial=initial, channel_id="G1"))
    )

    again = subscription_modal(
        connections=[(1, "acme")],
        initial=first.filters,
        channel_id=first.channel_id,
        connection_id=first.connection_id,
        problem="I'm not in that private channel. Invite me (`/invite @WhatConverts`), then subscribe.",
    )

    assert again["blocks"][0] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": ":warning: I'm not in that private channel. Invite me (`/invite @WhatConverts`), then subscribe.",
        },
    }
    assert read_subscription_modal(fill(again)) == first
    valid(again)
