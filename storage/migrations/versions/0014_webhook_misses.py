"""webhook misses

Revision ID: 0014
Revises: 0013
Create Date: 2027-02-10 12:00:00.000000

A profile's webhooks count as bringing its new leads only until a poll finds one they didn't:
`missed_at` remembers when, so polling keeps its normal pace for a while after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_sources", schema=None) as batch_op:
        batch_op.drop_column("missed_at")
