"""SQLModel tables. One current Slack installation per workspace (or org); secrets encrypted."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, Column, Index, Text, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from storage.types import EncryptedString, UTCDateTime, utcnow

# Connection and subscription ids live on in buttons, modals and `unsubscribe 12`: SQLite would
# hand a deleted row's id to the next row (it takes max(rowid) + 1), and a stale button would then
# act on someone's new subscription. AUTOINCREMENT never reuses one; PostgreSQL sequences never do.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def workspace_key(*, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> str:
    """The identity of one installation: the org for org-wide installs, else the workspace."""
    if is_enterprise_install:
        return f"E:{enterprise_id}"
    return f"T:{team_id}"


class SlackInstallation(SQLModel, table=True):
    """The current bot installation of one workspace; reinstalling updates this row."""

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("client_id", "workspace_key", name="uq_slack_installation_workspace"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    workspace_key: str = Field(max_length=64)
    app_id: str | None = Field(default=None, max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    enterprise_name: str | None = Field(default=None, max_length=255)
    enterprise_url: str | None = Field(default=None, max_length=255)
    team_id: str | None = Field(default=None, max_length=32, index=True)
    team_name: str | None = Field(default=None, max_length=255)
    is_enterprise_install: bool = False
    token_type: str | None = Field(default=None, max_length=16)

    bot_id: str | None = Field(default=None, max_length=32)
    bot_user_id: str | None = Field(default=None, max_length=32)
    bot_scopes: str = Field(default="", max_length=1024)
    # None once Slack revoked it (`tokens_revoked`): the row, its installer and everything that
    # hangs off the workspace stay, waiting for a reinstall.
    bot_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    bot_refresh_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    bot_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # When Slack handed out the current bot token: an event about tokens older than this is stale.
    bot_token_issued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # active | needs_reinstall (refresh token dead, or the bot token revoked); the reason says which.
    status: str = Field(default="active", max_length=16, sa_column_kwargs={"server_default": "active"})
    status_reason: str | None = Field(default=None, max_length=255)
    # Failed refreshes in a row, and when the next may be tried (shared by every process).
    refresh_failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    refresh_retry_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    installer_user_id: str | None = Field(default=None, max_length=32)
    user_scopes: str | None = Field(default=None, max_length=1024)
    user_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    user_refresh_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    user_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    installed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SlackOAuthState(SQLModel, table=True):
    """A pending Slack install: only the SHA-256 of the state is kept."""

    __tablename__ = "slack_oauth_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class SlackEvent(SQLModel, table=True):
    """Events API ids already handled, so Slack's redeliveries are not processed twice."""

    __tablename__ = "slack_events"
    __table_args__ = (Index("ix_slack_events_received_at", "received_at"),)

    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str | None = Field(default=None, max_length=32)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def own_key_id() -> str:
    """A key identity nothing else shares: its own budget, as when quotas were counted per connection."""
    return "own:" + secrets.token_hex(16)


class Connection(SQLModel, table=True):
    """A WhatConverts account connected to a workspace: API key or OAuth grant, stored encrypted."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("team_id", "label", name="uq_connection_label"),
        UniqueConstraint("webhook_token_hash", name="uq_connection_webhook"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    enterprise_id: str | None = Field(default=None, max_length=32)
    label: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # api_key | oauth
    key_type: str = Field(default="profile", max_length=16)  # profile | master
    daily_quota: int = 1000
    # Which WhatConverts key this is (the quota belongs to the key, across every connection and
    # workspace using it): "key:" + HMAC of the API token (bot/whatconverts/keys.py), or "own:…" for a budget of
    # its own where the key can't be known (OAuth grants, rows from before key identities).
    key_id: str = Field(default_factory=own_key_id, max_length=80, index=True)
    # Share of the key's daily quota the app may spend (0-1]; None: WHATCONVERTS_QUOTA_SHARE.
    quota_share: float | None = None
    owner_user_id: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)

    api_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    api_secret: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_access_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_refresh_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    oauth_scopes: str | None = Field(default=None, max_length=255)

    # The webhook URL's secret: encrypted to show it to admins, hashed to look it up.
    webhook_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    webhook_token_hash: str | None = Field(default=None, max_length=64)
    # JSON list of {"account_id", "account", "profiles": [{"profile_id", "profile"}]} the key can see.
    scope_json: str = Field(default="[]", sa_column=Column(Text(), nullable=False))
    status: str = Field(default="ok", max_length=16)  # ok | needs_reauth | error | paused
    # How its cards write money (ISO 4217) and phone numbers (dialled from this ISO 3166 country).
    currency: str = Field(default="USD", max_length=3, sa_column_kwargs={"server_default": "USD"})
    country: str = Field(default="US", max_length=2, sa_column_kwargs={"server_default": "US"})
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ConnectState(SQLModel, table=True):
    """A pending `/whatconverts connect` link: hashed, one-time, bound to team, user and channel."""

    __tablename__ = "connect_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    user_id: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    label: str | None = Field(default=None, max_length=64)
    reconnect_id: int | None = None
    code_verifier: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class QuotaUsage(SQLModel, table=True):
    """WhatConverts requests made per key per UTC day (the key's quota resets at midnight UTC).

    Keyed by the key identity, not a connection: every connection using a key spends one budget,
    and the count outlives a disconnect (reconnecting the same day doesn't reset it).
    """

    __tablename__ = "quota_usage"

    key_id: str = Field(primary_key=True, max_length=80)
    day: date = Field(primary_key=True)
    requests: int = 0


class AppSecret(SQLModel, table=True):
    """Secrets this installation made for itself (e.g. the key-identity HMAC key), stored encrypted."""

    __tablename__ = "app_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(EncryptedString(), nullable=False))


class Subscription(SQLModel, table=True):
    """A channel's (or one person's) interest in a connection's leads, with filters in the command grammar.

    A personal subscription (`subscribe @me`) has `owner_user_id` set: its cards go to that user's
    direct messages from the app, and `channel_id` holds the same user id (Slack posts to a user id
    in the app's DM), so routing, merging and pacing treat the DM as one more channel.
    """

    __tablename__ = "subscriptions"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    connection_id: int = Field(foreign_key="connections.id", ondelete="CASCADE", index=True)
    channel_id: str = Field(max_length=32, index=True)
    channel_name: str | None = Field(default=None, max_length=255)
    # Whose personal alerts these are (None: a channel's subscription).
    owner_user_id: str | None = Field(default=None, max_length=32)
    filters_json: str = Field(sa_column=Column(Text(), nullable=False))
    created_by: str = Field(max_length=32)
    status: str = Field(default="active", max_length=16)  # active | paused | broken
    broken_reason: str | None = Field(default=None, max_length=255)
    # The creator's time zone, for digests and quiet hours.
    tz: str | None = Field(default=None, max_length=64)
    last_digest_on: date | None = None
    # Leads created before this are history, not news: a new subscription starts from "now".
    start_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PollState(SQLModel, table=True):
    """Where a connection's poller is, and who holds its lease (fencing by `lease_version`)."""

    __tablename__ = "poll_state"
    __table_args__ = (Index("ix_poll_state_due", "next_run_at"),)

    connection_id: int = Field(primary_key=True, foreign_key="connections.id", ondelete="CASCADE")
    cursor: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    next_run_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    lease_version: int = 0
    last_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_requests: int = 1
    last_webhook_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    failures: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    # The next poll at or after this re-reads the wide window (the update sweep); None until the
    # first poll sets it, so a new connection doesn't start by re-reading a day of history.
    next_sweep_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Requests the last sweep took (pages): what the quota plan reserves for each sweep to come.
    sweep_requests: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class WebhookSource(SQLModel, table=True):
    """When each (account, profile) of a connection last sent a webhook (0: the lead didn't say).

    WhatConverts sets webhooks up per profile, so an agency key may have them on some profiles
    only: polling relaxes to the backstop only when every profile the key sees sends them.
    """

    __tablename__ = "webhook_sources"

    connection_id: int = Field(primary_key=True, foreign_key="connections.id", ondelete="CASCADE")
    account_id: int = Field(primary_key=True)
    profile_id: int = Field(primary_key=True)
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # When a poll found a lead of this profile the webhook should have brought and hadn't (a webhook
    # set up for some lead types, or for updates only): its webhooks aren't trusted for a while.
    missed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ScopeCheck(SQLModel, table=True):
    """When a connection's accounts and profiles were last re-read, daily and on an unknown lead."""

    __tablename__ = "scope_checks"

    connection_id: int = Field(primary_key=True, foreign_key="connections.id", ondelete="CASCADE")
    # The last time anyone started a re-read (daily, or for an unknown lead).
    refreshed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The last re-read started because a lead named an unknown account or profile (at most hourly).
    lookup_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Delivery(SQLModel, table=True):
    """The outbox: one row per (subscription, lead), so a lead is never enqueued twice for a subscription;
    of the rows of one channel and lead, one posts the card and the others are `merged`."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "lead_id", name="uq_delivery_subscription_lead"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_message", "channel_id", "message_ts"),
        Index("ix_deliveries_card_channel", "card_channel_id", "message_ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscriptions.id", ondelete="CASCADE")
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    lead_id: int
    lead_json: str = Field(sa_column=Column(Text(), nullable=False))  # the lead as last known
    # pending | sending | sent | updating | held | summarized | failed | merged (another row of the
    # channel posts this lead's card; see bot.alerts.routing)
    status: str = Field(default="pending", max_length=16)
    hold: str | None = Field(default=None, max_length=16)  # why held: quiet | digest
    lead_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The lead changed after its card was posted: edit the card (and reply in thread with +thread).
    needs_update: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False, server_default=false()))
    shown_json: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))  # what the card shows
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    claimed_by: str | None = Field(default=None, max_length=64)
    claim_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # A send whose outcome we can't know (timeout, crash mid-send): a retry may duplicate it.
    uncertain: bool = False
    message_ts: str | None = Field(default=None, max_length=32)
    # The conversation the card is in, as Slack answered the post: for a personal alert (posted to
    # a user id) the DM's `D…` id, which edits, thread replies and the card's buttons name. None
    # for cards posted before it was kept: those are in `channel_id`.
    card_channel_id: str | None = Field(default=None, max_length=32)
    # JSON list of "who did what" lines shown on the card ("✓ marked quotable by <@U1>").
    notes_json: str = Field(default="[]", sa_column=Column(Text(), nullable=False, server_default="[]"))
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    @property
    def card_channel(self) -> str:
        """Where the card is: the conversation Slack posted it in."""
        return self.card_channel_id or self.channel_id


class ChannelPace(SQLModel, table=True):
    """The next free send slot per channel, shared by every sender process (Slack allows ~1/s)."""

    __tablename__ = "channel_pace"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    next_slot: float = 0.0  # epoch seconds


class Problem(SQLModel, table=True):
    """Something an admin should know about (a broken subscription, a failing key), for status and Home."""

    __tablename__ = "problems"
    __table_args__ = (Index("ix_problems_team_at", "team_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    subject: str = Field(max_length=128)  # e.g. "subscription 4 in #sales" or "connection acme"
    message: str = Field(max_length=500)
    fix: str = Field(max_length=500)


class LeadClaim(SQLModel, table=True):
    """Who took a lead from its card: one row per lead in a workspace (WhatConverts has no owner field).

    `claimed_by` is who has it now (None once released); `first_claimed_*` never change after the
    first claim, so time to claim is measured from `arrived_at` (its first card in Slack) to the
    first claim, whoever holds it later.
    """

    __tablename__ = "lead_claims"

    team_id: str = Field(primary_key=True, max_length=32)
    lead_id: int = Field(primary_key=True)
    claimed_by: str | None = Field(default=None, max_length=32)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    first_claimed_by: str = Field(max_length=32)
    first_claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    arrived_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Escalation(SQLModel, table=True):
    """A posted card's reminders when nobody takes its lead (`+sla`): one row per card, two replies at most.

    Due at the card's post time plus the SLA, then at twice the SLA; closed (`state` other than
    `open`) once both are sent, the lead is claimed, or the reminder can't be sent. While a sweep
    has it, `lease_owner` is set and `due_at` is when the lease runs out, so one index on the open
    rows' `due_at` finds both due and abandoned work.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index(
            "ix_escalations_open_due",
            "due_at",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    delivery_id: int = Field(primary_key=True, foreign_key="deliveries.id", ondelete="CASCADE")
    team_id: str = Field(max_length=32)
    lead_id: int
    # open | done (both replies sent) | claimed (someone took the lead) | stopped (the subscription
    # no longer escalates, or is gone) | failed (Slack refused; `last_error` says why)
    state: str = Field(default="open", max_length=16)
    step: int = 0  # replies sent
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the card's; deadlines count from it
    hold: str | None = Field(default=None, max_length=16)  # why `due_at` was moved: quiet
    lease_owner: str | None = Field(default=None, max_length=64)
    attempts: int = 0  # failed sends of the current step
    # Claimed again after a sweep died mid-send: that reply may have gone out already.
    uncertain: bool = False
    last_error: str | None = Field(default=None, max_length=255)
    first_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    second_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
