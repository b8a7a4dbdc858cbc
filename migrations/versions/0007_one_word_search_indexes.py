"""Indexes for a one-word search ranked by name: first name with last name and id, and the
email's key kept apart when the address does not start with the person's own name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PEOPLE = ("candidates", "client_contacts")


def key_string(length: int) -> sa.types.TypeEngine:
    # Byte order on PostgreSQL, so a btree range over the lower-cased key is a prefix match.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _starts_with(column: str) -> str:
    return f"({column} <> '' AND substr(email_key, 1, length({column})) = {column})"


def upgrade() -> None:
    for table in PEOPLE:
        # batch_alter_table would copy a SQLite table for what SQLite can do in place.
        op.add_column(table, sa.Column("email_other_key", key_string(254), nullable=True))
        # As webapp.models.people.other_email_key(), in SQL: substr and length count characters
        # on both databases, as str.startswith does.
        op.execute(
            f"UPDATE {table} SET email_other_key = CASE "
            f"WHEN {_starts_with('first_name_key')} OR {_starts_with('last_name_key')} "
            f"THEN NULL ELSE email_key END WHERE email_key IS NOT NULL"
        )
        op.create_index(
            f"ix_{table}_email_other",
            table,
            ["email_other_key", "last_name_key", "first_name_key", "id"],
        )
        op.drop_index(f"ix_{table}_first_last", table_name=table)
        op.create_index(f"ix_{table}_first_last", table, ["first_name_key", "last_name_key", "id"])


def downgrade() -> None:
    for table in PEOPLE:
        op.drop_index(f"ix_{table}_first_last", table_name=table)
        op.create_index(f"ix_{table}_first_last", table, ["first_name_key", "last_name_key"])
        op.drop_index(f"ix_{table}_email_other", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("email_other_key")
