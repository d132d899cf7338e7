"""Slack Block Kit → safe HTML, for the local sandbox page that shows what the app posted in Slack.

Pure functions, no I/O. Everything that ends up in the page came (directly or not) from lead data typed
by strangers, so the rule is: every piece of text goes through `html.escape` exactly once, and the only
markup in the output is markup built here. URLs become links only when `safe_url` accepts them
(absolute http/https), so `javascript:` and friends can never reach an `href`.

Slack mrkdwn as the app sends it is already Slack-escaped: lead text's `&`, `<`, `>` arrive as
`&amp;`, `&lt;`, `&gt;`, while the app's own tokens (`<url|label>`, `<!date^…>`, mentions) use real
angle brackets. `mrkdwn_to_html` relies on that split: real `<…>` are tokens, everything else is text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.sandbox.emoji import unicode_for
from bot.slack.escape import safe_url

__all__ = [
    "EMOJI_FONTS",
    "NO_NAMES",
    "STYLE",
    "Names",
    "attr",
    "block_to_html",
    "blocks_to_html",
    "message_to_html",
    "mrkdwn_to_html",
    "plain_to_html",
    "text_object_html",
]

# A Slack token is a real "<…>" pair; lead text can't form one because the app escaped its brackets.
_TOKEN = re.compile(r"<([^<>]*)>")
# The three entities Slack defines; undone in one pass so "&amp;lt;" stays the literal text "&lt;".
_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_SLACK_CHARS = {"amp": "&", "lt": "<", "gt": ">"}
# Placeholders keep finished HTML fragments (links, code) away from the formatting regexes; NUL
# can't come from the input because it is stripped first.
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_CODE_BLOCK = re.compile(r"```\n?(.+?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
# A lookahead, so in "10:00:tada:" the unknown ":00:" doesn't swallow the colon that opens ":tada:".
_SHORTCODE = re.compile(r"(?=:([a-z0-9_+-]+):)")


@dataclass(frozen=True)
class Names:
    """What the viewer's Slack knows: channel id → name and user id → display name, for mentions."""

    channels: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)


NO_NAMES = Names()


def _emphasis(mark: str) -> re.Pattern[str]:
    # Slack only formats when the marks hug the text and sit at word edges, so snake_case_names and
    # "2*3*4" stay as typed.
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?!\s)([^{m}\n]+?)(?<!\s){m}(?![\w{m}])")


_FORMATS = ((_emphasis("*"), "b"), (_emphasis("_"), "i"), (_emphasis("~"), "s"))
_QUOTE = "&gt;"  # what a Slack quote marker looks like after escaping
_BUTTON_STYLES = frozenset({"primary", "danger"})


def plain_to_html(text: str, *, emoji: bool = True) -> str:
    """Plain text (Slack `plain_text`, not parsed by Slack but for emoji shortcodes) as escaped HTML."""
    escaped = html.escape(text)
    return _emoji(escaped) if emoji else escaped


def _unescape_slack(text: str) -> str:
    return _SLACK_ENTITY.sub(lambda m: _SLACK_CHARS[m.group(1)], text)


def _text(text: str) -> str:
    """Slack-escaped text → HTML-escaped text: unescape Slack's entities once, then escape for HTML."""
    return html.escape(_unescape_slack(text))


def _emoji(escaped: str, keep: Callable[[str], str] | None = None) -> str:
    """Known `:shortcode:`s in escaped text → emoji; `keep` shields the markup from later passes."""
    out: list[str] = []
    last = 0
    for match in _SHORTCODE.finditer(escaped):
        name, start = match.group(1), match.start()
        emoji = unicode_for(name)
        if start < last or emoji is None:
            continue
        span = f'<span class="slack-emoji">{emoji}</span>'
        out += [escaped[last:start], keep(span) if keep else span]
        last = start + len(name) + 2
    out.append(escaped[last:])
    return "".join(out)


def _date_token(body: str, label: str | None) -> str:
    """`!date^EPOCH^{format}` → its fallback; without one, the moment in UTC (never the raw format)."""
    if label is not None:
        return _text(label)
    try:
        moment = datetime.fromtimestamp(int(body.split("^")[1]), tz=UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return ""
    return html.escape(f"{moment:%Y-%m-%d %H:%M} UTC")


def _mention(shown: str, kind: str = "slack-mention") -> str:
    return f'<span class="{kind}">{shown}</span>'


def _named(sigil: str, known: str | None, label: str | None, raw_id: str) -> str:
    """`#leads` / `@ada`: the name Slack knows, else the token's label, else the id as sent."""
    if known:
        return _mention(html.escape(sigil + known))
    return _mention(html.escape(sigil) + (_text(label) if label else _text(raw_id)))


def _token_to_html(token: str, names: Names) -> str:
    """One `<…>` token (without the brackets) as HTML."""
    body, sep, label = token.partition("|")
    name = label if sep else None
    if body.startswith("!date^"):
        return _date_token(body, name)
    if body.startswith("!"):
        # <!channel>, <!here>, <!everyone>, <!subteam^S1|@team>: shown as text, never as a live ping.
        special = body[1:]
        if special in ("channel", "here", "everyone"):
            return _mention(f"@{special}", "slack-mention slack-broadcast")
        return _mention(_text(name) if name else html.escape("@" + _unescape_slack(special.split("^")[-1])))
    if body.startswith("#"):
        return _named("#", names.channels.get(body[1:]), name, body[1:])
    if body.startswith("@"):
        return _named("@", names.users.get(body[1:]), name, body[1:])
    url = safe_url(_unescape_slack(body))
    shown = _emoji(_text(name)) if name else _text(body)
    if url is None:
        # mailto:, javascript: and anything else non-web: the words survive, the link does not.
        return shown
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{shown}</a>'


def _inline(line: str) -> str:
    for pattern, tag in _FORMATS:
        line = pattern.sub(rf"<{tag}>\1</{tag}>", line)
    return line


def _lines_to_html(text: str) -> str:
    """Escaped text → HTML with inline formatting, quote blocks and `<br>` line breaks."""
    parts: list[str] = []
    quote: list[str] = []
    for line in text.split("\n"):
        if line == _QUOTE or line.startswith(_QUOTE + " "):
            quote.append(_inline(line[len(_QUOTE) + 1 :]))
            continue
        if quote:
            parts.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        parts.append(_inline(line))
    if quote:
        parts.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    out = ""
    for i, part in enumerate(parts):
        # A blockquote is already a block of its own, so no <br> is needed on either side of it.
        if i and not part.startswith("<blockquote>") and not parts[i - 1].startswith("<blockquote>"):
            out += "<br>"
        out += part
    return out


def mrkdwn_to_html(text: str, *, names: Names = NO_NAMES) -> str:
    """Slack mrkdwn (as the app sends it, already Slack-escaped) as safe HTML."""
    fragments: list[str] = []

    def keep(fragment: str) -> str:
        fragments.append(fragment)
        return f"\x00{len(fragments) - 1}\x00"

    text = text.replace("\x00", "")
    # 1. Tokens first, while "<" and ">" still tell the app's tokens apart from escaped lead text.
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(_text(text[last : match.start()]))
        pieces.append(keep(_token_to_html(match.group(1), names)))
        last = match.end()
    pieces.append(_text(text[last:]))
    escaped = "".join(pieces)
    # 2. Code next, so nothing inside it is read as bold/italic/quote markers or as emoji.
    escaped = _CODE_BLOCK.sub(lambda m: keep(f"<pre>{m.group(1)}</pre>"), escaped)
    escaped = _INLINE_CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), escaped)
    # 3. Emoji, kept aside too: their underscores must not read as italics.
    escaped = _emoji(escaped, keep)
    out = _lines_to_html(escaped)
    # Code fragments can hold token placeholders, so restore until none are left (depth is at most 2).
    while _PLACEHOLDER.search(out):
        out = _PLACEHOLDER.sub(lambda m: fragments[int(m.group(1))], out)
    return out


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def text_object_html(obj: object, names: Names = NO_NAMES) -> str:
    """A Block Kit text object as HTML; anything malformed renders as nothing."""
    if not isinstance(obj, dict):
        return ""
    text = _str(obj.get("text"))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_html(text, names=names)
    return plain_to_html(text, emoji=obj.get("emoji") is not False)


def attr(value: object) -> str:
    """A value for an HTML attribute (quoted with double quotes); non-strings other than numbers → ""."""
    return html.escape(_str(value) if not isinstance(value, int | float) else str(value), quote=True)


def _confirm_text(confirm: object) -> str:
    """A confirm dialog as one plain sentence, for the page's `window.confirm`."""
    if not isinstance(confirm, dict):
        return ""
    parts = [_str(confirm.get(key, {}).get("text")) for key in ("title", "text") if isinstance(confirm.get(key), dict)]
    return " ".join(p for p in parts if p)


def _button(element: dict, *, block_id: str, message_id: str, names: Names) -> str:
    style = _str(element.get("style"))
    classes = "slack-button" + (f" {style}" if style in _BUTTON_STYLES else "")
    data = (
        f'data-action-id="{attr(element.get("action_id"))}" data-value="{attr(element.get("value"))}" '
        f'data-block-id="{attr(block_id)}" data-message="{attr(message_id)}"'
    )
    if confirm := _confirm_text(element.get("confirm")):
        data += f' data-confirm="{attr(confirm)}"'
    label = text_object_html(element.get("text"), names)
    if "url" in element and (url := safe_url(element.get("url"))):
        href = html.escape(url, quote=True)
        return f'<a class="{classes}" href="{href}" target="_blank" rel="noopener" {data}>{label}</a>'
    # A url button whose URL isn't http(s) still posts its action back, as Slack would.
    return f'<button type="button" class="{classes}" {data}>{label}</button>'


def _section(block: dict, *, block_id: str, message_id: str, names: Names) -> str:
    body = ""
    if text := text_object_html(block.get("text"), names):
        body += f'<div class="slack-text">{text}</div>'
    fields = block.get("fields")
    if isinstance(fields, list) and fields:
        cells = "".join(f'<div class="slack-field">{text_object_html(f, names)}</div>' for f in fields)
        body += f'<div class="slack-fields">{cells}</div>'
    accessory = block.get("accessory")
    side = ""
    if isinstance(accessory, dict) and accessory.get("type") == "button":
        button = _button(accessory, block_id=block_id, message_id=message_id, names=names)
        side = f'<div class="slack-accessory">{button}</div>'
    return f'<div class="slack-section"><div class="slack-section-body">{body}</div>{side}</div>'


def _context(block: dict, names: Names) -> str:
    elements = block.get("elements")
    if not isinstance(elements, list):
        return ""
    # Images are skipped: the page is offline-friendly and must not fetch URLs from lead data.
    spans = [
        f"<span>{text_object_html(e, names)}</span>"
        for e in elements
        if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text")
    ]
    return f'<div class="slack-context">{"".join(spans)}</div>' if spans else ""


def _users_menu(element: dict, *, block_id: str, message_id: str, names: Names) -> str:
    """A users_select in a message: the workspace's people to pick from; picking one reports it, as Slack does."""
    data = (
        f'data-action-id="{attr(element.get("action_id"))}" data-block-id="{attr(block_id)}" '
        f'data-message="{attr(message_id)}" data-type="users_select"'
    )
    placeholder = element.get("placeholder")
    prompt = text_object_html(placeholder, names) if isinstance(placeholder, dict) else "Select a person"
    people = sorted(names.users.items(), key=lambda item: item[1])
    options = "".join(
        f'<option value="{attr(uid)}">{plain_to_html(name, emoji=False)}</option>' for uid, name in people
    )
    return f'<select class="slack-menu" {data}><option value="">{prompt}</option>{options}</select>'


def _actions(block: dict, *, block_id: str, message_id: str, names: Names) -> str:
    elements = block.get("elements")
    if not isinstance(elements, list):
        return ""
    controls = []
    for e in elements:
        if not isinstance(e, dict):
            continue
        if e.get("type") == "button":
            controls.append(_button(e, block_id=block_id, message_id=message_id, names=names))
        elif e.get("type") == "users_select":
            controls.append(_users_menu(e, block_id=block_id, message_id=message_id, names=names))
        # Other menus aren't drawn: the sandbox shows what it can press, not a guess.
    return f'<div class="slack-actions">{"".join(controls)}</div>' if controls else ""


def block_to_html(block: object, *, message_id: str = "", names: Names = NO_NAMES) -> str:
    """One Block Kit block as HTML; unknown or malformed blocks render as nothing rather than a guess."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    block_id = _str(block.get("block_id"))
    if kind == "header":
        return f'<h3 class="slack-header">{text_object_html(block.get("text"), names)}</h3>'
    if kind == "section":
        return _section(block, block_id=block_id, message_id=message_id, names=names)
    if kind == "context":
        return _context(block, names)
    if kind == "divider":
        return '<hr class="slack-divider">'
    if kind == "actions":
        return _actions(block, block_id=block_id, message_id=message_id, names=names)
    if kind == "input":
        # Outside a modal an input is only named; bot.sandbox.view_render draws the live form fields.
        return f'<div class="slack-input"><label>{text_object_html(block.get("label"), names)}</label></div>'
    return ""


def blocks_to_html(blocks: list[dict], *, message_id: str = "", names: Names = NO_NAMES) -> str:
    """Block Kit blocks as HTML; unknown or malformed blocks are skipped rather than guessed at."""
    items = blocks if isinstance(blocks, list) else []
    return "".join(block_to_html(block, message_id=message_id, names=names) for block in items)


def message_to_html(message: dict, *, message_id: str, names: Names = NO_NAMES) -> str:
    """One posted message as a card: its blocks, or its `text` when it has none, plus "(edited)"."""
    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        body = blocks_to_html(blocks, message_id=message_id, names=names)
    else:
        # Slack renders top-level text as mrkdwn too, and it is Slack-escaped the same way.
        body = f'<div class="slack-text">{mrkdwn_to_html(_str(message.get("text")), names=names)}</div>'
    edited = message.get("edited") or message.get("edits")
    marker = '<span class="slack-edited">(edited)</span>' if edited else ""
    return f'<div class="slack-message" id="{attr(message_id)}">{body}{marker}</div>'


# Colour emoji fonts by platform; Debian's is fonts-noto-color-emoji. Without one, Chromium draws boxes.
EMOJI_FONTS = '"Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"'
FONT = f'Lato, -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, {EMOJI_FONTS}, sans-serif'

STYLE = f"""\
.slack-message {{ font: 15px/1.46 {FONT}; color: #1d1c1d; overflow-wrap: anywhere; }}
.slack-header {{ font-size: 18px; font-weight: 900; margin: 2px 0 6px; }}
.slack-header:not(:first-child) {{ margin-top: 18px; }}
.slack-section {{ display: flex; gap: 12px; align-items: flex-start; margin: 4px 0; }}
.slack-section-body {{ flex: 1; min-width: 0; overflow-wrap: anywhere; }}
.slack-text, .slack-field {{ overflow-wrap: anywhere; }}
.slack-fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 4px; }}
.slack-context {{ color: #616061; font-size: 12px; margin: 6px 0; }}
.slack-context > span + span::before {{ content: " · "; }}
.slack-divider {{ border: 0; border-top: 1px solid #e1e1e1; margin: 10px 0; }}
.slack-actions {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; }}
.slack-button {{ display: inline-block; font: inherit; font-size: 13px; font-weight: 700; color: #1d1c1d;
  background: #fff; border: 1px solid rgba(29,28,29,.3); border-radius: 4px; padding: 3px 12px;
  cursor: pointer; text-decoration: none; line-height: 20px; }}
.slack-button:hover {{ background: #f8f8f8; box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
.slack-button.primary {{ color: #fff; background: #007a5a; border-color: #007a5a; }}
.slack-button.danger {{ color: #e01e5a; border-color: #e01e5a; }}
.slack-menu {{ font: inherit; font-size: 13px; color: #1d1c1d; background: #fff; border: 1px solid rgba(29,28,29,.3);
  border-radius: 4px; padding: 3px 8px; line-height: 20px; cursor: pointer; }}
.slack-input label {{ font-weight: 700; color: #1d1c1d; }}
.slack-edited {{ color: #8d8d8d; font-size: 12px; }}
.slack-mention {{ color: #1264a3; background: rgba(29,155,209,.1); border-radius: 3px; padding: 0 2px; }}
.slack-broadcast {{ color: #1d1c1d; background: rgba(242,199,68,.4); }}
.slack-emoji {{ font-family: {EMOJI_FONTS}; font-style: normal; font-weight: normal; }}
.slack-message blockquote {{ border-left: 4px solid #ddd; margin: 4px 0; padding-left: 10px; }}
.slack-message pre {{ background: #f8f8f8; border: 1px solid #e1e1e1; border-radius: 4px; padding: 8px;
  white-space: pre-wrap; font-size: 12px; }}
.slack-message code {{ background: #f3f3f3; border: 1px solid #e1e1e1; border-radius: 3px; padding: 0 3px;
  color: #e01e5a; font-size: 12px; }}
.slack-message a {{ color: #1264a3; }}
"""
