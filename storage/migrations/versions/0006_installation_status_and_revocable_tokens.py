"""installation status, refresh backoff and revocable bot tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_installations", schema=None) as batch_op:
        batch_op.alter_column("bot_token", existing_type=storage.types.EncryptedString(), nullable=True)
        batch_op.add_column(sa.Column("bot_token_issued_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column("refresh_failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("refresh_retry_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_installations", schema=None) as batch_op:
        batch_op.drop_column("refresh_retry_at")
        batch_op.drop_column("refresh_failures")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status")
        batch_op.drop_column("bot_token_issued_at")
        batch_op.alter_column("bot_token", existing_type=storage.types.EncryptedString(), nullable=False)
