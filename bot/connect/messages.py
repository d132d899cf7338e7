"""Pure builders for the connect, disconnect and status replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import ids
from bot.alerts.poll_plan import SweepPlan
from bot.slack.blocks import MESSAGE_BLOCKS, context, cut, fallback, section, sections
from bot.slack.escape import escape_mrkdwn
from bot.whatconverts import paths as wc_paths

HEALTH = {
    "ok": (":large_green_circle:", "healthy"),
    "needs_reauth": (":red_circle:", "needs to be reconnected — run `/whatconverts connect {label}`"),
    "error": (":large_orange_circle:", "failing"),
    "paused": (":white_circle:", "paused"),
}
# An account or profile name in a list, escaped: `status` shows 5 accounts of 5 profiles in one section.
NAME_CHARS = 80
SHOWN_CONNECTIONS = 40


def connect_link_message(url: str, *, label: str | None, oauth: bool) -> dict:
    how = (
        "You'll be sent to WhatConverts to approve access."
        if oauth
        else "You'll paste an API token and secret on our page (never in Slack)."
    )
    named = f" as `{escape_mrkdwn(label)}`" if label else ""
    text = f"Connect your WhatConverts account{named}. {how} The link works once and expires in 10 minutes."
    return {
        "text": text,
        "blocks": [
            section(text),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.ACTION_CONNECT_LINK,
                        "text": {"type": "plain_text", "text": "Connect WhatConverts"},
                        "url": url,
                        "style": "primary",
                    }
                ],
            },
        ],
    }


def disconnect_confirm_message(*, label: str, connection_id: int, kind: str) -> dict:
    after = (
        "Its OAuth tokens will be revoked."
        if kind == "oauth"
        else "Afterwards, delete the API key in WhatConverts too: we can't revoke it for you."
    )
    text = f"Disconnect `{escape_mrkdwn(label)}`? Its subscriptions stop and its credentials are deleted. {after}"
    return {
        "text": text,
        "blocks": [
            section(text),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.ACTION_DISCONNECT_CONFIRM,
                        "text": {"type": "plain_text", "text": "Disconnect"},
                        "style": "danger",
                        "value": str(connection_id),
                    },
                    {
                        "type": "button",
                        "action_id": ids.ACTION_DISCONNECT_CANCEL,
                        "text": {"type": "plain_text", "text": "Cancel"},
                        "value": str(connection_id),
                    },
                ],
            },
        ],
    }


def disconnected_message(*, label: str, kind: str) -> dict:
    extra = (
        ""
        if kind == "oauth"
        else " Remember to delete the API key in WhatConverts "
        f"({wc_paths.PROFILE_API_KEYS}, or {wc_paths.MASTER_API_KEYS} for an agency key)."
    )
    text = f"Disconnected `{escape_mrkdwn(label)}`; its credentials are deleted.{extra}"
    return {"text": text, "blocks": [section(text)]}


def cancelled_message() -> dict:
    return {"text": "Nothing was disconnected.", "blocks": [section("Nothing was disconnected.")]}


@dataclass(frozen=True)
class ConnectionStatus:
    """Plain data for one connection's line in `/whatconverts status` and the Home tab."""

    label: str
    kind: str  # api_key | oauth
    key_type: str  # profile | master
    scope: Sequence[dict]
    status: str
    last_error: str | None
    last_poll_at: datetime | None
    quota_used: int  # today, by every connection of the key
    quota_limit: int  # the key's daily quota
    next_poll_at: datetime | None = None
    last_poll_error: str | None = None
    connection_id: int | None = None
    webhook_active: bool = False  # every profile sent a webhook lately: instant alerts, polling as a backstop
    webhook_url: str | None = None  # only filled in for admins' views
    webhook_profiles: Sequence[tuple[str, bool]] = ()  # each profile the key sees: sent a webhook lately?
    webhook_fresh_minutes: int = 60
    webhook_missed_at: datetime | None = None  # a poll found a lead the webhooks didn't bring (within a day)
    sweep: SweepPlan | None = None
    quota_share: float = 0.8  # of the key's quota, what the app may spend
    key_connections: int = 1  # connections (in any workspace) using the same key


def quota_text(row: ConnectionStatus) -> str:
    """Today's count for the connection's key, what the app may spend of it, and who shares it."""
    text = f"Quota today: {row.quota_used:,} / {row.quota_limit:,} (the app uses up to {row.quota_share:.0%})"
    if row.key_connections > 1:
        text += f", shared by the key's {row.key_connections} connections"
    return text


@dataclass(frozen=True)
class ProblemLine:
    at: datetime
    subject: str
    message: str
    fix: str


def name_text(name: object) -> str:
    """An account, profile or connection name for mrkdwn: escaped, and cut when it is very long."""
    return cut(escape_mrkdwn(str(name)), NAME_CHARS)


def _scope_text(scope: Sequence[dict]) -> str:
    parts = []
    for account in scope[:5]:
        profiles = ", ".join(
            name_text(p.get("profile") or p.get("profile_id")) for p in (account.get("profiles") or [])[:5]
        )
        name = name_text(account.get("account") or account.get("account_id") or "account")
        parts.append(f"{name} ({profiles})" if profiles else name)
    more = f" and {len(scope) - 5} more" if len(scope) > 5 else ""
    return "; ".join(parts) + more if parts else "no leads seen yet"


def _every(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def sweep_text(plan: SweepPlan) -> str:
    """How later changes reach cards without webhooks, and what that costs."""
    return (
        f"Updates: re-read the last {plan.hours} h every {_every(plan.every_seconds)} "
        f"(~{plan.requests_per_day:,} requests/day)"
    )


def mode_text(row: ConnectionStatus) -> str:
    if row.webhook_active:
        return "instant (webhook) + backstop poll"
    sent = sum(1 for _, fresh in row.webhook_profiles if fresh)
    missed = f" ({missed_text(row.webhook_missed_at)})" if row.webhook_missed_at else ""
    if sent and len(row.webhook_profiles) > 1:
        # WhatConverts sets webhooks up per profile: the others' leads still come by polling.
        return f"polling; instant (webhook) for {sent} of {len(row.webhook_profiles)} profiles{missed}"
    return f"polling{missed}"


def missed_text(at: datetime) -> str:
    """Why webhooks that arrive aren't relied on: a poll found a lead they didn't bring."""
    return f"a webhook missed a lead {slack_date(at)}"


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(name_text(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def webhook_profiles_text(
    profiles: Sequence[tuple[str, bool]], *, fresh_minutes: int, missed_at: datetime | None = None
) -> str:
    """Which profiles sent webhooks lately: the URL goes into each profile's webhook settings."""
    if missed_at is not None:
        return webhook_profiles_text(profiles, fresh_minutes=fresh_minutes) + (
            f" :warning: A poll found a lead the webhook didn't bring ({slack_date(missed_at)}), so leads "
            "are polled at the normal pace for a day: in WhatConverts, make sure the webhook is set for "
            "*New Lead* and every lead type."
        )
    sent = [name for name, fresh in profiles if fresh]
    waiting = [name for name, fresh in profiles if not fresh]
    if len(profiles) <= 1:
        return f"New-lead webhooks in the last {fresh_minutes} min: {'received' if sent else 'none yet'}."
    text = (
        f"This key sees {len(profiles)} profiles, and WhatConverts sets webhooks up per profile: "
        f"add this URL to each of them. New-lead webhooks in the last {fresh_minutes} min: "
        + (f"{_names(sent)}." if sent else "none yet.")
    )
    if waiting:
        text += f" Not yet: {_names(waiting)} (polled at the normal pace until they send webhooks)."
    return text


def slack_date(value: datetime | None) -> str:
    if value is None:
        return "not yet"
    return f"<!date^{int(value.timestamp())}^{{date_short_pretty}} {{time}}|{value:%Y-%m-%d %H:%M} UTC>"


def _problems(problems: Sequence[ProblemLine], *, max_blocks: int) -> list[dict]:
    lines = [
        f"• {slack_date(p.at)} — {escape_mrkdwn(p.subject)}: {escape_mrkdwn(p.message)} _{escape_mrkdwn(p.fix)}_"
        for p in problems
    ]
    return sections(["*Recent problems*", *lines], max_blocks=max_blocks)


def status_message(
    rows: Sequence[ConnectionStatus], problems: Sequence[ProblemLine] = (), *, notice: str | None = None
) -> dict:
    """`notice` is what admins must do for the workspace itself (a reinstall), shown first."""
    warning = f":warning: *{escape_mrkdwn(notice)}*" if notice else ""
    top = [section(warning)] if notice else []
    if not rows:
        text = "No WhatConverts account is connected yet. Run `/whatconverts connect` to connect one."
        return {"text": fallback(f"{warning}\n{text}" if notice else text), "blocks": [*top, section(text)]}
    blocks: list[dict] = [*top, section(f"*WhatConverts connections ({len(rows)})*")]
    lines = []
    for row in rows[:SHOWN_CONNECTIONS]:
        emoji, health = HEALTH.get(row.status, (":grey_question:", row.status))
        health = health.format(label=escape_mrkdwn(row.label))
        if row.status == "error" and row.last_error:
            health += f": {cut(escape_mrkdwn(row.last_error), 200)}"
        kind = f"{'OAuth' if row.kind == 'oauth' else 'API key'}, {'master' if row.key_type == 'master' else 'profile'}"
        poll = f"Last poll: {slack_date(row.last_poll_at)}"
        if row.last_poll_error:
            poll += f" (failed: {cut(escape_mrkdwn(row.last_poll_error), 150)})"
        if row.next_poll_at and row.status in ("ok", "error"):
            poll += f" · next: {slack_date(row.next_poll_at)}"
        line = (
            f"{emoji} *{escape_mrkdwn(row.label)}* — {kind} — {health}\n"
            f"Accounts: {_scope_text(row.scope)}\n"
            f"Mode: {mode_text(row)} · {poll} · {quota_text(row)}"
        )
        if row.sweep is not None:
            line += f"\n{sweep_text(row.sweep)}"
        lines.append(line)
        blocks.append(section(line))
    if len(rows) > SHOWN_CONNECTIONS:
        blocks.append(context(f"…and {len(rows) - SHOWN_CONNECTIONS} more connections."))
    if problems:
        blocks += _problems(problems, max_blocks=max(1, MESSAGE_BLOCKS - len(blocks)))
    return {"text": fallback("\n".join([*([warning] if notice else []), *lines])), "blocks": blocks}


def quota_message(row: ConnectionStatus, *, changed: bool) -> dict:
    label = escape_mrkdwn(row.label)
    allowance = int(row.quota_limit * row.quota_share)
    head = (
        f"`{label}` may now spend {row.quota_share:.0%} of its key's daily WhatConverts quota"
        if changed
        else f"`{label}` spends up to {row.quota_share:.0%} of its key's daily WhatConverts quota"
    )
    text = (
        f"{head}: {allowance:,} of {row.quota_limit:,} requests a day, polls and commands included, "
        f"spread over the day. {quota_text(row)}.\n"
        "The quota belongs to the key: every connection using it (in any workspace) and every other tool "
        "it is pasted into spend the same requests, so leave room for those. "
        + ("Polling follows the new share from each connection's next poll." if changed else "")
        + f"\nChange it with `/whatconverts quota {label} <percent>`."
    )
    return {"text": text, "blocks": [section(text)]}


WEBHOOK_STEPS = (
    f"In WhatConverts, in each profile: open {wc_paths.WEBHOOKS}, add a webhook, paste the URL, choose "
    "*New Lead* and *Update Lead* (and the lead types you want), then save. That profile's leads then "
    "arrive in seconds; once every profile sends webhooks, polling drops to a backstop every 15 minutes."
)


def webhook_message(
    *,
    label: str,
    url: str,
    rotated: bool,
    profiles: Sequence[tuple[str, bool]] = (),
    fresh_minutes: int = 60,
    missed_at: datetime | None = None,
) -> dict:
    """`profiles`: each profile the key sees, and whether it sent a webhook in the last `fresh_minutes`."""
    intro = "New webhook URL (the old one no longer works)" if rotated else "Webhook URL"
    seen = webhook_profiles_text(profiles, fresh_minutes=fresh_minutes, missed_at=missed_at)
    text = (
        f"{intro} for `{escape_mrkdwn(label)}` — keep it secret, anyone with it can send leads:\n"
        f"```{url}```\n{WEBHOOK_STEPS}\n{seen}"
    )
    return {"text": fallback(text), "blocks": [section(text)]}
