"""quota per key identity

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-13 12:00:00.000000

WhatConverts counts its daily quota per API key, across every connection (and workspace) using
it, so the app counts per key too. Each connection gets `key_id`, the identity of its key, and
`quota_usage` is keyed by it instead of by connection.

The identity of an API key is an HMAC of its token under a secret the app keeps encrypted
(`app_secrets`, bot/whatconverts/keys.py). A migration can't compute it: the tokens are encrypted and
migrations run without the encryption keys. So every existing connection starts as `own:<id>`,
a budget of its own (exactly how it was counted until now), and its quota rows move with it; the
app gives API-key connections their real identity when it runs (its housekeeping, and before
any connect), merging their counts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds a table to change a column's nullability; 0007 made `connections` AUTOINCREMENT
# (ids are never reused) and a rebuild must keep it.
KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", storage.types.EncryptedString(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column("quota_share", sa.Float(), nullable=True))
    op.execute("UPDATE connections SET key_id = 'own:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("connections", schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.alter_column("key_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False)
        batch_op.create_index(batch_op.f("ix_connections_key_id"), ["key_id"], unique=False)

    # A new table rather than an altered one: the old primary key and foreign key have names each
    # engine chose, and a copy is the same few statements everywhere.
    op.create_table(
        "quota_usage_by_key",
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "day"),
    )
    op.execute(
        "INSERT INTO quota_usage_by_key (key_id, day, requests) "
        "SELECT 'own:' || CAST(connection_id AS VARCHAR(20)), day, requests FROM quota_usage"
    )
    op.drop_table("quota_usage")
    op.rename_table("quota_usage_by_key", "quota_usage")


def downgrade() -> None:
    op.create_table(
        "quota_usage_by_connection",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id", "day"),
    )
    # Each connection of a key is charged the key's whole count: the cautious reading.
    op.execute(
        "INSERT INTO quota_usage_by_connection (connection_id, day, requests) "
        "SELECT c.id, q.day, q.requests FROM quota_usage q JOIN connections c ON c.key_id = q.key_id"
    )
    op.drop_table("quota_usage")
    op.rename_table("quota_usage_by_connection", "quota_usage")
    with op.batch_alter_table("connections", schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_key_id"))
        batch_op.drop_column("quota_share")
        batch_op.drop_column("key_id")
    op.drop_table("app_secrets")
