"""Subscription filters: the subscribe grammar, its canonical rendering, matching and storage."""

from __future__ import annotations

import dataclasses
import json
from datetime import time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.filters import (
    CHOICES,
    LABEL_RE,
    TYPE_WORDS,
    ChannelRef,
    Filters,
    from_json,
    matches,
    parse_subscription,
    render,
    to_json,
)
from bot.connect import service as connections
from bot.errors import UsageError
from bot.slack.payloads import tokenize
from bot.whatconverts.leads import LEAD_TYPES, Lead

API_TYPE = {
    "phone_call": "Phone Call",
    "web_form": "Web Form",
    "chat": "Chat",
    "text_message": "Text Message",
    "email": "Email",
    "transaction": "Transaction",
    "appointment": "Appointment",
    "event": "Event",
    "other": "Other",
}
BASE_LEAD: dict[str, Any] = {
    "lead_id": 1,
    "lead_type": "Phone Call",
    "lead_source": "google",
    "lead_medium": "cpc",
    "lead_campaign": "Spring Sale",
    "lead_keyword": "emergency plumber",
    "lead_content": "ad-1",
    "lead_status": "Unique",
    "quotable": "Yes",
    "profile": "Main Site",
    "profile_id": 42,
    "account": "Acme Plumbing",
    "account_id": 7,
    "spam": False,
    "duplicate": False,
}


def lead(**overrides: Any) -> Lead:
    return Lead.from_api({**BASE_LEAD, **overrides})


def parse(text: str) -> tuple[ChannelRef | None, Filters]:
    return parse_subscription(tokenize(text))


def filters(text: str) -> Filters:
    return parse(text)[1]


# --- parsing -------------------------------------------------------------------------------


def test_nothing_or_all_means_every_lead_with_spam_and_duplicates_hidden() -> None:
    assert parse("") == (None, Filters())
    assert filters("all") == Filters()
    assert Filters().lead_types == frozenset() and not Filters().show_spam and not Filters().show_duplicates
    assert render(Filters()) == "all"


@pytest.mark.parametrize(("word", "lead_type"), sorted(TYPE_WORDS.items()))
def test_each_type_word_and_alias(word: str, lead_type: str) -> None:
    parsed = filters(word)
    assert parsed == Filters(lead_types=frozenset({lead_type}))
    assert filters(word.upper()) == parsed
    assert filters(f"+{word}") == parsed
    assert matches(parsed, lead(lead_type=API_TYPE[lead_type]))
    other = next(t for t in LEAD_TYPES if t != lead_type)
    assert not matches(parsed, lead(lead_type=API_TYPE[other]))


def test_every_type_named_is_the_same_as_all() -> None:
    assert filters(" ".join(sorted(set(TYPE_WORDS)))) == Filters()
    assert filters("all calls") == Filters()
    assert Filters(lead_types=frozenset(LEAD_TYPES)) == Filters()


def test_minus_a_type_keeps_the_others() -> None:
    assert filters("-calls").lead_types == frozenset(LEAD_TYPES) - {"phone_call"}
    assert filters("calls forms -forms").lead_types == frozenset({"phone_call"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+source:google", Filters(include=frozenset({("source", "google")}))),
        ("source:google", Filters(include=frozenset({("source", "google")}))),
        ("+SOURCE:Google", Filters(include=frozenset({("source", "Google")}))),
        ("-medium:organic", Filters(exclude=frozenset({("medium", "organic")}))),
        ("+source:google,bing", Filters(include=frozenset({("source", "google"), ("source", "bing")}))),
        ('+source:"google, bing"', Filters(include=frozenset({("source", "google"), ("source", "bing")}))),
        ("+source:google +source:bing", Filters(include=frozenset({("source", "google"), ("source", "bing")}))),
        ('+campaign:"Spring Sale"', Filters(include=frozenset({("campaign", "Spring Sale")}))),
        ('"+campaign:Spring Sale"', Filters(include=frozenset({("campaign", "Spring Sale")}))),
        ("+campaign:“Spring Sale”", Filters(include=frozenset({("campaign", "Spring Sale")}))),
        ('+keyword:" emergency plumber "', Filters(include=frozenset({("keyword", "emergency plumber")}))),
        ("+content:ad-1", Filters(include=frozenset({("content", "ad-1")}))),
        ("+campaign:a:b", Filters(include=frozenset({("campaign", "a:b")}))),
        ("+status:Unique", Filters(include=frozenset({("status", "unique")}))),
        ("-status:repeat", Filters(exclude=frozenset({("status", "repeat")}))),
        ("+quotable:yes,pending", Filters(include=frozenset({("quotable", "yes"), ("quotable", "pending")}))),
        ('+quotable:"Not Set"', Filters(include=frozenset({("quotable", "not_set")}))),
        ('profile:"Main Site"', Filters(include=frozenset({("profile", "Main Site")}))),
        ('profile:"Smith, Jones & Co"', Filters(include=frozenset({("profile", "Smith, Jones & Co")}))),
        ("profile:42 +profile:43", Filters(include=frozenset({("profile", "42"), ("profile", "43")}))),
        ("-account:7", Filters(exclude=frozenset({("account", "7")}))),
        ("connection:ACME", Filters(connection="acme")),
        ("connection:acme connection:acme", Filters(connection="acme")),
        ("+spam", Filters(show_spam=True)),
        ("+duplicates", Filters(show_duplicates=True)),
        ("+duplicate", Filters(show_duplicates=True)),
        ("-spam", Filters()),
        ("+compact", Filters(compact=True)),
        ("+thread", Filters(thread=True)),
        ("+digest:9:00", Filters(digest=time(9, 0))),
        ("+quiet:22:00-07:00", Filters(quiet=(time(22, 0), time(7, 0)))),
        ("+urgent:calls", Filters(urgent=Filters(lead_types=frozenset({"phone_call"})))),
        ("+urgent:all", Filters(urgent=Filters())),
        (
            "+urgent:source:google +urgent:-status:repeat",
            Filters(
                urgent=Filters(include=frozenset({("source", "google")}), exclude=frozenset({("status", "repeat")}))
            ),
        ),
        # Slack sends command text HTML-escaped and, with should_escape on, auto-links domains.
        ('+campaign:"Tom &amp; Jerry"', Filters(include=frozenset({("campaign", "Tom & Jerry")}))),
        ("+source:<http://google.com|google.com>", Filters(include=frozenset({("source", "google.com")}))),
        ("+source:&lt;none&gt;", Filters(include=frozenset({("source", "<none>")}))),
        ("+source:<none>", Filters(include=frozenset({("source", "<none>")}))),  # not Slack markup: kept
        ("+source:a&b", Filters(include=frozenset({("source", "a&b")}))),
        ("+source:<mailto:a@b.co>", Filters(include=frozenset({("source", "mailto:a@b.co")}))),
    ],
)
def test_parse(text: str, expected: Filters) -> None:
    assert parse(text) == (None, expected)


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("<#C0123ABC|sales> calls", ChannelRef(id="C0123ABC", name="sales")),
        ("<#C0123ABC> calls", ChannelRef(id="C0123ABC", name=None)),
        ("<#G0123ABC|> calls", ChannelRef(id="G0123ABC", name=None)),
        ("#sales calls", ChannelRef(id=None, name="sales")),
        ("calls #Sales", ChannelRef(id=None, name="sales")),
        ("@me calls", ChannelRef(id=None, name=None, user="me")),
        ("calls @ME", ChannelRef(id=None, name=None, user="me")),
        ("<@U0ADA|ada> calls", ChannelRef(id=None, name=None, user="U0ADA")),
        ("<@W0ADA> calls", ChannelRef(id=None, name=None, user="W0ADA")),
        ("calls", None),
    ],
)
def test_channel(text: str, channel: ChannelRef | None) -> None:
    assert parse(text) == (channel, Filters(lead_types=frozenset({"phone_call"})))


@pytest.mark.parametrize(
    ("text", "notify"),
    [
        ("+notify:<@U0ADA|ada>", {"U0ADA"}),
        ("+notify:<@U0ADA|ada>,<@W0BEA|bea>", {"U0ADA", "W0BEA"}),
        ("+notify:<@U0ADA> +notify:<@U0BEA|bea> +notify:<@U0ADA|ada>", {"U0ADA", "U0BEA"}),  # repeat: the union
        ("+NOTIFY:<@U0ADA|ada>", {"U0ADA"}),
        ("+notify:&lt;@U0ADA&gt;", {"U0ADA"}),  # the Home form's kept text is escaped like typed text
    ],
)
def test_notify_takes_mentioned_people(text: str, notify: set[str]) -> None:
    assert parse(f"calls {text}") == (None, Filters(lead_types=frozenset({"phone_call"}), notify=frozenset(notify)))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("+notify:<!channel>", "+notify:&lt;!channel&gt;"),
        ("+notify:<!here>", "+notify:&lt;!here&gt;"),
        ("+notify:@ada", "+notify:@ada"),  # not picked from the autocomplete: Slack didn't resolve it
        ("+notify:<#C1|sales>", "+notify:&lt;#C1|sales&gt;"),
        ("+notify:<@U1>,<!everyone>", "+notify:&lt;@U1&gt;,&lt;!everyone&gt;"),
        ("+notify:", "+notify:"),
        ("-notify:<@U1>", "-notify:&lt;@U1&gt;"),
        ("+urgent:notify:<@U1>", "+urgent:notify:&lt;@U1&gt;"),
        ("@me @me", "@me"),  # one place
        ("#sales @me", "@me"),
    ],
)
def test_notify_and_people_refuse_anything_else(text: str, named: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert f"`{named}`" in caught.value.message
    assert "<" not in caught.value.message


def test_notify_renders_and_stores_user_ids() -> None:
    f = filters("calls +notify:<@U0BEA|bea>,<@U0ADA|ada> +thread")
    assert render(f) == "calls +thread +notify:<@U0ADA>,<@U0BEA>"
    assert json.loads(to_json(f))["notify"] == ["U0ADA", "U0BEA"]
    assert from_json(to_json(f)) == f
    assert "notify" not in json.loads(to_json(filters("calls")))  # filters stored before it read the same
    for bad in ({"notify": frozenset({"<!channel>"})}, {"notify": frozenset({"C1"})}, {"notify": frozenset({"u1"})}):
        with pytest.raises(ValueError):
            Filters(**bad)
    with pytest.raises(ValueError):
        Filters(notify=frozenset(f"U{n}" for n in range(11)))
    with pytest.raises(ValueError):
        from_json('{"v": 1, "notify": "U1"}')


def test_the_full_example_line() -> None:
    text = (
        "subscribe <#C0123ABC|sales> calls forms +source:google -medium:organic +status:unique +quotable:yes "
        'profile:"Main Site" connection:acme'
    )
    words = tokenize(text)
    assert words[0] == "subscribe"
    channel, parsed = parse_subscription(words[1:])
    assert channel == ChannelRef(id="C0123ABC", name="sales")
    assert parsed == Filters(
        lead_types=frozenset({"phone_call", "web_form"}),
        include=frozenset({("source", "google"), ("status", "unique"), ("quotable", "yes"), ("profile", "Main Site")}),
        exclude=frozenset({("medium", "organic")}),
        connection="acme",
    )
    assert render(parsed) == (
        'calls forms +source:google -medium:organic +status:unique +quotable:yes profile:"Main Site" connection:acme'
    )
    assert matches(parsed, lead())
    assert not matches(parsed, lead(lead_medium="Organic"))
    assert not matches(parsed, lead(lead_type="Chat"))
    assert not matches(parsed, lead(profile="Other Site", profile_id=43))


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        ("+source:google", {}, True),
        ("+source:google", {"lead_source": "bing"}, False),
        ("+source:google", {"lead_source": None}, False),
        ("+source:GOOGLE", {"lead_source": "Google "}, True),
        ("+source:goo", {}, False),  # exact, not a substring
        ("-source:google", {}, False),
        ("-source:google", {"lead_source": "bing"}, True),
        ("-source:google", {"lead_source": None}, True),
        ("+source:google,bing", {"lead_source": "bing"}, True),
        ("+source:google +source:bing", {"lead_source": "bing"}, True),
        ("+source:google,bing -source:bing", {"lead_source": "bing"}, False),
        ("+source:google,bing -source:bing", {"lead_source": "google"}, True),
        ("+source:google -source:google", {}, False),  # excludes win
        ("+source:google +medium:organic", {}, False),  # fields AND together
        ("+source:google +medium:cpc", {}, True),
        ("-source:bing -medium:cpc", {}, False),
        ('+campaign:"spring sale"', {}, True),
        ('-campaign:"Spring Sale"', {}, False),
        ('+keyword:"emergency plumber"', {}, True),
        ("+content:ad-2", {}, False),
        ('+campaign:"Tom &amp; Jerry"', {"lead_campaign": "Tom & Jerry"}, True),
        ("+source:<http://google.com|google.com>", {"lead_source": "google.com"}, True),
        ("+status:unique", {}, True),
        ("+status:unique", {"lead_status": "Repeat"}, False),
        ("-status:repeat", {"lead_status": "Repeat"}, False),
        ("+quotable:yes", {}, True),
        ("+quotable:no,pending", {"quotable": "Pending"}, True),
        ("+quotable:not_set", {"quotable": "Not Set"}, True),
        ("-quotable:no", {"quotable": "No"}, False),
        ("+quotable:yes", {"quotable": None}, False),
        ('profile:"main site"', {}, True),
        ("profile:42", {}, True),
        ("profile:43", {}, False),
        ('profile:43 profile:"Main Site"', {}, True),
        ("profile:Other", {}, False),
        ("-profile:42", {}, False),
        ('account:"ACME PLUMBING"', {}, True),
        ("account:7", {}, True),
        ("account:8", {}, False),
        ("-account:acme", {}, True),
        ("all", {"spam": True}, False),
        ("all", {"duplicate": "true"}, False),
        ("+spam", {"spam": True}, True),
        ("+spam", {}, True),
        ("+duplicates", {"duplicate": True}, True),
        ("+spam", {"spam": True, "duplicate": True}, False),
        ("+spam +duplicates", {"spam": True, "duplicate": True}, True),
        ("+compact +thread +digest:09:00 +quiet:22:00-07:00 +urgent:forms", {}, True),  # no effect on matching
        ("connection:other", {}, True),  # routing is the caller's
        ("calls +source:google", {"lead_type": "Web Form"}, False),
        # WhatConverts calls its event leads "Custom Event" (W8): they are events, not "other".
        ("events", {"lead_type": "Custom Event"}, True),
        ("other", {"lead_type": "Custom Event"}, False),
        ("-events", {"lead_type": "Custom Event"}, False),
    ],
)
def test_matches(text: str, overrides: dict[str, Any], expected: bool) -> None:
    assert matches(filters(text), lead(**overrides)) is expected


# --- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("calls +colour:red", "+colour:red"),  # unknown field
        ("purple", "purple"),  # unknown word
        ("+status:maybe", "+status:maybe"),  # value outside a closed list
        ("+quotable:perhaps", "+quotable:perhaps"),
        ("+digest:25:00", "+digest:25:00"),  # bad time
        ("+quiet:22:00", "+quiet:22:00"),  # not a window
        ("+quiet:09:00-09:00", "+quiet:09:00-09:00"),  # empty window
        ("+source:", "+source:"),  # empty value
        ('+source:""', "+source:"),
        ("+source:google,", "+source:google,"),  # empty list item
        ("source", "source"),  # field without a value
        ("#sales calls #support", "#support"),  # a second channel
        ("<#C1AB|a> <#C2AB|b>", "&lt;#C2AB|b&gt;"),
        ("#", "#"),  # not a channel name
        ("<#X123|x>", "&lt;#X123|x&gt;"),
        ("connection:acme connection:beta", "connection:beta"),  # contradiction
        ("connection:-acme", "connection:-acme"),  # bad label
        ("-connection:acme", "-connection:acme"),
        ("+spam -spam", "-spam"),
        ("spam", "spam"),  # flags need their +
        ("+spam:yes", "+spam:yes"),  # flags take no value
        ("calls -calls", "-calls"),  # nothing left
        ("-all", "-all"),
        ("+urgent:", "+urgent:"),
        ("+urgent:+spam", "+urgent:+spam"),  # only lead filters inside urgent
        ("+urgent:+urgent:calls", "+urgent:+urgent:calls"),
        ("+urgent:connection:acme", "+urgent:connection:acme"),
        ("+source:<@U123>", "+source:&lt;@U123&gt;"),  # a mention as a value
        ('+campaign:"a\nb"', "+campaign:a b"),  # control characters
        ("<!channel>", "&lt;!channel&gt;"),  # escaped, so the error can't ping anyone
        ('calls ""', '""'),  # an empty quoted word
        ("+source:&amp;amp;", "+source:&amp;amp;"),  # would read back as something else
    ],
)
def test_bad_token_is_named_with_an_example(text: str, named: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    message = caught.value.message
    assert f"`{named}`" in message
    assert "Example: `/whatconverts subscribe " in message
    assert "<" not in message and "\n" not in message


def test_long_bad_token_is_truncated() -> None:
    token = "+" + "x" * 100 + ":1"
    with pytest.raises(UsageError) as caught:
        parse(token)
    shown = caught.value.message.split("`")[1]
    assert len(shown) == 40 and shown.endswith("…") and shown.startswith("+xxx")


# Bidi overrides, embeddings, isolates and marks, then other invisible format and control characters.
INVISIBLE = [
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
    "\u200e",
    "\u200f",
    "\u200b",
    "\u200d",
    "\u00ad",
    "\ufeff",
    "\x07",
    "\x7f",
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("template", ["+source:goo{}gle", '+campaign:"Spring{} Sale"', 'profile:"Main{} Site"'])
def test_invisible_and_control_characters_in_values_are_refused(char: str, template: str) -> None:
    parse(template.format(""))  # the same value without the character is fine
    parse(template.format("\u05d2\u05d5"))  # and right-to-left letters are letters, not overrides
    with pytest.raises(UsageError) as caught:
        parse(template.format(char))

    message = caught.value.message
    assert "invisible formatting character" in message or "control character" in message
    assert char not in message and "\ufffd" in message  # shown, but unable to reorder the reply


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200f"], ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_characters_in_a_channel_name_are_refused(char: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(f"#sa{char}les calls")
    assert "that isn't a channel name" in caught.value.message and char not in caught.value.message


def test_filters_stored_before_the_invisible_character_rule_still_load() -> None:
    stored = to_json(Filters(include=frozenset({("source", "goo\u202egle")})))
    assert from_json(stored).include == {("source", "goo\u202egle")}


def test_unclosed_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        parse('profile:"Main Site')


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lead_types": frozenset({"fax"})},
        {"include": frozenset({("colour", "red")})},
        {"include": frozenset({("status", "maybe")})},
        {"exclude": frozenset({("source", "a,b")})},
        {"include": frozenset({("source", " google")})},
        {"include": frozenset({("source", 'say "hi"')})},
        {"include": frozenset({("source", "&amp;")})},
        {"include": frozenset({("source", "<http://x.co>")})},
        {"include": frozenset({("profile", "<@U123>")})},
        {"connection": "Not A Label"},
        {"connection": "acme\n"},
        {"digest": time(9, 0, 30)},
        {"quiet": (time(9), time(9))},
        {"urgent": Filters(show_spam=True)},
    ],
)
def test_filters_refuse_what_cant_be_typed_back(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Filters(**kwargs)


# --- rendering and storage -----------------------------------------------------------------


def test_render_is_canonical() -> None:
    f = filters(
        "+urgent:source:google +quiet:22:00-07:00 +digest:08:30 +thread +compact +duplicates +spam "
        "connection:acme profile:42 account:Acme -quotable:no +status:repeat -content:x +keyword:b,a "
        '+campaign:"Spring Sale",Autumn +medium:cpc -source:Bing +source:google forms calls'
    )
    assert render(f) == (
        'calls forms +source:google -source:Bing +medium:cpc +campaign:Autumn,"Spring Sale" +keyword:a,b '
        "-content:x +status:repeat -quotable:no account:Acme profile:42 connection:acme "
        "+spam +duplicates +compact +thread +digest:08:30 +quiet:22:00-07:00 +urgent:+source:google"
    )
    assert render(filters("+source:google")) == "+source:google"
    # Plain text, as typed; callers escape it for mrkdwn like any user text.
    assert render(filters('+campaign:"Tom &amp; Jerry" +source:&lt;none&gt;')) == (
        '+source:<none> +campaign:"Tom & Jerry"'
    )


def test_json_is_versioned_and_stable() -> None:
    f = filters('calls +source:google,bing -medium:organic profile:"Main Site" +spam +quiet:22:00-07:00 +urgent:forms')
    text = to_json(f)
    data = json.loads(text)
    assert data["v"] == 1
    assert data["types"] == ["phone_call"]
    assert data["include"] == {"source": ["bing", "google"], "profile": ["Main Site"]}
    assert data["quiet"] == ["22:00", "07:00"]
    assert data["urgent"]["types"] == ["web_form"]
    assert from_json(text) == f
    assert to_json(from_json(text)) == text
    assert from_json('{"v": 1}') == Filters()
    assert from_json('{"v": 1, "added_later": true}') == Filters()


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"v": 2}',
        '{"types": []}',
        '{"v": 1, "types": "calls"}',
        '{"v": 1, "include": {"source": "google"}}',
        '{"v": 1, "include": {"colour": ["red"]}}',
        '{"v": 1, "digest": "25:00"}',
        '{"v": 1, "quiet": ["22:00"]}',
        '{"v": 1, "show_spam": "yes"}',
        '{"v": 1, "urgent": {"show_spam": true}}',
        "not json",
    ],
)
def test_from_json_refuses_bad_data(text: str) -> None:
    with pytest.raises(ValueError):
        from_json(text)


def test_label_rule_matches_connections() -> None:
    assert LABEL_RE.pattern == connections.LABEL_RE.pattern


def test_filters_are_hashable() -> None:
    assert len({filters("calls +source:google"), filters("+source:google calls"), Filters()}) == 2


# --- properties ----------------------------------------------------------------------------

# Values the grammar can carry: no quotes (tokenize eats them), no line breaks, control or
# invisible formatting characters; commas only in account/profile names. Includes & < > and inner
# spaces on purpose.
_chars = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), blacklist_characters='"“”')
_tricky = st.sampled_from([*"&<>;:|#@!, ", "&amp;", "&lt;", "<http:", "<#C1|", "<@U1>"])
_text = st.lists(_chars | _tricky, min_size=1, max_size=8).map("".join).map(str.strip)


def _typeable(key: str, value: str) -> bool:
    """Whether Filters accepts the value (it refuses empty, comma-listed or markup-shaped ones)."""
    try:
        Filters(include=frozenset({(key, value)}))
    except ValueError:
        return False
    return True


_scope_values = _text.filter(lambda v: _typeable("profile", v))
_attribute_values = _text.filter(lambda v: _typeable("source", v))
_pairs = st.one_of(
    st.tuples(st.sampled_from(["source", "medium", "campaign", "keyword", "content"]), _attribute_values),
    st.tuples(st.sampled_from(["account", "profile"]), _scope_values),
    *(st.tuples(st.just(key), st.sampled_from(values)) for key, values in CHOICES.items()),
)
_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
_types = st.frozensets(st.sampled_from(LEAD_TYPES))
_lead_filters = st.builds(
    Filters,
    lead_types=_types,
    include=st.frozensets(_pairs, max_size=6),
    exclude=st.frozensets(_pairs, max_size=4),
)
valid_filters = st.builds(
    Filters,
    lead_types=_types,
    include=st.frozensets(_pairs, max_size=8),
    exclude=st.frozensets(_pairs, max_size=6),
    connection=st.none() | st.from_regex(LABEL_RE, fullmatch=True),
    show_spam=st.booleans(),
    show_duplicates=st.booleans(),
    compact=st.booleans(),
    thread=st.booleans(),
    digest=st.none() | _times,
    quiet=st.none() | st.tuples(_times, _times).filter(lambda w: w[0] != w[1]),
    urgent=st.none() | _lead_filters,
    notify=st.frozensets(st.from_regex(r"[UW][A-Z0-9]{1,11}", fullmatch=True), max_size=3),
)
_targets = st.frozensets(st.from_regex(r"[UWS][A-Z0-9]{2,12}", fullmatch=True), min_size=1, max_size=10)
valid_filters = valid_filters | st.builds(
    dataclasses.replace,
    valid_filters.filter(lambda f: f.digest is None),
    sla=st.integers(1, 7 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    escalate=_targets,
)


@settings(max_examples=300, deadline=None)
@given(valid_filters)
def test_render_parses_back(f: Filters) -> None:
    assert parse_subscription(tokenize(render(f))) == (None, f)
    assert from_json(to_json(f)) == f


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        parse(text)
    except UsageError:
        pass


_fragments = st.sampled_from(
    ["+", "-", ":", ",", '"', " ", "#", "<#C1|a>", "<", ">", "&amp;", "all", "calls", "source", "status",
     "quotable", "profile", "connection", "digest", "quiet", "urgent", "spam", "unique", "09:00", "-", "x",
     "notify", "<@U1>", "<@W2|b>", "<!here>", "@me"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_fragments, max_size=20).map("".join), valid_filters)
def test_grammar_shaped_text_parses_or_is_a_usage_error(text: str, f: Filters) -> None:
    try:
        _, parsed = parse(text)
    except UsageError:
        return
    assert parse_subscription(tokenize(render(parsed)))[1] == parsed
    matches(parsed, lead())
    matches(f, lead())


# --- escalation: +sla and +escalate -----------------------------------------------------------

ADA = "<@U0ADA|ada>"
SALES = "<!subteam^S0SALES|@sales-team>"


@pytest.mark.parametrize(
    ("text", "sla", "escalate", "rendered", "shown"),
    [
        (f"+sla:5m +escalate:{ADA}", 5, {"U0ADA"}, "+sla:5m +escalate:<@U0ADA|ada>", "+sla:5m +escalate:@ada"),
        (f"+sla:90m +escalate:{ADA}", 90, {"U0ADA"}, "+sla:1h30m +escalate:<@U0ADA|ada>", "+sla:1h30m +escalate:@ada"),
        (f"+sla:2h +escalate:{SALES}", 120, {"S0SALES"}, "+sla:2h +escalate:<!subteam^S0SALES|@sales-team>",
         "+sla:2h +escalate:@sales-team"),
        (f"+SLA:1H30M +escalate:{ADA},{SALES}", 90, {"U0ADA", "S0SALES"},
         "+sla:1h30m +escalate:<!subteam^S0SALES|@sales-team>,<@U0ADA|ada>", "+sla:1h30m +escalate:@sales-team,@ada"),
        (f"+escalate:{ADA} +sla:1m +escalate:<@W0BOB>", 1, {"U0ADA", "W0BOB"},
         "+sla:1m +escalate:<@U0ADA|ada>,<@W0BOB>", "+sla:1m +escalate:@ada,<@W0BOB>"),  # no handle: its id
        (f"sla:168h escalate:{ADA} escalate:{ADA}", 168 * 60, {"U0ADA"}, "+sla:168h +escalate:<@U0ADA|ada>",
         "+sla:168h +escalate:@ada"),
        ("+sla:15m +escalate:<@U0ADA> +escalate:<!subteam^S0SALES>", 15, {"U0ADA", "S0SALES"},
         "+sla:15m +escalate:<!subteam^S0SALES>,<@U0ADA>", "+sla:15m +escalate:<!subteam^S0SALES>,<@U0ADA>"),
        # The Home form hands kept options back HTML-escaped, as Slack escapes typed text.
        ("+sla:15m +escalate:&lt;@U0ADA|ada&gt;", 15, {"U0ADA"}, "+sla:15m +escalate:<@U0ADA|ada>",
         "+sla:15m +escalate:@ada"),
        # A label that isn't a handle (typed by hand) isn't kept to be shown.
        ("+sla:15m +escalate:&lt;@U0ADA|`boo`&gt;", 15, {"U0ADA"}, "+sla:15m +escalate:<@U0ADA>",
         "+sla:15m +escalate:<@U0ADA>"),
    ],
)  # fmt: skip
def test_sla_and_escalate(text: str, sla: int, escalate: set[str], rendered: str, shown: str) -> None:
    parsed = filters(f"calls {text}")
    assert parsed == Filters(lead_types=frozenset({"phone_call"}), sla=timedelta(minutes=sla), escalate=escalate)
    assert render(parsed) == f"calls {rendered}"
    assert render(parsed, shown=True) == f"calls {shown}"
    again = parse_subscription(tokenize(render(parsed)))[1]
    assert again == parsed and again.escalate_names == parsed.escalate_names
    stored = from_json(to_json(parsed))
    assert stored == parsed and stored.escalate_names == parsed.escalate_names
    assert json.loads(to_json(parsed))["sla"] == sla
    assert matches(parsed, lead())  # escalation doesn't change which leads match


def test_handles_only_label_an_escalation() -> None:
    """Two subscriptions naming the same people are the same, whatever their handles were then."""
    assert filters(f"+sla:5m +escalate:{ADA}") == filters("+sla:5m +escalate:<@U0ADA|ada-renamed>")
    stored = json.loads(to_json(filters(f"+sla:5m +escalate:{ADA}")))
    stored["escalate_names"] = {"U0ADA": "not a handle!", "U0OTHER": "x"}
    assert from_json(json.dumps(stored)).escalate_names == ()


@pytest.mark.parametrize(
    ("text", "named", "reason"),
    [
        (f"+escalate:{ADA}", "+escalate:&lt;@U0ADA|ada&gt;", "`+escalate` needs `+sla`"),
        ("+sla:5m", "+sla:5m", "`+sla` needs `+escalate`"),
        (f"+sla:0m +escalate:{ADA}", "+sla:0m", "1 minute to 7 days"),
        (f"+sla:30s +escalate:{ADA}", "+sla:30s", "like 5m, 90m, 2h or 1h30m"),
        (f"+sla:169h +escalate:{ADA}", "+sla:169h", "1 minute to 7 days"),
        (f"+sla:10081m +escalate:{ADA}", "+sla:10081m", "1 minute to 7 days"),
        (f"+sla:1d +escalate:{ADA}", "+sla:1d", "like 5m"),
        (f"+sla:-5m +escalate:{ADA}", "+sla:-5m", "like 5m"),
        (f"+sla:5 +escalate:{ADA}", "+sla:5", "like 5m"),
        (f"+sla:30m30m +escalate:{ADA}", "+sla:30m30m", "like 5m"),
        (f"+sla:5m +sla:10m +escalate:{ADA}", "+sla:10m", "contradicts an earlier `+sla`"),
        (f"+sla +escalate:{ADA}", "+sla", "needs a value"),
        ("+sla:5m +escalate:", "+escalate:", "needs a value"),
        ("+sla:5m +escalate:@ada", "+escalate:@ada", "autocomplete"),  # a name Slack didn't resolve
        ("+sla:5m +escalate:ada", "+escalate:ada", "autocomplete"),
        ("+sla:5m +escalate:<#C0123|sales>", "+escalate:&lt;#C0123|sales&gt;", "autocomplete"),
        ("+sla:5m +escalate:<!channel>", "+escalate:&lt;!channel&gt;", "never @channel, @here or @everyone"),
        ("+sla:5m +escalate:<!here|here>", "+escalate:&lt;!here|here&gt;", "never @channel"),
        ("+sla:5m +escalate:<!everyone>", "+escalate:&lt;!everyone&gt;", "never @channel"),
        ("+sla:5m +escalate:<@U0ADA>,<!here>", "+escalate:&lt;@U0ADA&gt;,&lt;!here&gt;", "never @channel"),
        ("+sla:5m +escalate:<@U0ADA>,", "+escalate:&lt;@U0ADA&gt;,", "autocomplete"),
        ("+sla:5m +escalate:<@U0ADA>x", "+escalate:&lt;@U0ADA&gt;x", "separate people and groups with commas"),
        ("+sla:5m +escalate:<@u0ada>", "+escalate:&lt;@u0ada&gt;", "autocomplete"),
        ("+sla:5m +escalate:<https://x.co>", "+escalate:&lt;https://x.co&gt;", "autocomplete"),
        (f"-sla:5m +escalate:{ADA}", "-sla:5m", "can't be used with -"),
        (f"+sla:5m -escalate:{ADA}", "-escalate:&lt;@U0ADA|ada&gt;", "can't be used with -"),
        (f"+sla:5m +urgent:escalate:{ADA}", "+urgent:escalate:&lt;@U0ADA|ada&gt;", "inside +urgent"),
        (f"+digest:09:00 +sla:5m +escalate:{ADA}", "+escalate:&lt;@U0ADA|ada&gt;", "`+digest` subscription posts none"),
        ("+sla:5m +escalate:" + ",".join(f"<@U0{n:03d}>" for n in range(11)), "+escalate:", "at most 10"),
    ],
)
def test_bad_sla_or_escalate_is_named_with_an_example(text: str, named: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    message = caught.value.message
    assert f"`{named}" in message and reason in message, message
    assert "Example: `/whatconverts subscribe +sla:15m +escalate:@ada" in message
    assert "<" not in message and "\n" not in message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sla": timedelta(minutes=5)},
        {"escalate": frozenset({"U0ADA"})},
        {"sla": timedelta(seconds=90), "escalate": frozenset({"U0ADA"})},
        {"sla": timedelta(days=8), "escalate": frozenset({"U0ADA"})},
        {"sla": 5, "escalate": frozenset({"U0ADA"})},
        {"sla": timedelta(minutes=5), "escalate": frozenset({"C0123"})},
        {"sla": timedelta(minutes=5), "escalate": frozenset({"<@U0ADA>"})},
        {"sla": timedelta(minutes=5), "escalate": frozenset({"U0ADA"}), "digest": time(9)},
    ],
)
def test_filters_refuse_an_escalation_that_cant_be_typed(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Filters(**kwargs)


@pytest.mark.parametrize(
    "stored",
    ['{"v": 1, "sla": "5m", "escalate": ["U0ADA"]}', '{"v": 1, "sla": true, "escalate": ["U0ADA"]}',
     '{"v": 1, "sla": 5}', '{"v": 1, "escalate": ["U0ADA"]}', '{"v": 1, "sla": 5, "escalate": "U0ADA"}'],
)  # fmt: skip
def test_from_json_refuses_a_bad_escalation(stored: str) -> None:
    with pytest.raises(ValueError):
        from_json(stored)


def test_filters_without_escalation_store_what_they_stored_before() -> None:
    assert "sla" not in json.loads(to_json(filters("calls +quiet:22:00-07:00")))
