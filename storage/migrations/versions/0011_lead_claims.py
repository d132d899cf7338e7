"""lead claims

Revision ID: 0011
Revises: 0010
Create Date: 2027-02-01 12:00:00.000000

Who took a lead from its card ("I'll take it"): one row per (workspace, lead), kept after a
release so time to claim can be measured from the first claim.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_claims",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_claimed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("first_claimed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "lead_id"),
    )


def downgrade() -> None:
    op.drop_table("lead_claims")
