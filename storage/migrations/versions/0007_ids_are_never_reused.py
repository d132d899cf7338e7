"""connection and subscription ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:00:00.000000

SQLite gives a new row max(rowid) + 1, so deleting the newest subscription hands its id to the
next one, and a button or `unsubscribe 12` meant for the old row acts on the new one. Only a
table created with AUTOINCREMENT avoids that, so both tables are rebuilt; the copy carries their
rows over, and SQLite starts the sequence at the highest id copied. PostgreSQL sequences never
reuse an id: nothing to do there.

The rebuild drops and renames the tables while rows in other tables point at them. That is safe
because this migration's connection never turns `PRAGMA foreign_keys` on (only the app's engine
does), so the drop neither cascades nor checks.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("connections", "subscriptions")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
