"""The entity-safe cutter and the section packer every reply builder uses (platform truth S7)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.blockkit import message_errors
from bot.slack import blocks
from bot.slack.escape import escape_mrkdwn

TOKEN = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>|:[a-z0-9_+'-]+:")

# Text as builders make it: escaped untrusted words, our own markup, shortcodes and code spans.
WORDS = st.text(alphabet=st.sampled_from("ab &<>`:_\n"), max_size=12).map(escape_mrkdwn)
MARKUP = st.sampled_from(
    ["<#C0LEADS>", "<@U123>", "<!here>", "<!date^1700000000^{date_short_pretty}|2023-11-14>",
     "<https://example.com/a?b=1&amp;c=2|the lead>", ":large_green_circle:", "`code`", "```block```", "*bold*"]
)  # fmt: skip
TEXT = st.lists(st.one_of(WORDS, MARKUP), max_size=40).map("".join)


def tokens_whole(original: str, cut: str) -> bool:
    """Every token of `cut` (before its ellipsis) is a whole token at the same place in `original`."""
    kept = cut.split(blocks.ELLIPSIS)[0] if cut != original else cut
    spans = [(m.start(), m.end()) for m in TOKEN.finditer(original)]
    return all(not (start < len(kept) < end) for start, end in spans)


@settings(max_examples=400, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=1, max_value=120))
def test_a_cut_fits_is_never_empty_and_never_splits_a_token(text: str, limit: int) -> None:
    out = blocks.cut(text, limit)

    assert 1 <= len(out) <= limit
    if len(text) <= limit and text:
        assert out == text
    else:
        assert blocks.ELLIPSIS in out
        assert tokens_whole(text, out), (text, out)
        kept = out[: out.rindex(blocks.ELLIPSIS)]
        assert text.startswith(kept)


@given(text=TEXT, limit=st.integers(min_value=8, max_value=120))
def test_a_cut_closes_the_code_span_it_opened(text: str, limit: int) -> None:
    out = blocks.cut(text, limit)

    if out != text:
        assert out.count("```") % 2 == 0
        if "```" not in out:
            assert out.count("`") % 2 == 0


def test_a_cut_stops_before_an_entity_or_a_mention_it_would_split() -> None:
    assert blocks.cut("Smith &amp; Sons", 10) == "Smith…"
    assert blocks.cut("go to <#C0LEADS> now", 10) == "go to…"
    assert blocks.cut("`a very long filter`", 10) == "`a very…`"
    assert blocks.cut("", 5) == "…"


def test_a_cut_refuses_a_limit_without_room_for_the_ellipsis() -> None:
    with pytest.raises(ValueError, match="no room"):
        blocks.cut("abc", 0)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab &\n", max_size=4000).map(escape_mrkdwn), max_size=80),
    max_blocks=st.integers(min_value=1, max_value=50),
)
def test_sections_are_valid_blocks_within_the_cap(lines: list[str], max_blocks: int) -> None:
    out = blocks.sections(lines, max_blocks=max_blocks)

    assert len(out) <= max_blocks
    assert message_errors({"blocks": out}) == []
    shown = "\n".join(b["text"]["text"] for b in out)
    for text in (t for t in shown.split("\n") if t):
        assert tokens_whole(text, text)


def test_sections_pack_lines_in_order_and_say_how_many_are_left_out() -> None:
    lines = [f"line {n:02} " + "x" * 1400 for n in range(10)]

    out = blocks.sections(lines, max_blocks=3, more=lambda n: f"{n} more: `list all`")

    texts = [b["text"]["text"] for b in out]
    assert texts[0].startswith("line 00") and "line 01" in texts[0]
    assert texts[1].startswith("line 02") and "line 03" in texts[1]
    assert texts[2] == "6 more: `list all`"


def test_a_line_over_a_section_is_cut_not_dropped_and_no_section_is_empty() -> None:
    out = blocks.sections(["", "short", "&amp;" * 700, "   "], max_blocks=5)

    assert [len(b["text"]["text"]) <= blocks.SECTION_TEXT for b in out] == [True, True]
    assert out[0]["text"]["text"] == "short"
    assert out[1]["text"]["text"].endswith("&amp;…")


def test_capped_keeps_the_first_blocks_and_says_where_the_rest_is() -> None:
    many = [blocks.section(f"card {n}") for n in range(60)]

    out = blocks.capped(many, max_blocks=50, note="More with `leads`.")

    assert len(out) == 50 and out[48] == many[48]
    assert out[-1] == blocks.context("More with `leads`.")
    assert blocks.capped(many[:3], max_blocks=50, note="x") == many[:3]
