"""Block Kit → HTML for the sandbox page: formatting, names, emoji, a real lead card, and hostile input kept inert."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot import ids
from bot.alerts.cards import CardClaim, lead_card, sample_lead
from bot.connect.messages import disconnect_confirm_message
from bot.sandbox.emoji import SHORTCODES
from bot.sandbox.render import STYLE, Names, blocks_to_html, message_to_html, mrkdwn_to_html, plain_to_html
from bot.slack.escape import escape_mrkdwn
from tests.support.html_tags import start_tags

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


ALLOWED_TAGS = {"a", "b", "i", "s", "code", "pre", "br", "blockquote", "div", "span", "h3", "hr", "button", "label"}
ALLOWED_TAGS |= {"select", "option"}  # a message's users_select
ALLOWED_ATTRS = {
    "href",
    "target",
    "rel",
    "class",
    "id",
    "type",
    "data-action-id",
    "data-value",
    "data-block-id",
    "data-message",
    "data-confirm",
    "data-type",
    "value",
}


def assert_inert(markup: str) -> None:
    """No script tag, no non-web URL, and only tags/attributes this module builds itself.

    "javascript:" typed by a lead may show up as text or inside a data-* value (both inert); it must
    never be a link target, which the href check enforces.
    """
    assert "<script" not in markup.lower()
    for tag, attrs in start_tags(markup):
        assert tag in ALLOWED_TAGS, (tag, markup)
        assert set(attrs) <= ALLOWED_ATTRS, (attrs, markup)
        if "href" in attrs:
            assert (attrs["href"] or "").startswith(("http://", "https://")), markup


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("plain words", "plain words"),
        ("*bold*", "<b>bold</b>"),
        ("_italic_", "<i>italic</i>"),
        ("~gone~", "<s>gone</s>"),
        ("*Contact*\nJane Doe", "<b>Contact</b><br>Jane Doe"),
        ("a *b* _c_ ~d~", "a <b>b</b> <i>c</i> <s>d</s>"),
        ("snake_case_name", "snake_case_name"),
        ("2*3*4", "2*3*4"),
        ("* not bold *", "* not bold *"),
        ("`x *y*`", "<code>x *y*</code>"),
        ("```line 1\n*line* 2```", "<pre>line 1\n*line* 2</pre>"),
        ("before\n```\ncode\n```\nafter", "before<br><pre>code\n</pre><br>after"),
        ("&gt; quoted\n&gt; more\nafter", "<blockquote>quoted<br>more</blockquote>after"),
        ("&gt; quoted\n&gt;\n&gt; again", "<blockquote>quoted<br><br>again</blockquote>"),
        ("&gt;not a quote", "&gt;not a quote"),
        ("Tom &amp; Jerry", "Tom &amp; Jerry"),
        ("&amp;lt;b&amp;gt;", "&amp;lt;b&amp;gt;"),
        ("&lt;b&gt;hi&lt;/b&gt;", "&lt;b&gt;hi&lt;/b&gt;"),
        ('say "hi" it\'s', "say &quot;hi&quot; it&#x27;s"),
        (
            "<https://example.com/a?x=1&amp;y=2|Landing page>",
            '<a href="https://example.com/a?x=1&amp;y=2" target="_blank" rel="noopener">Landing page</a>',
        ),
        (
            "<https://example.com>",
            '<a href="https://example.com" target="_blank" rel="noopener">https://example.com</a>',
        ),
        ("<mailto:a@example.com|Mail>", "Mail"),
        ("<javascript:alert(1)|click>", "click"),
        ("<!date^1748459991^{date_short_pretty} at {time}|2025-05-28 19:19 UTC>", "2025-05-28 19:19 UTC"),
        ("<!date^1748459991^{date}>", "2025-05-28 19:19 UTC"),
        ("<#C123>", '<span class="slack-mention">#C123</span>'),
        ("<#C123|general>", '<span class="slack-mention">#general</span>'),
        ("<@U123>", '<span class="slack-mention">@U123</span>'),
        ("<!channel>", '<span class="slack-mention slack-broadcast">@channel</span>'),
        ("<!here>", '<span class="slack-mention slack-broadcast">@here</span>'),
        ("&lt;!channel&gt;", "&lt;!channel&gt;"),
        (
            "*<https://x.example|bold link>*",
            '<b><a href="https://x.example" target="_blank" rel="noopener">bold link</a></b>',
        ),
        ("a\nb", "a<br>b"),
    ],
)
def test_mrkdwn_formatting(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn) == expected


def test_plain_text_is_only_escaped() -> None:
    assert plain_to_html("*not bold* <b>&") == "*not bold* &lt;b&gt;&amp;"


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_lead_text_in_mrkdwn_stays_text(payload: str) -> None:
    # How lead text reaches mrkdwn: escaped by the app, then put inside its own formatting and tokens.
    escaped = escape_mrkdwn(payload)
    for text in (escaped, f"*{escaped}*", f"&gt; {escaped}", f"`{escaped}`", f"<https://ok.example|{escaped}>"):
        out = mrkdwn_to_html(text)
        assert "<script" not in out
        assert_inert(out)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_raw_text_in_mrkdwn_stays_text(payload: str) -> None:
    # Even if something forgot to Slack-escape, real "<…>" tokens must never become HTML.
    out = mrkdwn_to_html(payload)
    assert_inert(out)


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,alert(1)",
        "vbscript:x",
        "//evil",
    ],
)
def test_only_web_links_become_links(target: str) -> None:
    out = mrkdwn_to_html(f"<{target}|label>")
    assert out == "label"
    assert_inert(out)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_blocks_never_break_out(payload: str) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": payload}},
        {
            "type": "section",
            "block_id": payload,
            "text": {"type": "mrkdwn", "text": payload},
            "fields": [{"type": "mrkdwn", "text": payload}, {"type": "plain_text", "text": payload}],
            "accessory": {"type": "button", "text": {"type": "plain_text", "text": payload}, "url": payload},
        },
        {
            "type": "context",
            "elements": [{"type": "plain_text", "text": payload}, {"type": "image", "image_url": payload}],
        },
        {
            "type": "actions",
            "block_id": payload,
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": payload},
                    "action_id": payload,
                    "value": payload,
                    "style": payload,
                    "url": payload,
                    "confirm": {"title": {"type": "plain_text", "text": payload}},
                }
            ],
        },
        {"type": "input", "label": {"type": "plain_text", "text": payload}, "element": {"type": "plain_text_input"}},
        {"type": payload, "text": payload},
    ]
    out = message_to_html({"blocks": blocks}, message_id=payload)
    assert_inert(out)
    # Attribute values come back intact after the browser's unescaping: nothing broke out of its quotes.
    buttons = [attrs for tag, attrs in start_tags(out) if tag == "button"]
    assert len(buttons) == 2
    for attrs in buttons:
        assert attrs["data-block-id"] == payload
        assert attrs["data-message"] == payload
        assert attrs["class"] == "slack-button"
    assert buttons[1]["data-action-id"] == payload
    assert buttons[1]["data-value"] == payload
    (message,) = [attrs for tag, attrs in start_tags(out) if tag == "div" and "id" in attrs]
    assert message["id"] == payload


def test_quotes_in_attributes_are_escaped() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": 'a"b', "value": "x' y"}
    out = blocks_to_html([{"type": "actions", "block_id": "<b>", "elements": [button]}], message_id='m"1')
    assert 'data-action-id="a&quot;b"' in out
    assert 'data-value="x&#x27; y"' in out
    assert 'data-block-id="&lt;b&gt;"' in out
    assert 'data-message="m&quot;1"' in out


def test_url_button_links_only_to_web_urls() -> None:
    ok = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://example.com/?a=1&b=2"}
    bad = {**ok, "url": "javascript:alert(1)"}
    out = blocks_to_html([{"type": "actions", "elements": [ok, bad]}])
    tags = start_tags(out)
    (link,) = [attrs for tag, attrs in tags if tag == "a"]
    assert link["href"] == "https://example.com/?a=1&b=2"
    assert link["rel"] == "noopener"
    assert [tag for tag, _ in tags].count("button") == 1
    assert_inert(out)


def test_lead_card_renders() -> None:
    card = lead_card(sample_lead(), actions=True)
    out = message_to_html(card, message_id="m-1")
    assert_inert(out)
    assert '<h3 class="slack-header">📞 Phone call from Jane Doe</h3>' in out
    assert '<div class="slack-fields">' in out
    assert "<b>Contact</b><br>Jane Doe" in out
    assert "<b>Email</b><br>jane.doe@example.com" in out
    assert "<b>Value</b><br>Quotable · Quote $1,200.00" in out
    assert '<div class="slack-context">' in out
    assert "Lead #100000001 · 2025-05-28 19:19 UTC" in out
    assert "date_short_pretty" not in out
    buttons = [attrs for tag, attrs in start_tags(out) if tag == "button"]
    assert [b["data-action-id"] for b in buttons] == [
        ids.ACTION_LEAD_QUOTABLE,
        ids.ACTION_LEAD_NOT_QUOTABLE,
        ids.ACTION_LEAD_VALUE,
    ]
    assert {b["data-value"] for b in buttons} == {"100000001"}
    assert {b["data-block-id"] for b in buttons} == {ids.BLOCK_LEAD_ACTIONS}
    assert {b["data-message"] for b in buttons} == {"m-1"}
    assert "(edited)" not in out


def test_a_claimed_cards_hand_over_menu_lists_the_people_escaped() -> None:
    """A users_select renders as a menu of the workspace's people (names are typed by people: escaped)."""
    claim = CardClaim(holder="U1", first_by="U1", taken_after=timedelta(minutes=3))
    card = lead_card(sample_lead(), actions=True, claims=True, claim=claim)
    out = message_to_html(card, message_id="C0LEADS:1.2", names=NAMES)
    assert_inert(out)
    assert 'Claimed by <span class="slack-mention">@ada</span> · 3 min after it arrived' in out
    (menu,) = [attrs for tag, attrs in start_tags(out) if tag == "select"]
    assert menu == {
        "class": "slack-menu", "data-action-id": ids.ACTION_LEAD_HAND_OVER, "data-block-id": ids.BLOCK_LEAD_ACTIONS,
        "data-message": "C0LEADS:1.2", "data-type": "users_select",
    }  # fmt: skip
    assert [attrs.get("value") for tag, attrs in start_tags(out) if tag == "option"] == ["", "U6", "U1"]
    assert '<option value="">Hand over to…</option>' in out and "a&quot;b" in out
    buttons = [attrs["data-action-id"] for tag, attrs in start_tags(out) if tag == "button"]
    assert buttons[0] == ids.ACTION_LEAD_RELEASE and ids.ACTION_LEAD_CLAIM not in buttons
    assert ".slack-menu" in STYLE


def test_danger_button_with_confirm_renders() -> None:
    message = disconnect_confirm_message(label="acme", connection_id=7, kind="api_key")
    message["blocks"][1]["elements"][0]["confirm"] = {
        "title": {"type": "plain_text", "text": "Disconnect acme?"},
        "text": {"type": "plain_text", "text": "Its subscriptions stop."},
        "confirm": {"type": "plain_text", "text": "Disconnect"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    out = message_to_html(message, message_id="m-2")
    danger = next(attrs for tag, attrs in start_tags(out) if tag == "button")
    assert danger["class"] == "slack-button danger" and danger["data-value"] == "7"
    assert danger["data-confirm"].startswith("Disconnect acme?")


def test_lead_card_with_hostile_lead_is_inert() -> None:
    evil = '<script>alert(1)</script> "><img onerror=x> <!channel>'
    names = ("contact_name", "contact_company", "source", "message", "summary", "notes", "city")
    lead = replace(sample_lead(), landing_url="javascript:alert(1)", **dict.fromkeys(names, evil))
    out = message_to_html(lead_card(lead, actions=True), message_id="m")
    assert_inert(out)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;!channel&gt;" in out
    assert "@channel" not in out


def test_fallback_text_and_edited_marker() -> None:
    out = message_to_html({"text": "Hi *there* &lt;script&gt;", "edited": {"ts": "1"}}, message_id="m2")
    assert out.startswith('<div class="slack-message" id="m2">')
    assert "Hi <b>there</b> &lt;script&gt;" in out
    assert '<span class="slack-edited">(edited)</span>' in out
    assert "(edited)" in message_to_html({"text": "x", "edits": [{"text": "y"}]}, message_id="m3")
    assert "(edited)" not in message_to_html({"text": "x", "blocks": []}, message_id="m4")


def test_block_shapes() -> None:
    blocks = [
        {"type": "divider"},
        {"type": "input", "label": {"type": "plain_text", "text": "Quote value"}, "element": {}},
        {"type": "video", "title": {"type": "plain_text", "text": "skip me"}},
        "not a block",
        {"type": "context", "elements": [{"type": "image", "image_url": "https://x.example/a.png"}]},
        {
            "type": "section",
            "block_id": "b1",
            "text": {"type": "mrkdwn", "text": "Pick"},
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Go"},
                "action_id": "go",
                "style": "primary",
            },
        },
    ]
    out = blocks_to_html(blocks, message_id="m")  # type: ignore[list-item]
    assert '<hr class="slack-divider">' in out
    assert '<div class="slack-input"><label>Quote value</label></div>' in out
    assert "skip me" not in out
    assert "<img" not in out and "x.example" not in out
    assert '<div class="slack-accessory"><button type="button" class="slack-button primary" data-action-id="go"' in out


def test_style_covers_the_classes() -> None:
    for cls in re.findall(
        r'class="([\w-]+)', blocks_to_html([{"type": "divider"}]) + message_to_html({}, message_id="")
    ):
        assert f".{cls}" in STYLE
    for cls in ("slack-button", "primary", "danger", "slack-context", "slack-fields", "slack-edited", "slack-mention",
                "slack-broadcast", "slack-emoji"):  # fmt: skip
        assert f".{cls}" in STYLE


# --- names and emoji, as the viewer's Slack shows them ------------------------------------------

NAMES = Names(channels={"C0LEADS": "leads", "C0EVIL": "<b>x</b>"}, users={"U1": "ada", "U6": 'a"b'})


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("<#C0LEADS>", '<span class="slack-mention">#leads</span>'),
        # The workspace's current name wins over the label the app wrote (channels get renamed).
        ("<#C0LEADS|old-name>", '<span class="slack-mention">#leads</span>'),
        ("<#C9GONE|gone>", '<span class="slack-mention">#gone</span>'),
        ("<#C9GONE>", '<span class="slack-mention">#C9GONE</span>'),
        ("<@U1>", '<span class="slack-mention">@ada</span>'),
        ("<@U9|bob>", '<span class="slack-mention">@bob</span>'),
        ("<#C0EVIL>", '<span class="slack-mention">#&lt;b&gt;x&lt;/b&gt;</span>'),
        ("<@U6>", '<span class="slack-mention">@a&quot;b</span>'),
        ("<!everyone>", '<span class="slack-mention slack-broadcast">@everyone</span>'),
        ("<!subteam^S1|@sales>", '<span class="slack-mention">@sales</span>'),
        ("<!subteam^S1>", '<span class="slack-mention">@S1</span>'),
    ],
)
def test_mentions_show_names(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn, names=NAMES) == expected


GREEN = '<span class="slack-emoji">🟢</span>'


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        (":large_green_circle: active", f"{GREEN} active"),
        (":large_green_circle::large_green_circle:", GREEN * 2),
        ("*:large_green_circle: bold*", f"<b>{GREEN} bold</b>"),
        # Underscores inside a shortcode are not italics, and italics around one still work.
        ("_:large_green_circle:_", f"<i>{GREEN}</i>"),
        (":not_an_emoji_we_know: stays", ":not_an_emoji_we_know: stays"),
        ("at 10:00:large_green_circle:", f"at 10:00{GREEN}"),
        ("`:large_green_circle:` is code", "<code>:large_green_circle:</code> is code"),
        (
            "<https://x.example|:link: page>",
            '<a href="https://x.example" target="_blank" rel="noopener"><span class="slack-emoji">🔗</span> page</a>',
        ),
        (":Large_Green_Circle:", ":Large_Green_Circle:"),
    ],
)
def test_emoji_shortcodes(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn) == expected


def test_plain_text_gets_emoji_unless_it_says_not_to() -> None:
    assert plain_to_html(":tada: done") == '<span class="slack-emoji">🎉</span> done'
    block = {"type": "header", "text": {"type": "plain_text", "text": ":tada: <b>", "emoji": False}}
    assert blocks_to_html([block]) == '<h3 class="slack-header">:tada: &lt;b&gt;</h3>'


def test_names_reach_every_block_kind() -> None:
    mention = {"type": "mrkdwn", "text": "<@U1> in <#C0LEADS>"}
    blocks = [
        {"type": "section", "text": mention, "fields": [mention]},
        {"type": "context", "elements": [mention]},
    ]
    out = message_to_html({"blocks": blocks}, message_id="m", names=NAMES)
    assert out.count("@ada") == 3 and out.count("#leads") == 3
    assert "U1" not in out and "C0LEADS" not in out
    assert message_to_html({"text": "hi <@U1>"}, message_id="m", names=NAMES).count("@ada") == 1


def _app_shortcodes() -> dict[str, set[str]]:
    """Every `:shortcode:` in the strings of the app's own code (docstrings aside), and where."""
    shortcode = re.compile(r"(?<![\w:]):([a-z][a-z0-9_+-]*):(?!\w)")
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if "sandbox" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for match in shortcode.finditer(node.value):
                    found.setdefault(match[1], set()).add(path.name)
    return found


def test_every_shortcode_the_app_sends_has_its_emoji() -> None:
    used = _app_shortcodes()
    assert {"warning", "large_green_circle", "tada"} <= used.keys()  # the scan does find them
    missing = {name: where for name, where in used.items() if name not in SHORTCODES}
    assert not missing, f"add these to bot/sandbox/emoji.py: {missing}"


def test_the_emoji_table_holds_emoji_only() -> None:
    for name, emoji in SHORTCODES.items():
        assert re.fullmatch(r"[a-z0-9_+-]+", name), name
        assert emoji and not any(c.isascii() for c in emoji), name
