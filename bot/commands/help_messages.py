"""Pure builders for `/whatconverts help [subcommand]`: the overview, one subcommand's page, the grammar.

Each page is several sections (one per topic), so none nears Block Kit's 3,000 characters per
section text. The grammar page is built from the parser's own word lists (bot.alerts.filters), so what
help shows is what `subscribe` accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts import filters
from bot.ids import COMMAND
from bot.slack.blocks import MESSAGE_BLOCKS, fallback, section, sections
from bot.slack.escape import escape_mrkdwn

SECTION_LIMIT = 3000  # Block Kit: a section's text


def _code(words: Sequence[str]) -> str:
    return " ".join(f"`{w}`" for w in words)


def _type_words() -> list[str]:
    return list(dict.fromkeys(filters.TYPE_WORD.values()))


def _grammar() -> list[str]:
    """The `subscribe` filter grammar, one topic per section; `leads` and `stats` share the first three."""
    choices = "; ".join(f"`+{key}:{'`, `'.join(values)}`" for key, values in filters.CHOICES.items())
    return [
        "*Lead types* (default: every type)\n"
        f"Bare words pick types: {_code(_type_words())}; `all` is every type. Naming types means only "
        "those: `calls forms` is calls and web forms. `-calls` drops one: `all -chats`.",
        "*Include or exclude by field*\n"
        f"`+source:google` keeps only leads from google; `-source:facebook` drops them. Fields: "
        f"{_code(filters.ATTRIBUTES)}, and {choices}.\n"
        'Several values: `+source:google,bing`. Values with spaces in quotes: `+campaign:"Spring Sale"`. '
        "Values of one field OR together, fields AND together, excludes always win; case doesn't matter.",
        "*Accounts, profiles, connections*\n"
        '`profile:"Main Site"` or `profile:12345`, `account:Acme` (an agency key sees several); '
        "`-profile:…` leaves one out. One name or id per word: repeat the word for several.\n"
        "`connection:acme` picks the connection when the workspace has several (`/whatconverts status` lists them).\n"
        "`+spam`, `+duplicates`: also spam / duplicate leads (hidden by default).",
        "*How cards look*\n"
        "`+compact`: one-line cards, for busy channels.\n"
        "`+thread`: when a lead changes (a call completes, a value is set) its card is edited and a "
        "thread reply says what changed.",
        "*When cards post*\n"
        "`+digest:09:00`: no card per lead, one daily digest at that time (counts by type and source, "
        "top campaigns, quote and sales totals).\n"
        "`+quiet:20:00-08:00`: hold leads during quiet hours (the window may wrap midnight), then post "
        "one summary when they end.\n"
        "`+urgent:calls`, `+urgent:source:google`: leads matching this still post during quiet hours "
        "(lead types and field filters; repeat `+urgent:` to add more).\n"
        "Times are 24-hour HH:MM in the time zone of whoever subscribes.",
        "*Personal alerts and mentions*\n"
        "`@me` instead of a channel: the leads come to you alone, as direct messages from the app (its "
        "Messages tab), with the same cards and buttons. Any member may have their own; they stop if "
        "you leave the workspace. `list` shows yours, `unsubscribe @me` stops them all.\n"
        '`+notify:@ada`: a channel\'s cards mention Ada ("For @ada"), so Slack notifies her. Pick people '
        f"from Slack's @-autocomplete; several with commas: `+notify:@ada,@bea` (up to {filters.MAX_NOTIFY}). "
        "People only: `@channel` and `@here` are refused.",
        "*When nobody takes a lead*\n"
        "`+sla:15m +escalate:@ada`: when nobody has taken a lead (the card's *I'll take it* button) 15 "
        "minutes after its card posted, a reply in the card's thread mentions @ada; a second one at twice "
        "that, then no more. `+sla` is minutes or hours (`5m`, `90m`, `2h`, `1h30m`; 1 minute to 7 days). "
        "`+escalate` takes people and user groups picked from Slack's autocomplete, several with commas "
        "(`+escalate:@ada,@sales-team`), never @channel or @here. Each needs the other. Quiet hours hold "
        "the reminders too, unless `+urgent` matches the lead.",
        "*Several subscriptions in one channel*\n"
        "A lead that matches several subscriptions of a channel posts once: one card, as soon as any "
        "of them would post it (a card beats quiet hours, which beat a digest). It is compact only if "
        "all of them are `+compact`, gets thread replies if any has `+thread`, and posts during quiet "
        "hours if any finds it `+urgent`, mentions everyone any of them names in `+notify`, and the "
        "shortest `+sla` sets its reminders, which mention everyone their `+escalate` names.",
        "*Examples*\n"
        f"• `{COMMAND} subscribe` — every lead, in this channel\n"
        f"• `{COMMAND} subscribe #sales calls forms +source:google -medium:organic`\n"
        f'• `{COMMAND} subscribe #calls calls +status:unique +quotable:yes profile:"Main Site"`\n'
        f"• `{COMMAND} subscribe #busy all +compact +duplicates`\n"
        f"• `{COMMAND} subscribe #team +digest:09:00`\n"
        f"• `{COMMAND} subscribe #sales +quiet:20:00-08:00 +urgent:calls +thread`\n"
        f"• `{COMMAND} subscribe #sales calls +sla:15m +escalate:@ada,@sales-team`\n"
        f'• `{COMMAND} subscribe #acme connection:acme account:"Acme Corp" -source:facebook`\n'
        f"• `{COMMAND} subscribe @me calls +source:google` — your own alerts, in your direct messages\n"
        f"• `{COMMAND} subscribe #sales calls +notify:@ada,@bea`\n"
        "Pick the channel from Slack's autocomplete (default: this channel). A subscription starts "
        f"from now: no flood of history. `{COMMAND} list` shows subscriptions in this grammar, "
        f"`{COMMAND} unsubscribe <id>` removes one.",
    ]


def _lead_query(name: str, default: str, ranges: str) -> list[str]:
    return [
        f"*Range* (default: `{default}`)\n{ranges}",
        "*Filters*\n"
        f"The same words as `subscribe` pick leads: lead types, `+source:google`, `-medium:organic`, "
        f'`+status:unique`, `profile:"Main Site"`, `connection:acme`, `+spam` … (`{COMMAND} help subscribe` '
        "lists them all). Channels and delivery options (`+compact`, `+thread`, `+digest`, `+quiet`, `+sla`, "
        "`+urgent`) don't apply here.",
        "*Examples*\n"
        f"• `{COMMAND} {name}`\n"
        f"• `{COMMAND} {name} yesterday calls`\n"
        f"• `{COMMAND} {name} 14d +source:google -medium:organic`\n"
        "Only you see the answer. It reads WhatConverts (a request per page of leads, counted against "
        "the key's daily quota).",
    ]


DETAILS: dict[str, list[str]] = {
    "subscribe": _grammar(),
    "connect": [
        "Replies with a button to this app's page where you connect a WhatConverts account: sign in "
        "with WhatConverts, or enter an API token and secret there (never in Slack). A `label` "
        "(letters, digits, dot, dash, underscore) names the connection when the workspace has several; "
        "`connect <label>` again (or `reconnect <label>`) replaces its credentials. "
        "Workspace admins and owners, the installer, or the connection's owner.",
    ],
    "disconnect": [
        "Asks to confirm, then removes the connection with its stored credentials and its subscriptions. "
        f"Name the label when the workspace has several (`{COMMAND} status` lists them).",
    ],
    "status": ["Each connection with its health, and today's WhatConverts quota; recent problems, if any."],
    "quota": [
        "`quota [label]` shows the share of a key's daily WhatConverts quota the app may spend; "
        "`quota [label] 50` sets it to 50% (lower it when the key is also used elsewhere)."
    ],
    "connection": [
        "`connection [label]` shows how the connection's cards write money and phone numbers; "
        "`connection [label] currency EUR` sets the currency of quote and sales values (ISO 4217 code, "
        "default USD); `connection [label] country GB` sets the country whose phone numbers are shown in "
        "national format (ISO 3166 code, default US; others show in international format). "
        "Workspace admins and owners, the installer, or the connection's owner may set them.",
    ],
    "webhook": [
        "The connection's instant-alerts URL and how to set it up in WhatConverts: leads then arrive "
        "in seconds and their cards update in place. `webhook rotate` replaces the URL. Admins."
    ],
    "unsubscribe": [
        "`unsubscribe` removes this channel's subscription (name its id when there are several); "
        "`unsubscribe 12` removes subscription 12; `unsubscribe all` removes every subscription of this "
        f"channel; `unsubscribe @me` stops all your personal alerts. `{COMMAND} list` shows the ids. "
        "Anyone may remove their own; admins any.",
    ],
    "list": [
        "`list` shows this channel's subscriptions and your own personal alerts, `list all` every one in "
        "the workspace (admins also see everyone's personal alerts, marked with their name), printed as you "
        f"would type them after `{COMMAND} subscribe`, with state, cards in the last 24 h, waiting and failed."
    ],
    "leads": _lead_query(
        "leads",
        "today",
        "`today`, `yesterday`, `7d`, `30d`, or any number of days up to 30 (`14d`). `today` and "
        "`yesterday` are days in your Slack time zone; the answer names it.",
    ),
    "stats": [
        *_lead_query(
            "stats",
            "7d",
            "`today`, `yesterday`, `7d`, `30d`, or any number of days up to 30 (`14d`). `today` and "
            "`yesterday` are days in your Slack time zone; the answer names it.",
        ),
        "*Speed to lead*\nOf those leads, how many were posted in Slack and claimed from their card "
        "(*I'll take it*), the median and p90 time from the first card to the first claim, by person and "
        "by source. Counted from the app's own records, which keep cards for "
        "`DELIVERY_RETENTION_DAYS` (7 by default): a longer range says where they start.",
    ],
    "find": [
        "*What it looks up*\n"
        "A phone number or an email address: the contact's leads, newest first (the latest 10, and how many "
        "more WhatConverts has), from the last year. A number may be typed any way, `(704) 555-0101`, "
        "`704-555-0101` or `+1 704 555 0101`; without a country code it is dialled from the connection's "
        f"country (`{COMMAND} connection` shows it). Give the whole number with its area code.",
        "*Which connections*\n"
        "Every connection of the workspace (with more than 10, name one), or only the one named with "
        "`connection:acme`. A number without a country code is looked up as dialled from each connection's country.",
        "*Examples*\n"
        f"• `{COMMAND} find (704) 555-0101`\n"
        f"• `{COMMAND} find +44 20 7946 0018 connection:london`\n"
        f"• `{COMMAND} find jo@example.com`\n"
        "Only you see the answer. Each connection searched costs one WhatConverts request, counted against "
        "its key's daily quota; the answer says what it cost.",
    ],
    "test": ["Posts a sample lead card in this channel: what alerts look like, and proof the app can post here."],
    "help": ["`help` lists the subcommands; `help <subcommand>` explains one, e.g. `help subscribe` for every filter."],
}


def overview_message(usages: Sequence[tuple[str, str]]) -> dict:
    """Every subcommand with its usage, and how to get one's details."""
    lines = [f"• `{COMMAND} {usage}` — {summary}" for usage, summary in usages]
    head = "*WhatConverts for Slack*"
    foot = f"Details and examples: `{COMMAND} help <subcommand>`, e.g. `{COMMAND} help subscribe` for every filter."
    body = "\n".join(lines)
    blocks = [*sections([head, *lines], max_blocks=MESSAGE_BLOCKS - 1), section(foot)]
    return {"text": fallback("\n".join([head, body, foot])), "blocks": blocks}


def subcommand_message(*, usage: str, summary: str, aliases: Sequence[str], details: Sequence[str]) -> dict:
    """One subcommand's page: its usage line, then one section per topic."""
    also = f" (also: {', '.join(f'`{a}`' for a in aliases)})" if aliases else ""
    head = f"*`{COMMAND} {usage}`* — {summary}{also}"
    parts = [head, *details]
    return {"text": fallback("\n\n".join(parts)), "blocks": [section(part) for part in parts]}


def unknown_message(name: str, names: Sequence[str]) -> dict:
    """`help` of something that isn't a subcommand: say so, and list what is. `name` is as `echo` shows it."""
    text = (
        f"There's no subcommand `{escape_mrkdwn(name)}`. Subcommands: {', '.join(f'`{n}`' for n in names)}. "
        f"`{COMMAND} help <subcommand>` explains one."
    )
    return {"text": fallback(text), "blocks": [section(text)]}
