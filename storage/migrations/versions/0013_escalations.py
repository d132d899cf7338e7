"""escalations

Revision ID: 0013
Revises: 0012
Create Date: 2027-02-02 12:00:00.000000

A posted card's reminders when nobody takes its lead (`+sla`, `+escalate`): one row per card,
found by a partial index on the open rows' due time, so a sweep reads only what is due.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hold", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("first_sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("second_sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_index("ix_escalations_open_due", "escalations", ["due_at"], sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_escalations_open_due", table_name="escalations")
    op.drop_table("escalations")
