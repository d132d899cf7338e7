"""SQLModel tables. One current Slack installation per workspace (or org); secrets encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
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
