"""SQLModel tables. One current Slack installation per workspace (or org); secrets encrypted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import EncryptedString, UTCDateTime, utcnow


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
    bot_token: str = Field(sa_column=Column(EncryptedString(), nullable=False))
    bot_refresh_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    bot_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

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


class Connection(SQLModel, table=True):
    """A WhatConverts account connected to a workspace: API key or OAuth grant, stored encrypted."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("team_id", "label", name="uq_connection_label"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    enterprise_id: str | None = Field(default=None, max_length=32)
    label: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # api_key | oauth
    key_type: str = Field(default="profile", max_length=16)  # profile | master
    daily_quota: int = 1000
    owner_user_id: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)

    api_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    api_secret: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_access_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_refresh_token: str | None = Field(default=None, sa_column=Column(EncryptedString(), nullable=True))
    oauth_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    oauth_scopes: str | None = Field(default=None, max_length=255)

    # JSON list of {"account_id", "account", "profiles": [{"profile_id", "profile"}]} the key can see.
    scope_json: str = Field(default="[]", sa_column=Column(Text(), nullable=False))
    status: str = Field(default="ok", max_length=16)  # ok | needs_reauth | error | paused
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
    """WhatConverts requests made per connection per UTC day (the API's quota resets at midnight UTC)."""

    __tablename__ = "quota_usage"

    connection_id: int = Field(primary_key=True, foreign_key="connections.id", ondelete="CASCADE")
    day: date = Field(primary_key=True)
    requests: int = 0
