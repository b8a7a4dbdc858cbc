"""The claim index ends with the id, so a worker's "oldest due first" is read in index order.

A batch's messages share one next_attempt_at; without the id in the index PostgreSQL sorted every
queued message of the batch again for each claim of a few dozen.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_claim", table_name="messages")
    op.create_index("ix_messages_claim", "messages", ["state", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_claim", table_name="messages")
    op.create_index("ix_messages_claim", "messages", ["state", "next_attempt_at"])
