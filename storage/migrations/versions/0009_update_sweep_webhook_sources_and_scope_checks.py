"""update sweep, webhook freshness per profile, scope re-reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 12:00:00.000000

Self-contained (two new tables, two new poll_state columns), so it can be re-chained after any
other revision: `poll_state` learns when its next update sweep is due and what a sweep costs;
`webhook_sources` remembers when each (account, profile) last sent a webhook; `scope_checks`
when a connection's accounts and profiles were last re-read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scope_checks",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lookup_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id"),
    )
    op.create_table(
        "webhook_sources",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("last_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id", "account_id", "profile_id"),
    )
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_sweep_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sweep_requests", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.drop_column("sweep_requests")
        batch_op.drop_column("next_sweep_at")
    op.drop_table("webhook_sources")
    op.drop_table("scope_checks")
