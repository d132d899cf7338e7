"""Block Kit pieces that stay within Slack's limits (platform truth S7), for every builder but lead cards.

Slack refuses a whole message or view (`invalid_blocks`) when one piece is over a limit, so builders
never trust a name or a list to be short: text goes through `cut`, which ends in "…" without splitting
an escaped character (`&amp;`), a mention, a channel, a date or a link; long lists of lines go through
`sections`, which packs them into as many section blocks as they need and says how many it left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.slack.escape import escape_mrkdwn

SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
# The message's `text`: Slack takes 40,000 characters, but it is what notifications show.
FALLBACK_TEXT = 3000
ELLIPSIS = "…"

# What a cut must not split: escaped characters, Slack's <…> markup (`<#C1>`, `<@U1>`,
# `<!date^…|…>`, `<https://…|label>`) and emoji shortcodes.
_TOKEN = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>|:[a-z0-9_+'-]+:")
_FENCE = "```"


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start ending in "…", never empty.

    The cut falls before any token it would split, and an inline code span or code block left open
    is closed after the "…", so the rest of the message doesn't turn into code.
    """
    if limit < len(ELLIPSIS):
        raise ValueError(f"a limit of {limit} leaves no room for {ELLIPSIS!r}")
    if len(text) <= limit:
        return text or ELLIPSIS
    head = text[:limit]
    reserve = len(_FENCE) if _FENCE in head else int("`" in head)  # room to close a code span
    room = max(0, limit - len(ELLIPSIS) - reserve)
    end = room
    for token in _TOKEN.finditer(text):
        if token.start() >= room:
            break
        if token.end() > room:
            end = token.start()
            break
    kept = text[:end].rstrip()
    return kept + ELLIPSIS + _closer(kept) if kept else ELLIPSIS


def _closer(text: str) -> str:
    if text.count(_FENCE) % 2:
        return _FENCE
    return "`" if text.replace(_FENCE, "").count("`") % 2 else ""


def code(text: str, limit: int, *, after: str = "") -> str:
    """Untrusted `text` as mrkdwn inline code: escaped, cut to `limit`, then `after` (never cut)."""
    return f"`{cut(escape_mrkdwn(text), limit)}{escape_mrkdwn(after)}`"


def plain(text: str, limit: int) -> dict:
    """A plain_text object cut to `limit` (a header's 150, a button's 75…)."""
    return {"type": "plain_text", "text": cut(text, limit)}


def section(text: str, accessory: dict | None = None) -> dict:
    """A mrkdwn section of at most 3,000 characters; Slack refuses an empty one, so it never is."""
    block: dict = {"type": "section", "text": {"type": "mrkdwn", "text": cut(text.strip(), SECTION_TEXT)}}
    if accessory:
        block["accessory"] = accessory
    return block


def header(text: str) -> dict:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text.strip(), SECTION_TEXT)}]}


def fallback(text: str) -> str:
    """A message's `text` (what notifications and screen readers get), cut to a sensible length."""
    return cut(text.strip(), FALLBACK_TEXT)


def _and_more(hidden: int) -> str:
    return f"{ELLIPSIS}and {hidden} more."


def sections(lines: Iterable[str], *, max_blocks: int, more: Callable[[int], str] = _and_more) -> list[dict]:
    """`lines` packed into section blocks of at most 3,000 characters, in order, none empty.

    A line longer than a section is cut. Past `max_blocks` blocks, the last block is `more(n)`, `n`
    being how many lines were left out.
    """
    if max_blocks < 1:
        raise ValueError("max_blocks must be at least 1")
    chunks: list[list[str]] = []
    size = 0
    for raw in lines:
        line = cut(raw.strip(), SECTION_TEXT) if raw.strip() else ""
        if not line:
            continue
        if chunks and size + 1 + len(line) <= SECTION_TEXT:
            chunks[-1].append(line)
            size += 1 + len(line)
        else:
            chunks.append([line])
            size = len(line)
    if len(chunks) > max_blocks:
        kept = chunks[: max_blocks - 1]
        hidden = sum(len(c) for c in chunks) - sum(len(c) for c in kept)
        return [*(section("\n".join(c)) for c in kept), section(more(hidden))]
    return [section("\n".join(c)) for c in chunks]


def capped(blocks: list[dict], *, max_blocks: int, note: str) -> list[dict]:
    """`blocks` if there are at most `max_blocks`, else the first ones and a context block saying `note`."""
    if len(blocks) <= max_blocks:
        return blocks
    return [*blocks[: max_blocks - 1], context(note)]


def destination(channel_id: str) -> str:
    """Where a subscription's cards go, as mrkdwn: `<#C…>` for a channel; for a person's alerts (a
    user id, which Slack posts to in the app's DM) their mention and "direct messages"."""
    if channel_id.startswith(("U", "W")):
        return f"<@{channel_id}>'s direct messages"
    return f"<#{channel_id}>"
