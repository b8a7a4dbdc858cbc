"""Index the columns that refer to a message: resend_of_id and emails.message_id.

Deleting a message (a cancelled scheduled send withdraws all of its held messages) makes both
databases look for rows that refer to it; without these indexes each look is a scan of every
message and every email: 160-210 ms a message at a million messages, so cancelling a batch of
thousands took minutes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_resend_of_id", "messages", ["resend_of_id"])
    op.create_index("ix_emails_message_id", "emails", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_emails_message_id", table_name="emails")
    op.drop_index("ix_messages_resend_of_id", table_name="messages")
