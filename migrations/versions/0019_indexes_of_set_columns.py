"""Index only the rows that have a value in columns most rows leave empty.

A message is about a candidate or a contact, so one of its two person indexes held an empty entry
for every message; so did the gateway's message id (empty until the gateway answers), the message
a reply answers and the message a resend repeats, for nearly every message, and a comment's other
kind of person. Every Send wrote those entries (and PostgreSQL writes every index again on each
change of a message's state), for lookups `column = value` that can never match them. Each index
now holds only the rows whose (first) column is set; those lookups use it as before on both
databases, and the unique gateway ids stay unique.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# (table, index, columns, unique, the column that must be set), as in webapp/models/ (a migration
# keeps its own copy: the models move on).
INDEXES = [
    ("messages", "ix_messages_candidate", ["candidate_id", "created_at"], False, "candidate_id"),
    ("messages", "ix_messages_contact", ["contact_id", "created_at"], False, "contact_id"),
    (
        "messages",
        "ux_messages_provider_message_id",
        ["provider", "provider_message_id"],
        True,
        "provider_message_id",
    ),
    ("messages", "ix_messages_in_reply_to_id", ["in_reply_to_id"], False, "in_reply_to_id"),
    ("messages", "ix_messages_resend_of_id", ["resend_of_id"], False, "resend_of_id"),
    ("comments", "ix_comments_candidate_id", ["candidate_id"], False, "candidate_id"),
    ("comments", "ix_comments_contact_id", ["contact_id"], False, "contact_id"),
]


def _where(column: str) -> dict:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    for table, name, columns, unique, column in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=unique, **_where(column))


def downgrade() -> None:
    for table, name, columns, unique, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=unique)
