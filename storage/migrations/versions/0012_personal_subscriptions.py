"""personal subscriptions

Revision ID: 0012
Revises: 0011
Create Date: 2027-02-08 12:00:00.000000

`subscribe @me`: a subscription may belong to one person, whose direct messages from the app get
its cards (`subscriptions.owner_user_id`). A card posted to a user id lands in a DM whose `D…` id
Slack answers with; edits, thread replies and button presses name that id
(`deliveries.card_channel_id`, looked up with `message_ts`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index("ix_deliveries_card_channel", ["card_channel_id", "message_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_card_channel")
        batch_op.drop_column("card_channel_id")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("owner_user_id")
