"""A gateway's message id is unique among the messages sent and, apart, among the replies.

SMS Central's answer to a send carries no id: a message we sent takes one from its first delivery
receipt. Its replies have ids of their own, and nothing says the two never meet. One index over
both made them block each other: a receipt naming a reply's id could not give it to our message,
and a reply arriving after a receipt had given its id to our message was taken for a push already
stored, answered and dropped. The index now includes the direction, so a sent message and a reply
may hold the same id; within each, a repeated push or receipt still finds the one row.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

NAME = "ux_messages_provider_message_id"
WHERE = sa.text("provider_message_id IS NOT NULL")


def _create(columns: list[str]) -> None:
    op.create_index(
        NAME, "messages", columns, unique=True, sqlite_where=WHERE, postgresql_where=WHERE
    )


def upgrade() -> None:
    op.drop_index(NAME, table_name="messages")
    _create(["provider", "direction", "provider_message_id"])


def downgrade() -> None:
    # Fails, as it should, where a sent message and a reply of one gateway share an id.
    op.drop_index(NAME, table_name="messages")
    _create(["provider", "provider_message_id"])
