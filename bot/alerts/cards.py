"""Lead cards: the Block Kit message posted for every WhatConverts lead.

Builders here are pure (STYLE.md rule 5): they take a `Lead` and plain data and return
`{"text": …, "blocks": […]}`. Every piece of lead text is untrusted (web forms are filled in by
strangers), so it is cleaned, passed through `escape_mrkdwn` and then cut to Block Kit's limits with
`truncate`; links are only built from URLs `safe_url` accepts.

Who has the lead ("I'll take it") comes in as plain data (`CardClaim`), never looked up here: the
card says who claimed it and how long after it arrived, and its buttons follow (take it, or
release it and hand it over).

Why one module: every block of a card (fields, excerpt, notes, claim, buttons, the spam and sample
variants) shares one set of cleaning, escaping and Block Kit limit rules, and is read together
when one of them changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot import ids
from bot.formats import DEFAULT, Locale, elapsed, phone
from bot.formats import money as _money
from bot.slack.blocks import cut
from bot.slack.escape import escape_mrkdwn, is_user_id, mention, safe_url
from bot.whatconverts.leads import EARLIEST, LATEST, MAX_CALL_SECONDS, Lead

TYPE_LABELS: dict[str, tuple[str, str]] = {
    "phone_call": ("📞", "Phone call"),
    "web_form": ("📝", "Web form"),
    "chat": ("💬", "Chat"),
    "text_message": ("📱", "Text message"),
    "email": ("📧", "Email"),
    "transaction": ("💳", "Transaction"),
    "appointment": ("📅", "Appointment"),
    "event": ("🎯", "Event"),
    "other": ("📌", "Lead"),
}

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks), in characters.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000

EXCERPT_CHARS = 600  # enough to judge a lead at a glance; the rest is one click away in WhatConverts
NAME_CHARS = 100  # a "name" longer than this is junk or an attack, not a name
LINK_URL_CHARS = 1000  # longer URLs are dropped rather than cut, a cut URL is a broken link

# Control characters, lone surrogates and bidi overrides/isolates: invisible in Slack, or (U+202E)
# able to make "evil" display as "live". Newlines and tabs survive in multi-line text only.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# A Slack user id: the only thing a card may mention (`+notify`), never `<!channel>` or `<!here>`.


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut, never inside an entity or a link."""
    return text if len(text) <= limit else cut(text, limit)


def _clean(value: object, *, multiline: bool = False) -> str:
    """Lead text without invisible characters; single-line unless asked, '' for anything else."""
    if not isinstance(value, str):
        return ""
    value = _INVISIBLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if multiline:
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in value.split("\n")))
        return value.strip()
    return " ".join(value.split())


def _md(value: object, limit: int = MAX_FIELD_TEXT, *, multiline: bool = False) -> str:
    """Untrusted lead text made safe for mrkdwn: cleaned, escaped, then cut (in that order)."""
    return truncate(escape_mrkdwn(_clean(value, multiline=multiline)), limit)


def _mrkdwn(text: str) -> dict:
    # verbatim: Slack then doesn't auto-link "#channel", bare URLs or "@here" typed into a form;
    # our own <url|label> and <!date^…> are still parsed.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str, limit: int) -> dict:
    # plain_text is never parsed for mentions or links, so it is only cleaned and cut, not escaped.
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def money(value: Decimal, locale: Locale = DEFAULT) -> str:
    """Decimal('1200') → '$1,200.00' (or '€1,200.00' for a connection in EUR)."""
    return _money(value, locale.currency)


def duration(seconds: int) -> str:
    """192 → '3m 12s', 13 → '13s', 3725 → '1h 2m 5s'; '' for a negative or absurd count."""
    if not 0 <= seconds < MAX_CALL_SECONDS:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs or not seconds else ""]
    return " ".join(p for p in parts if p)


def _words(value: str | None) -> str:
    """Our snake_case values back to words: 'not_set' → 'Not set'."""
    return value.replace("_", " ").capitalize() if value else ""


def _join(parts: Sequence[str], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def _who(lead: Lead, locale: Locale) -> str:
    """Who the lead is from, as clean plain text ('' when nobody is named)."""
    if name := _clean(lead.contact_name):
        return truncate(name, NAME_CHARS)
    if number := _clean(lead.contact_phone):
        return truncate(phone(number, locale.country).text, NAME_CHARS)
    if email := _clean(lead.contact_email):
        return truncate(email, NAME_CHARS)
    return "Unknown caller" if lead.lead_type == "phone_call" else ""


def _phone(lead: Lead, locale: Locale) -> str:
    """The lead's phone number as mrkdwn: a `tel:` link when it is a real number, else the text escaped."""
    number = phone(_clean(lead.contact_phone), locale.country)
    if number.e164 is None:
        return _md(number.text, NAME_CHARS)
    return f"<tel:{number.e164}|{number.text}>"  # both checked by `phone`: digits and separators only


def _label(lead: Lead) -> tuple[str, str]:
    return TYPE_LABELS.get(lead.lead_type, TYPE_LABELS["other"])


def _values(lead: Lead, locale: Locale) -> list[str]:
    return [
        f"Quote {money(lead.quote_value, locale)}" if lead.quote_value is not None else "",
        f"Sales {money(lead.sales_value, locale)}" if lead.sales_value is not None else "",
    ]


def _quotable(value: str | None) -> str:
    if value in (None, "not_set"):
        return ""
    return {"yes": "Quotable", "no": "Not quotable"}.get(value, f"Quotable: {_md(_words(value), NAME_CHARS).lower()}")


def _date(moment: datetime | None) -> str:
    if moment is None or moment.tzinfo is None or not EARLIEST <= moment < LATEST:
        return ""  # year 1 or 9999 is junk, not a date to show
    # Slack shows the reader's own time zone; the text after | is for clients that can't.
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _context(lead: Lead) -> dict:
    line = _join(
        [
            f"Lead #{lead.lead_id}",
            _date(lead.date_created),
            "Duplicate" if lead.duplicate else "",
            "" if lead.is_complete else ":hourglass_flowing_sand: In progress",
        ]
    )
    return {"type": "context", "elements": [_mrkdwn(truncate(line, MAX_CONTEXT_TEXT))]}


def _field(label: str, value: str) -> dict | None:
    return _mrkdwn(truncate(f"*{label}*\n{value}", MAX_FIELD_TEXT)) if value else None


def _fields(lead: Lead, locale: Locale) -> list[dict]:
    account = lead.account if lead.profile == lead.account else _join([lead.account or "", lead.profile or ""], " / ")
    call = ""
    if lead.lead_type == "phone_call":
        seconds = lead.call_duration_seconds
        length = duration(seconds) if seconds is not None else ""
        statuses = dict.fromkeys(s for s in (_clean(lead.call_status), _clean(lead.answer_status)) if s)
        call = _join([length, *(_md(s, NAME_CHARS) for s in statuses)])
    fields = [
        _field("Contact", _md(lead.contact_name, NAME_CHARS)),
        _field("Phone", _phone(lead, locale)),
        _field("Email", _md(lead.contact_email, NAME_CHARS * 3)),
        _field("Company", _md(lead.contact_company)),
        _field("Source", _join([_md(v, 300) for v in (lead.source, lead.medium, lead.campaign, lead.keyword)])),
        _field("Account", _md(account)),
        _field("Status", _md(_words(lead.status))),
        _field("Value", _join([_quotable(lead.quotable), *_values(lead, locale)])),
        _field("Call", call),
        _field("Location", _join([_md(v, 300) for v in (lead.city, lead.region, lead.country)], ", ")),
        _field("Form", _md(lead.form_name) if lead.lead_type != "phone_call" else ""),
    ]
    # Calls and forms never both apply, so at most 10 fields; the chunking is a guard, not a layout.
    present = [f for f in fields if f]
    return [{"type": "section", "fields": present[i : i + MAX_FIELDS]} for i in range(0, len(present), MAX_FIELDS)]


def _excerpt(lead: Lead) -> dict | None:
    """What the lead said: the message as a quote, then WhatConverts' summary and notes."""
    quoted = ""
    if message := _md(lead.message, EXCERPT_CHARS, multiline=True):
        quoted = "\n".join(f"> {line}" if line else ">" for line in message.split("\n"))
    summary = _md(lead.summary, EXCERPT_CHARS, multiline=True)
    notes = _md(lead.notes, EXCERPT_CHARS, multiline=True)
    text = "\n".join(
        p for p in (quoted, f"*Summary:* {summary}" if summary else "", f"*Notes:* {notes}" if notes else "") if p
    )
    return {"type": "section", "text": _mrkdwn(truncate(text, MAX_SECTION_TEXT))} if text else None


def _link(url: str | None, label: str) -> str:
    url = safe_url(url)
    if url is None or len(url) > LINK_URL_CHARS:
        return ""
    # safe_url has already refused | < > and spaces; & still needs its entity inside a link.
    return f"<{escape_mrkdwn(url)}|{label}>"


def _links(lead: Lead) -> dict | None:
    recording = _link(lead.recording_url, "Play recording") if lead.lead_type == "phone_call" else ""
    landing = _link(lead.landing_url, "Landing page")
    text = _join([f":arrow_forward: {recording}" if recording else "", f":link: {landing}" if landing else ""])
    return {"type": "section", "text": _mrkdwn(text)} if text else None


def _notes(notes: Sequence[str]) -> dict | None:
    if not notes:
        return None
    kept = list(notes)
    if len(kept) > MAX_CONTEXT_ELEMENTS:
        # The latest notes matter most (who marked it last); say how many earlier ones were folded.
        earlier = len(kept) - (MAX_CONTEXT_ELEMENTS - 1)
        kept = [f"_…{earlier} earlier_", *kept[-(MAX_CONTEXT_ELEMENTS - 1) :]]
    return {"type": "context", "elements": [_mrkdwn(truncate(n, MAX_CONTEXT_TEXT)) for n in kept]}


@dataclass(frozen=True)
class CardClaim:
    """Who has the lead, as its card shows it: `holder` now (None once released), who claimed it
    first, and how long after its first card arrived that was."""

    holder: str | None
    first_by: str
    taken_after: timedelta


CLAIM_LABEL = "I'll take it"
RELEASE_LABEL = "Release"
HAND_OVER_LABEL = "Hand over to…"


def claim_line(claim: CardClaim) -> str:
    """'Claimed by <@U2> · 3 min after it arrived' (and who was first, once it changed hands)."""
    assert claim.holder is not None
    after = f"{elapsed(claim.taken_after)} after it arrived"
    if claim.holder == claim.first_by:
        return f":raising_hand: Claimed by {mention(claim.holder)} · {after}"
    return f":raising_hand: Claimed by {mention(claim.holder)} · first claimed by {mention(claim.first_by)} {after}"


def _claimed(claim: CardClaim | None) -> dict | None:
    if claim is None or claim.holder is None:
        return None
    return {"type": "context", "elements": [_mrkdwn(truncate(claim_line(claim), MAX_CONTEXT_TEXT))]}


def _button(label: str, action_id: str, lead: Lead, *, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "text": _plain(label, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": str(lead.lead_id),
    }
    if style:
        button["style"] = style
    return button


def _claim_controls(lead: Lead, claim: CardClaim | None) -> list[dict]:
    if claim is None or claim.holder is None:
        return [_button(CLAIM_LABEL, ids.ACTION_LEAD_CLAIM, lead, style="primary")]
    hand_over = {
        "type": "users_select",
        "action_id": ids.ACTION_LEAD_HAND_OVER,
        "placeholder": _plain(HAND_OVER_LABEL, MAX_BUTTON_TEXT),
    }
    return [_button(RELEASE_LABEL, ids.ACTION_LEAD_RELEASE, lead), hand_over]


def _actions(lead: Lead, *, write: bool, claims: bool, claim: CardClaim | None) -> dict | None:
    elements = _claim_controls(lead, claim) if claims else []
    if write:
        # Only what the API can edit (platform truth W1); spam is marked in WhatConverts itself.
        elements += [
            _button("Quotable", ids.ACTION_LEAD_QUOTABLE, lead),
            _button("Not quotable", ids.ACTION_LEAD_NOT_QUOTABLE, lead),
            _button("Add value", ids.ACTION_LEAD_VALUE, lead),
        ]
    return {"type": "actions", "block_id": ids.BLOCK_LEAD_ACTIONS, "elements": elements} if elements else None


def _origin(lead: Lead) -> str:
    """'google / cpc', cleaned plain text."""
    return _join([_clean(lead.source)[:NAME_CHARS], _clean(lead.medium)[:NAME_CHARS]], " / ")


def _fallback(lead: Lead, locale: Locale) -> str:
    """The notification text: 'New phone call from Jane Doe (google / cpc)', escaped (Slack renders it)."""
    _, label = _label(lead)
    who = _who(lead, locale)
    origin = _origin(lead)
    text = _join([f"New {label.lower()}", f"from {who}" if who else "", f"({origin})" if origin else ""], " ")
    return truncate(escape_mrkdwn(text), MAX_FALLBACK_TEXT)


def _compact_line(lead: Lead, locale: Locale) -> str:
    emoji, label = _label(lead)
    who = escape_mrkdwn(_who(lead, locale))
    origin = _join([_md(lead.source, NAME_CHARS), _md(lead.medium, NAME_CHARS)], " / ")
    line = _join([f"{emoji} *{who}*" if who else emoji, label, origin, *_values(lead, locale)])
    return truncate(line, MAX_SECTION_TEXT)


def _spam_card(lead: Lead) -> dict:
    """A lead WhatConverts calls spam, folded to one line: its type and source, nobody's details, no buttons.

    Only WhatConverts marks spam (W1), so that is what the card says; when WhatConverts un-marks
    it, the next edit brings the full card back.
    """
    emoji, label = _label(lead)
    origin = _origin(lead)
    when = _date(lead.last_updated or lead.date_created)
    marked = ":no_entry: Marked as spam in WhatConverts"
    line = _join([marked, when, f"{emoji} {label}", escape_mrkdwn(origin), f"Lead #{lead.lead_id}"])
    text = _join([f"Spam {label.lower()}", f"({origin})" if origin else ""], " ")
    return {
        "text": truncate(escape_mrkdwn(text), MAX_FALLBACK_TEXT),
        "blocks": [{"type": "context", "elements": [_mrkdwn(truncate(line, MAX_CONTEXT_TEXT))]}],
    }


def _for(notify: Sequence[str]) -> tuple[dict | None, str]:
    """The card's "For @ada, @bea" line and the same for its notification text (mobile pushes read
    only `text`): real mentions, so Slack notifies them, of user ids only."""
    people = ", ".join(f"<@{user}>" for user in dict.fromkeys(notify) if is_user_id(user))
    if not people:
        return None, ""
    return {"type": "context", "elements": [_mrkdwn(f":bust_in_silhouette: For {people}")]}, f" · for {people}"


def lead_card(
    lead: Lead,
    *,
    compact: bool = False,
    actions: bool = False,
    notes: Sequence[str] = (),
    locale: Locale = DEFAULT,
    notify: Sequence[str] = (),
    claims: bool = False,
    claim: CardClaim | None = None,
) -> dict:
    """The message for one lead; `notes` are already-safe mrkdwn lines of our own (e.g. who marked it).

    `locale` is the connection's currency and country; `notify` the user ids the card is for (it
    mentions them, `+notify`). `actions` adds the buttons that write to WhatConverts; `claims` the
    claim controls ("I'll take it", or Release and a hand-over picker while `claim` has a holder);
    `claim` adds the line saying who has it. A spam lead gets the folded spam card, which mentions
    nobody and has no buttons.
    """
    if lead.spam:
        return _spam_card(lead)
    for_line, also = _for(notify)
    if compact:
        body = [{"type": "section", "text": _mrkdwn(_compact_line(lead, locale))}]
    else:
        emoji, label = _label(lead)
        who = _who(lead, locale)
        title = f"{emoji} {label} from {who}" if who else f"{emoji} New {label.lower()}"
        body = [
            {"type": "header", "text": _plain(title, MAX_HEADER_TEXT)},
            *_fields(lead, locale),
            *(b for b in (_excerpt(lead), _links(lead)) if b),
        ]
    controls = _actions(lead, write=actions, claims=claims, claim=claim)
    extra = (b for b in (_notes(notes), _claimed(claim), controls) if b)
    blocks = [body[0], *(b for b in (for_line,) if b), *body[1:], _context(lead), *extra]
    text = _fallback(lead, locale)
    if also:
        text = truncate(text, MAX_FALLBACK_TEXT - len(also)) + also
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


SAMPLE_NOTICE = "🧪 *Sample card — not a real lead.* New leads will look like this."


def sample_card(*, compact: bool = False, locale: Locale = DEFAULT, now: datetime | None = None) -> dict:
    """The sample lead's card for `/whatconverts test` and Home's "Send test card": it says it is a
    sample, first thing and in the notification, and has no buttons (there is nothing to write to)."""
    card = lead_card(sample_lead(now), compact=compact, locale=locale)
    notice = {"type": "context", "elements": [_mrkdwn(SAMPLE_NOTICE)]}
    return {"text": f"Sample: {card['text']}", "blocks": [notice, *card["blocks"]]}


def sample_lead(now: datetime | None = None) -> Lead:
    """A made-up phone call for `/whatconverts test`; not a real lead, so don't offer its buttons."""
    created = (now or datetime.fromisoformat("2025-05-28T19:19:51+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Lead.from_api(
        {
            "lead_id": 100000001,
            "lead_type": "Phone Call",
            "lead_status": "Unique",
            "lead_state": "Completed",
            "date_created": created,
            "last_updated": created,
            "account_id": 1,
            "account": "Sample Account",
            "profile_id": 1,
            "profile": "Sample Profile",
            "quotable": "Yes",
            "quote_value": "1200",
            "sales_value": None,
            "lead_source": "google",
            "lead_medium": "cpc",
            "lead_campaign": "Spring Promo",
            "lead_keyword": "emergency plumber",
            "contact_name": "Jane Doe",
            "contact_company_name": "Doe Plumbing",
            "contact_email_address": "jane.doe@example.com",
            "contact_phone_number": "+17045550101",
            "call_status": "Completed",
            "answer_status": "Answered",
            "call_duration_seconds": 192,
            "city": "Springfield",
            "state": "IL",
            "country": "US",
            "spam": False,
            "duplicate": False,
            "additional_fields": [],
            "lead_analysis": [],
        }
    )
