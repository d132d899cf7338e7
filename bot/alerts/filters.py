"""Subscription filters: the `subscribe` grammar parsed into `Filters`, rendered back, and matched.

`/whatconverts subscribe [#channel] [filters…]`, for example
`subscribe #sales calls forms +source:google -medium:organic +status:unique profile:"Main Site"`.
The grammar follows GitHub's Slack app but fixes what its users complain about (reference/peers.md):
any number of filters at once, include *and* exclude, and naming one lead type means only that type.

- bare words are lead types (`calls`, `forms`, … `all`); `-calls` drops a type;
- `[+|-]field:v1,v2` includes or excludes values of source, medium, campaign, keyword, content,
  status, quotable; `[+|-]profile:X` / `account:X` take one name or id each (names may hold commas);
- `connection:LABEL`, flags `+spam +duplicates +compact +thread`, `+digest:HH:MM`,
  `+quiet:HH:MM-HH:MM`, `+urgent:<lead filter>`, `+notify:@ada,@bea` (people its cards mention);
- `+sla:15m +escalate:@ada,@sales`: a card nobody has taken after 15 minutes gets a thread reply
  mentioning them (bot.alerts.escalations); one needs the other;
- where the cards go, instead of a filter: `#channel`, or `@me` (the subscriber's direct messages).

Values of one field OR together, fields AND together, and excludes always win. Everything here
is pure: tokens in (from `bot.slack.payloads.tokenize`), typed values out; `matches` reads a `Lead`.

Why one module: parsing, rendering, JSON and matching are one grammar read four ways. They share
the word lists and the value checks, and a change to one must change the others (tests/alerts/test_filters.py
round-trips every form through all of them).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from bot.errors import UsageError
from bot.slack.escape import escape_mrkdwn, is_user_id, unescape_mrkdwn
from bot.whatconverts.leads import LEAD_TYPES, Lead, snake

TYPE_WORDS: dict[str, str] = {
    "calls": "phone_call",
    "call": "phone_call",
    "forms": "web_form",
    "form": "web_form",
    "chats": "chat",
    "chat": "chat",
    "texts": "text_message",
    "text": "text_message",
    "sms": "text_message",
    "emails": "email",
    "email": "email",
    "transactions": "transaction",
    "transaction": "transaction",
    "appointments": "appointment",
    "appointment": "appointment",
    "events": "event",
    "event": "event",
    "other": "other",
}
# The first word for each type in TYPE_WORDS is the one `render` writes.
TYPE_WORD = {lead_type: word for word, lead_type in reversed(TYPE_WORDS.items())}
ATTRIBUTES = ("source", "medium", "campaign", "keyword", "content")
CHOICES = {"status": ("unique", "repeat"), "quotable": ("yes", "no", "pending", "not_set")}
SCOPES = ("account", "profile")
FIELDS = (*ATTRIBUTES, *CHOICES, *SCOPES)  # also the order `render` writes them in
FLAGS = {"spam": "show_spam", "duplicates": "show_duplicates", "compact": "compact", "thread": "thread"}
FLAG_ALIASES = {"duplicate": "duplicates"}
# Same rule as bot.connect.service.LABEL_RE (a test keeps them equal); importing that module would
# drag the HTTP and database layers into this pure one.
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
EXAMPLE = "#sales calls forms +source:google -medium:organic"

_ALL_TYPES = frozenset(LEAD_TYPES)
_QUOTES = '"“”'  # what tokenize treats as quotes: a value holding one could never be typed back
_CHANNEL_ID_RE = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^<>|]*))?>")
_CHANNEL_NAME_RE = re.compile(r"#([^\s<>|#&,:]{1,80})")
# Slack's markup in command text: links it made (with should_escape on it auto-links `google.com`)
# and mentions. Any other `<` or `>` is the user's own character. No commas inside, so joining a
# comma list can never make markup out of two values.
_LINK_RE = re.compile(r"<([a-z][a-z0-9+.-]*:[^<>|\s,]*)(?:\|([^<>,]*))?>", re.IGNORECASE)
_MENTION_RE = re.compile(r"<[#@!][^<>,]*>")
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
# A person as Slack sends a picked @-mention in command text (`<@U123|ada>`).
# Only people: `<!channel>`, `<!here>` and `<!subteam^…>` never match, so no card can ping a crowd.
_USER_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^<>|]*)?>")
MAX_NOTIFY = 10
# +sla: hours and/or minutes (`5m`, `90m`, `2h`, `1h30m`), within these bounds.
_SLA_RE = re.compile(r"(?:(\d{1,4})h)?(?:(\d{1,6})m)?", re.IGNORECASE)
SLA_MIN, SLA_MAX = timedelta(minutes=1), timedelta(days=7)
MAX_ESCALATE = 10
# +escalate: mentions as Slack escapes them in command text, a person or a user group; the label
# after `|` is the name at the time and is dropped (ids are what stay true).
_TARGET_RE = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|([^<>]*))?>|<!subteam\^(S[A-Z0-9]{1,20})(?:\|([^<>]*))?>")
_TARGET_ID_RE = re.compile(r"[UWS][A-Z0-9]{1,20}")
# A mention's label kept to show it (`@ada` rather than an id): Slack's user and group handles.
_TARGET_NAME_RE = re.compile(r"[\w.-]{1,80}")


@dataclass(frozen=True)
class ChannelRef:
    """Where `subscribe` sends cards: a channel (an id when Slack resolved the mention, else just a
    name), or with `user` a person's direct messages ("me" for `@me`, else the id of a mention)."""

    id: str | None
    name: str | None
    user: str | None = None


@dataclass(frozen=True)
class Filters:
    """Which leads a subscription posts, and how. The defaults mean every lead, spam and duplicates hidden."""

    lead_types: frozenset[str] = frozenset()  # empty: every type
    include: frozenset[tuple[str, str]] = frozenset()  # (field, value); values of one field OR together
    exclude: frozenset[tuple[str, str]] = frozenset()  # (field, value); any hit drops the lead
    connection: str | None = None  # routing, not matching: the caller picks leads of this connection
    show_spam: bool = False
    show_duplicates: bool = False
    compact: bool = False
    thread: bool = False
    digest: time | None = None
    quiet: tuple[time, time] | None = None  # may wrap midnight
    urgent: Filters | None = None  # leads matching it bypass quiet hours; holds only types/include/exclude
    notify: frozenset[str] = frozenset()  # user ids the cards mention ("For @ada"): routing by rule
    sla: timedelta | None = None  # a card nobody has taken this long after it posted is escalated
    escalate: frozenset[str] = frozenset()  # told then: user ids (U…, W…) and user group ids (S…)
    # Their handles when they were named (`((id, "ada"), …)`), to show them: not part of what the filters mean.
    escalate_names: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Every Filters must render to text that parses back to it, so from_json and direct
        # construction get the same checks the parser applies (all but the invisible-character
        # rule, which came later: filters stored before it must still load, see `_values`).
        for name in ("lead_types", "include", "exclude"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if not self.lead_types <= _ALL_TYPES:
            raise ValueError(f"unknown lead types {sorted(self.lead_types - _ALL_TYPES)}")
        if self.lead_types == _ALL_TYPES:
            object.__setattr__(self, "lead_types", frozenset())  # one spelling of "every type"
        for pair in self.include | self.exclude:
            if not (isinstance(pair, tuple) and len(pair) == 2 and pair[0] in FIELDS and isinstance(pair[1], str)):
                raise ValueError(f"bad filter {pair!r}")
            problem = _value_problem(*pair)
            if problem:
                raise ValueError(f"bad filter {pair!r}: {problem}")
        if self.connection is not None and not LABEL_RE.fullmatch(self.connection):
            raise ValueError(f"bad connection label {self.connection!r}")
        if self.digest is not None and not _plain_time(self.digest):
            raise ValueError("digest must be a naive HH:MM time")
        if self.quiet is not None:
            if not (isinstance(self.quiet, tuple) and len(self.quiet) == 2 and all(map(_plain_time, self.quiet))):
                raise ValueError("quiet must be two naive HH:MM times")
            if self.quiet[0] == self.quiet[1]:
                raise ValueError("quiet hours must not be empty")
        if self.urgent is not None and (
            not isinstance(self.urgent, Filters) or self.urgent != _lead_filter(self.urgent)
        ):
            raise ValueError("urgent takes only lead types and field filters")
        object.__setattr__(self, "notify", frozenset(self.notify))
        if not all(isinstance(u, str) and is_user_id(u) for u in self.notify):
            raise ValueError("notify takes Slack user ids")
        if len(self.notify) > MAX_NOTIFY:
            raise ValueError(f"notify takes at most {MAX_NOTIFY} people")
        object.__setattr__(self, "escalate", frozenset(self.escalate))
        names = dict(self.escalate_names)
        object.__setattr__(
            self, "escalate_names", tuple(sorted((t, n) for t, n in names.items() if t in self.escalate))
        )
        if not all(isinstance(n, str) and _TARGET_NAME_RE.fullmatch(n) for _, n in self.escalate_names):
            raise ValueError("escalate names are Slack handles")
        if problem := _escalation_problem(self.sla, self.escalate, self.digest):
            raise ValueError(problem)


class _Invalid(Exception):
    """Why one token is wrong; `parse_subscription` names the token around it."""

    def __init__(self, reason: str, example: str = EXAMPLE, token: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.example = example
        self.token = token  # set only where the bad token isn't the one being read


@dataclass
class _Draft:
    """Filters under construction, with what's needed to spot conflicts between tokens."""

    types: set[str] = field(default_factory=set)
    every: bool = False
    dropped: set[str] = field(default_factory=set)
    last_drop: str | None = None
    include: set[tuple[str, str]] = field(default_factory=set)
    exclude: set[tuple[str, str]] = field(default_factory=set)
    settings: dict[str, Any] = field(default_factory=dict)
    urgent: _Draft | None = None
    urgent_token: str | None = None
    escalation_token: str | None = None  # the last +sla or +escalate, named when the pair is incomplete


def parse_subscription(args: Sequence[str], *, command: str = "subscribe") -> tuple[ChannelRef | None, Filters]:
    """The channel (if named) and filters from the tokens after `subscribe`; UsageError names a bad token.

    `leads` and `stats` pick leads with the same words: with their `command`, errors name that
    command and its example instead of a subscription.
    """
    channel: ChannelRef | None = None
    draft = _Draft()
    for token in args:
        try:
            if token.startswith(("#", "<#")) or person_of(token) is not None:
                if channel is not None:
                    raise _Invalid("a subscription posts to one place: a channel, or you (`@me`)", "#sales calls")
                channel = _channel(token)
            else:
                _read(token, draft, nested=False)
        except _Invalid as bad:
            raise _usage(token, bad, command) from None
    try:
        return channel, _build(draft)
    except _Invalid as bad:
        raise _usage(bad.token, bad, command) from None


def _usage(token: str, bad: _Invalid, command: str) -> UsageError:
    # Slack sent the token HTML-escaped: show what the user typed, on one line, then escape it
    # again so a token like `<!channel>` can't ping anyone. Invisible characters are shown as
    # U+FFFD: a text-direction override would otherwise reorder the rest of the reply.
    shown = visible(" ".join(unescape_mrkdwn(token).split()))
    if len(shown) > 40:
        shown = shown[:39] + "…"
    shown = escape_mrkdwn(shown).replace("`", "'") or '""'  # a backtick would end the code span early
    where, example = "a subscription", bad.example
    if command != "subscribe":
        # Lead queries answer where they are asked: an example there names no channel.
        where, example = f"`{command}`", " ".join(w for w in example.split() if not w.startswith("#"))
    return UsageError(
        f"I can't use `{shown}` in {where}: {bad.reason}. Example: `/whatconverts {command} {example}`",
        mrkdwn=True,  # the token is escaped above: escaping it again would show `&amp;lt;`
    )


def visible(text: str) -> str:
    """`text` with each invisible character replaced by U+FFFD, so echoing it can't reorder a reply."""
    return "".join("\ufffd" if _invisible(c) else c for c in text)


def _invisible(char: str) -> bool:
    # Cf holds the bidi marks, embeddings, overrides and isolates (U+200E/F, U+202A to E, U+2066 to 9)
    # and zero-width characters; Cc the control characters. The ordinary space is neither.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def person_of(token: str) -> str | None:
    """`@me` as "me", a picked @-mention as its user id; None for anything else."""
    if token.lower() == "@me":
        return "me"
    match = _USER_MENTION_RE.fullmatch(token)
    return match.group(1) if match else None


def _channel(token: str) -> ChannelRef:
    if person := person_of(token):
        return ChannelRef(id=None, name=None, user=person)
    if match := _CHANNEL_ID_RE.fullmatch(token):
        return ChannelRef(id=match.group(1), name=match.group(2) or None)
    if (match := _CHANNEL_NAME_RE.fullmatch(token)) and not any(map(_invisible, token)):
        return ChannelRef(id=None, name=match.group(1).lower())
    raise _Invalid("that isn't a channel name", "#sales calls")


def _read(token: str, draft: _Draft, *, nested: bool) -> None:
    """Apply one token (a type word, flag or `key:value`) to the draft."""
    sign, body = (token[0], token[1:]) if token[:1] in ("+", "-") else ("", token)
    key, colon, raw = body.partition(":")
    key = key.lower()
    key = FLAG_ALIASES.get(key, key)
    if key in _ESCALATION_KEYS:
        _read_escalation(token, key, sign, colon, raw, draft, nested=nested)
        return
    if not colon:
        if key == "all" and sign != "-":
            draft.every = True
        elif key in TYPE_WORDS:
            if sign == "-":
                draft.dropped.add(TYPE_WORDS[key])
                draft.last_drop = token
            else:
                draft.types.add(TYPE_WORDS[key])
        elif key in FLAGS and sign and not nested:
            _setting(draft, FLAGS[key], sign == "+")
        elif key in FLAGS and not nested:
            raise _Invalid(f"flags start with + (`+{key}`)", f"calls +{key}")
        elif key in (*FIELDS, "connection", "digest", "quiet", "urgent", "notify"):
            raise _Invalid(f"`{key}` needs a value after a colon", _FIELD_EXAMPLES.get(key, EXAMPLE))
        elif nested:
            raise _Invalid("`urgent` takes a lead type or a field filter", _FIELD_EXAMPLES["urgent"])
        else:
            raise _Invalid("it isn't a lead type, filter or channel", f"{EXAMPLE} +status:unique")
        return
    if key in FIELDS:
        target = draft.exclude if sign == "-" else draft.include
        target.update((key, value) for value in _values(key, raw))
        return
    if key in ("connection", "digest", "quiet", "urgent", "notify") and (sign == "-" or nested):
        where = "inside +urgent" if nested else "with -"
        raise _Invalid(f"`{key}` can't be used {where}", _FIELD_EXAMPLES[key])
    if key == "notify":
        _notify(raw, draft)
    elif key == "connection":
        label = _clean(raw).lower()
        if not LABEL_RE.fullmatch(label):
            raise _Invalid("a connection label is letters, digits, dot, dash or underscore", "connection:acme calls")
        _setting(draft, "connection", label)
    elif key == "digest":
        _setting(draft, "digest", _time(raw))
    elif key == "quiet":
        start, dash, end = raw.partition("-")
        window = (_time(start), _time(end)) if dash else None
        if window is None or window[0] == window[1]:
            raise _Invalid("quiet hours are a window like 22:00-07:00", _FIELD_EXAMPLES["quiet"])
        _setting(draft, "quiet", window)
    elif key == "urgent":
        if not raw:
            raise _Invalid("`urgent` needs a lead filter after the colon", _FIELD_EXAMPLES["urgent"])
        draft.urgent = draft.urgent or _Draft()
        draft.urgent_token = token
        _read(raw, draft.urgent, nested=True)
    elif key in TYPE_WORDS or key in FLAGS or key == "all":
        raise _Invalid(f"`{key}` takes no value", f"calls +{key}" if key in FLAGS else EXAMPLE)
    else:
        # The reason never quotes the unknown key: only the escaped token may echo user text.
        raise _Invalid(f"that field doesn't exist (fields: {', '.join(FIELDS)})", _FIELD_EXAMPLES["source"])


_FIELD_EXAMPLES = {
    **{name: f"+{name}:google,bing -{name}:facebook" for name in ATTRIBUTES},
    "status": "+status:unique",
    "quotable": "+quotable:yes,pending",
    "account": 'account:"Acme Corp"',
    "profile": 'profile:"Main Site" profile:12345',
    "connection": "connection:acme calls",
    "digest": "+digest:09:00",
    "quiet": "+quiet:22:00-07:00 +urgent:calls",
    "urgent": "+quiet:22:00-07:00 +urgent:source:google",
    "notify": "#sales calls +notify:@ada,@bea",
    "sla": "+sla:15m +escalate:@ada",
    "escalate": "+sla:15m +escalate:@ada,@sales-team",
}
_ESCALATION_KEYS = ("sla", "escalate")


def _read_escalation(token: str, key: str, sign: str, colon: str, raw: str, draft: _Draft, *, nested: bool) -> None:
    """`+sla:15m` or `+escalate:@ada,@sales-team` (mentions, as Slack escapes them)."""
    example = _FIELD_EXAMPLES[key]
    if sign == "-" or nested:
        raise _Invalid(f"`{key}` can't be used {'inside +urgent' if nested else 'with -'}", example)
    if not colon or not raw:
        raise _Invalid(f"`{key}` needs a value after a colon", example)
    draft.escalation_token = token
    if key == "sla":
        sla = _sla(raw)
        if draft.settings.get("sla", sla) != sla:
            raise _Invalid("it contradicts an earlier `+sla`", example)
        draft.settings["sla"] = sla
        return
    named = _targets(raw)
    targets = set(draft.settings.get("escalate", ())) | set(named)
    if len(targets) > MAX_ESCALATE:
        raise _Invalid(f"`+escalate` names at most {MAX_ESCALATE} people or groups", example)
    draft.settings["escalate"] = frozenset(targets)
    names = dict(draft.settings.get("escalate_names", ())) | {t: n for t, n in named.items() if n}
    draft.settings["escalate_names"] = tuple(names.items())


def _sla(raw: str) -> timedelta:
    match = _SLA_RE.fullmatch(raw.strip())
    if match is None or not any(match.groups()):
        raise _Invalid("an SLA is minutes or hours, like 5m, 90m, 2h or 1h30m", _FIELD_EXAMPLES["sla"])
    sla = timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))
    if not SLA_MIN <= sla <= SLA_MAX:
        raise _Invalid("an SLA is 1 minute to 7 days (168h)", _FIELD_EXAMPLES["sla"])
    return sla


def _targets(raw: str) -> dict[str, str | None]:
    """The people and user groups in `a,b,…` (id: handle, if Slack gave a usable one); a name Slack
    didn't turn into a mention is refused."""
    # Unescaped first: the Home form hands the kept grammar back HTML-escaped, as Slack would.
    text, found, at = unescape_mrkdwn(raw).strip(), {}, 0
    while True:
        match = _TARGET_RE.match(text, at)
        if match is None:
            if re.match(r"<!(channel|here|everyone)\b", text[at:]):
                raise _Invalid("`+escalate` takes people and user groups, never @channel, @here or @everyone",
                               _FIELD_EXAMPLES["escalate"])  # fmt: skip
            raise _Invalid(
                "`+escalate` takes people or user groups: pick each from Slack's autocomplete so it becomes "
                "a mention (several: separate them with commas)",
                _FIELD_EXAMPLES["escalate"],
            )
        label = (match.group(2) or match.group(4) or "").removeprefix("@")
        found[match.group(1) or match.group(3)] = label if _TARGET_NAME_RE.fullmatch(label) else None
        at = match.end()
        if at == len(text):
            return found
        if text[at] != ",":
            raise _Invalid("separate people and groups with commas", _FIELD_EXAMPLES["escalate"])
        at += 1


def _escalation_problem(sla: object, escalate: frozenset[str], digest: object) -> str | None:
    """Why `sla` and `escalate` don't make a valid pair (the reason a user is shown), or None."""
    if sla is None and not escalate:
        return None
    if sla is None:
        return "`+escalate` needs `+sla` (how long a lead may wait before they are told)"
    if not escalate:
        return "`+sla` needs `+escalate` (who is told when nobody has taken a lead)"
    if not isinstance(sla, timedelta) or sla % timedelta(minutes=1):
        return "an SLA is whole minutes"
    if not SLA_MIN <= sla <= SLA_MAX:
        return "an SLA is 1 minute to 7 days (168h)"
    if len(escalate) > MAX_ESCALATE:
        return f"`+escalate` names at most {MAX_ESCALATE} people or groups"
    if not all(isinstance(t, str) and _TARGET_ID_RE.fullmatch(t) for t in escalate):
        return "`+escalate` holds user and user group ids"
    if digest is not None:
        return "`+sla` is for cards, and a `+digest` subscription posts none"
    return None


def sla_text(sla: timedelta) -> str:
    """`+sla`'s canonical value: `5m`, `2h`, `1h30m`."""
    hours, minutes = divmod(int(sla.total_seconds()) // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def mention(target: str, name: str | None = None) -> str:
    """A stored `+escalate` id as Slack markup: `<@U…>` for a person, `<!subteam^S…>` for a user group
    (with its handle as the label, as Slack sends it, when `name` is given)."""
    if target.startswith("S"):
        return f"<!subteam^{target}|@{name}>" if name else f"<!subteam^{target}>"
    return f"<@{target}|{name}>" if name else f"<@{target}>"


def _notify(raw: str, draft: _Draft) -> None:
    """`+notify:@ada,@bea`: people picked from Slack's @-autocomplete (so Slack sent `<@U…|ada>`).

    The command's own escaping is undone first, so the Home form's kept text (escaped like typed
    text) reads back the same. Anything but a person is refused: a channel-wide ping or a name
    Slack didn't resolve.
    """
    people = []
    for part in unescape_mrkdwn(raw).split(","):
        match = _USER_MENTION_RE.fullmatch(part.strip())
        if match is None:
            raise _Invalid(
                "`notify` takes people picked from Slack's @-autocomplete, separated by commas",
                _FIELD_EXAMPLES["notify"],
            )
        people.append(match.group(1))
    notify = set(draft.settings.get("notify", ())) | set(people)
    if len(notify) > MAX_NOTIFY:
        raise _Invalid(f"`notify` takes at most {MAX_NOTIFY} people", _FIELD_EXAMPLES["notify"])
    draft.settings["notify"] = frozenset(notify)


def _setting(draft: _Draft, name: str, value: object) -> None:
    # The same setting twice is harmless; two different values are a mistake worth naming.
    if draft.settings.get(name, value) != value:
        raise _Invalid(f"it contradicts an earlier `{name.removeprefix('show_')}`")
    draft.settings[name] = value


def _values(key: str, raw: str) -> list[str]:
    """The cleaned values of one `key:…`; commas separate them except for account/profile names."""
    text = _clean(raw, strip=False)
    values = [text.strip()] if key in SCOPES else [part.strip() for part in text.split(",")]
    if key in CHOICES:
        values = [snake(v) or "" for v in values]
    for value in values:
        problem = _value_problem(key, value)
        if not problem and any(_invisible(c) for c in value):
            # Checked here, not in `_value_problem`: filters stored before this rule must still load.
            problem = "a value contains an invisible formatting character (such as a text-direction mark)"
        if problem:
            raise _Invalid(problem, _FIELD_EXAMPLES[key])
    return values


def _clean(raw: str, *, strip: bool = True) -> str:
    """A value as the user typed it: Slack's link markup unwrapped and its HTML escaping undone."""

    if _MENTION_RE.search(raw):
        raise _Invalid("a mention can't be a value", _FIELD_EXAMPLES["source"])
    text = unescape_mrkdwn(_LINK_RE.sub(lambda m: m.group(2) or m.group(1), raw))
    return text.strip() if strip else text


def _value_problem(key: str, value: str) -> str | None:
    if not value:
        return "a value is empty"
    if value != value.strip():
        return "a value has spaces around it"
    if any(c in _QUOTES or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value):
        return "a value contains a quote, line break or control character"
    if _ENTITY_RE.search(value) or _LINK_RE.search(value) or _MENTION_RE.search(value):
        # Parsing would turn these into something else, so `render` could not give them back.
        return "a value looks like Slack markup (an HTML entity, link or mention)"
    if key in CHOICES and value not in CHOICES[key]:
        return f"{key} is one of {', '.join(CHOICES[key])}"
    if key not in SCOPES and "," in value:
        return "commas separate values"
    return None


def _time(raw: str) -> time:
    match = _TIME_RE.fullmatch(raw.strip())
    if not match:
        raise _Invalid("times are 24-hour HH:MM, 00:00 to 23:59", _FIELD_EXAMPLES["digest"])
    return time(int(match.group(1)), int(match.group(2)))


def _plain_time(value: object) -> bool:
    return isinstance(value, time) and value.tzinfo is None and value.second == 0 and value.microsecond == 0


def _build(draft: _Draft, token: str | None = None) -> Filters:
    types = set(LEAD_TYPES) if draft.every or not draft.types else set(draft.types)
    types -= draft.dropped
    if not types:
        raise _Invalid("no lead type is left", EXAMPLE, token or draft.last_drop or "-")
    urgent = None
    if draft.urgent is not None:
        urgent = _build(draft.urgent, draft.urgent_token)
    settings = draft.settings
    incomplete = _escalation_problem(settings.get("sla"), settings.get("escalate", frozenset()), settings.get("digest"))
    if incomplete:
        raise _Invalid(incomplete, _FIELD_EXAMPLES["sla"], draft.escalation_token or "+sla")
    return Filters(
        lead_types=frozenset(types),
        include=frozenset(draft.include),
        exclude=frozenset(draft.exclude),
        urgent=urgent,
        **draft.settings,
    )


def _lead_filter(filters: Filters) -> Filters:
    """Only the parts that select leads: what `+urgent:` may hold."""
    return Filters(lead_types=filters.lead_types, include=filters.include, exclude=filters.exclude)


def render(filters: Filters, *, shown: bool = False) -> str:
    """Canonical text in the subscribe grammar, as a user would type it; parses back to `filters`.

    Plain text holding user-typed values: pass it through `escape_mrkdwn` before showing it.
    `shown`: for people to read, `+escalate` names people and groups by handle (`@ada`) rather
    than in Slack's markup, which an escaped code span would show as ids (not for parsing back).
    """
    return " ".join(_tokens(filters, shown=shown)) or "all"


def _tokens(filters: Filters, *, shown: bool = False) -> list[str]:
    words = [TYPE_WORD[t] for t in LEAD_TYPES if t in filters.lead_types]
    for key in FIELDS:
        for sign, pairs in (("+", filters.include), ("-", filters.exclude)):
            values = _sorted(value for name, value in pairs if name == key)
            if not values:
                continue
            prefix = f"{'' if sign == '+' and key in SCOPES else sign}{key}:"
            if key in SCOPES:
                words += [prefix + _quote(value) for value in values]
            else:
                words.append(prefix + ",".join(map(_quote, values)))
    if filters.connection:
        words.append(f"connection:{filters.connection}")
    words += [f"+{flag}" for flag, attr in FLAGS.items() if getattr(filters, attr)]
    if filters.digest:
        words.append(f"+digest:{filters.digest:%H:%M}")
    if filters.quiet:
        words.append(f"+quiet:{filters.quiet[0]:%H:%M}-{filters.quiet[1]:%H:%M}")
    if filters.urgent is not None:
        words += [f"+urgent:{word}" for word in _tokens(filters.urgent) or ["all"]]
    if filters.notify:
        words.append("+notify:" + ",".join(f"<@{user}>" for user in sorted(filters.notify)))
    if filters.sla is not None:
        names = dict(filters.escalate_names)
        targets = [
            f"@{names[t]}" if shown and t in names else mention(t, names.get(t)) for t in sorted(filters.escalate)
        ]
        words += [f"+sla:{sla_text(filters.sla)}", "+escalate:" + ",".join(targets)]
    return words


def _sorted(values: Iterable[str]) -> list[str]:
    return sorted(values, key=lambda v: (v.casefold(), v))


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


def matches(filters: Filters, lead: Lead) -> bool:
    """Whether a subscription with these filters posts this lead (connection routing is the caller's)."""
    if (lead.spam and not filters.show_spam) or (lead.duplicate and not filters.show_duplicates):
        return False
    if filters.lead_types and lead.lead_type not in filters.lead_types:
        return False
    if any(_hit(key, value, lead) for key, value in filters.exclude):
        return False
    wanted: dict[str, list[str]] = {}
    for key, value in filters.include:
        wanted.setdefault(key, []).append(value)
    return all(any(_hit(key, value, lead) for value in values) for key, values in wanted.items())


def _hit(key: str, value: str, lead: Lead) -> bool:
    if key in SCOPES:
        name, ident = (lead.profile, lead.profile_id) if key == "profile" else (lead.account, lead.account_id)
        if value.isascii() and value.isdigit() and ident is not None and int(value) == ident:
            return True
        actual = name
    else:
        actual = getattr(lead, key)  # the Lead attribute of each field has the field's name
    # The API gives exact strings, but people type "Google" for "google".
    return actual is not None and actual.strip().casefold() == value.casefold()


def to_json(filters: Filters) -> str:
    """Stable JSON for storage (sorted keys and values); `from_json` reads it back."""
    return json.dumps({"v": 1, **_to_obj(filters)}, sort_keys=True, separators=(",", ":"))


def _to_obj(filters: Filters) -> dict[str, Any]:
    def grouped(pairs: frozenset[tuple[str, str]]) -> dict[str, list[str]]:
        return {key: _sorted(v for k, v in pairs if k == key) for key in FIELDS if any(k == key for k, _ in pairs)}

    return {
        "types": [t for t in LEAD_TYPES if t in filters.lead_types],
        "include": grouped(filters.include),
        "exclude": grouped(filters.exclude),
        "connection": filters.connection,
        **{attr: getattr(filters, attr) for attr in FLAGS.values()},
        "digest": f"{filters.digest:%H:%M}" if filters.digest else None,
        "quiet": [f"{t:%H:%M}" for t in filters.quiet] if filters.quiet else None,
        "urgent": _to_obj(filters.urgent) if filters.urgent is not None else None,
        **({"notify": sorted(filters.notify)} if filters.notify else {}),
        # Only when set: filters stored before +sla keep their exact JSON.
        **(
            {
                "sla": filters.sla // timedelta(minutes=1),
                "escalate": sorted(filters.escalate),
                "escalate_names": dict(filters.escalate_names),
            }
            if filters.sla
            else {}
        ),
    }


@functools.lru_cache(maxsize=8192)
def from_json(text: str) -> Filters:
    """Filters stored by `to_json`; ValueError on anything else. Unknown keys are ignored (added later).

    Cached: every poll and webhook reads every subscription's filters, and `Filters` is immutable.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("v") != 1:
        raise ValueError("not version 1 subscription filters")
    return _from_obj(data)


def _from_obj(data: object) -> Filters:
    if not isinstance(data, dict):
        raise ValueError("filters must be an object")

    def pairs(name: str) -> frozenset[tuple[str, str]]:
        groups = data.get(name) or {}
        if not isinstance(groups, dict):
            raise ValueError(f"{name} must be an object")
        return frozenset((key, value) for key, values in groups.items() for value in _strings(values))

    def clock(value: object) -> time:
        if not isinstance(value, str):
            raise ValueError("times are HH:MM strings")
        try:
            return _time(value)
        except _Invalid as bad:
            raise ValueError(bad.reason) from None

    quiet = data.get("quiet")
    if quiet is not None and (not isinstance(quiet, list) or len(quiet) != 2):
        raise ValueError("quiet must be two times")
    flags = {attr: data.get(attr, False) for attr in FLAGS.values()}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError("flags must be booleans")
    connection = data.get("connection")
    if connection is not None and not isinstance(connection, str):
        raise ValueError("connection must be a string")
    sla = data.get("sla")
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int)):
        raise ValueError("sla must be whole minutes")
    return Filters(
        lead_types=frozenset(_strings(data.get("types") or [])),
        include=pairs("include"),
        exclude=pairs("exclude"),
        connection=connection,
        digest=clock(data["digest"]) if data.get("digest") is not None else None,
        quiet=(clock(quiet[0]), clock(quiet[1])) if quiet is not None else None,
        urgent=_from_obj(data["urgent"]) if data.get("urgent") is not None else None,
        notify=frozenset(_strings(data.get("notify") or [])),
        sla=timedelta(minutes=sla) if sla is not None else None,
        escalate=frozenset(_strings(data.get("escalate") or [])),
        escalate_names=tuple(_names(data.get("escalate_names"))),
        **flags,
    )


def _names(value: object) -> list[tuple[str, str]]:
    """Stored handles of `+escalate` targets; ones that aren't handles are left out (they only label)."""
    if not isinstance(value, dict):
        return []
    return [(t, n) for t, n in value.items() if isinstance(n, str) and _TARGET_NAME_RE.fullmatch(n)]


def _strings(values: object) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("expected a list of strings")
    return values
