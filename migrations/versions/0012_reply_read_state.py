"""Replies are read or unread (read_at); the indexes of the Sent page and the Replies inbox.

Replies received before this revision were already emailed to their consultant: they start read,
so nobody opens the inbox after the upgrade to years of "unread" replies.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# As in webapp/models/messaging.py (a migration keeps its own copy: the models move on).
REPLIES_ONLY = "direction = 'in'"
UNREAD_ONLY = "direction = 'in' AND read_at IS NULL"


def _partial(where: str) -> dict:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at", sa.DateTime(), nullable=True))
    op.execute(f"UPDATE messages SET read_at = created_at WHERE {REPLIES_ONLY}")
    op.create_index(
        "ix_messages_replies_to",
        "messages",
        ["sender_id", "created_at", "id"],
        **_partial(REPLIES_ONLY),
    )
    op.create_index(
        "ix_messages_replies", "messages", ["created_at", "id"], **_partial(REPLIES_ONLY)
    )
    op.create_index(
        "ix_messages_unread", "messages", ["sender_id", "read_at"], **_partial(UNREAD_ONLY)
    )
    # Counting a batch's messages by state (superseded ones left out) reads the index alone: a
    # page of batches may hold 50,000 messages.
    op.drop_index("ix_messages_batch_state", table_name="messages")
    op.create_index("ix_messages_batch_state", "messages", ["batch_id", "state", "superseded"])
    # The sender's batches newest first; it also serves what the sender_id index did.
    op.drop_index("ix_batches_sender_id", table_name="batches")
    op.create_index("ix_batches_sender_created", "batches", ["sender_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_batches_sender_created", table_name="batches")
    op.create_index("ix_batches_sender_id", "batches", ["sender_id"])
    op.drop_index("ix_messages_batch_state", table_name="messages")
    op.create_index("ix_messages_batch_state", "messages", ["batch_id", "state"])
    op.drop_index("ix_messages_unread", table_name="messages")
    op.drop_index("ix_messages_replies", table_name="messages")
    op.drop_index("ix_messages_replies_to", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("read_at")
