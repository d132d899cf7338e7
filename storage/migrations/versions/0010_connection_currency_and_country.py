"""connection currency and country

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-10 12:00:00.000000

Each connection's cards write money in its currency (ISO 4217) and phone numbers as dialled from
its country (ISO 3166 alpha-2). Existing connections get what cards showed until now: USD and US.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Should SQLite rebuild `connections`, it must stay AUTOINCREMENT (0007: ids are never reused).
KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), server_default="USD", nullable=False)
        )
        batch_op.add_column(
            sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), server_default="US", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("country")
        batch_op.drop_column("currency")
