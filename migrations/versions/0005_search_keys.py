"""Whole-name search keys ("first last" and "last first"), first+last and location+status indexes,
and trigram indexes for substring filters on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PEOPLE = ("candidates", "client_contacts")
# Substring filters ("contains") that a btree cannot serve; pg_trgm can.
TRIGRAM = {"candidates": ("job_title", "skills"), "client_contacts": ("position",)}


def key_string(length: int) -> sa.types.TypeEngine:
    # Byte order on PostgreSQL, so a btree range over the lower-cased key is a prefix match.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    for table in PEOPLE:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("full_name_key", key_string(201), nullable=True))
            batch.add_column(sa.Column("reverse_name_key", key_string(201), nullable=True))
        # The name keys are already normalised, so the whole-name keys are plain concatenations.
        op.execute(
            f"UPDATE {table} SET full_name_key = first_name_key || ' ' || last_name_key, "
            f"reverse_name_key = last_name_key || ' ' || first_name_key"
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("full_name_key", existing_type=key_string(201), nullable=False)
            batch.alter_column("reverse_name_key", existing_type=key_string(201), nullable=False)
            batch.create_index(f"ix_{table}_full_name_key", ["full_name_key"])
            batch.create_index(f"ix_{table}_reverse_name_key", ["reverse_name_key"])
            # First name with last, so "first starts with … and last starts with …" is answered
            # from the index alone.
            batch.drop_index(f"ix_{table}_first_name_key")
            batch.create_index(f"ix_{table}_first_last", ["first_name_key", "last_name_key"])
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_location_key")
        batch.create_index("ix_candidates_location_status", ["location_key", "status"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, columns in TRIGRAM.items():
            for column in columns:
                op.execute(
                    f"CREATE INDEX ix_{table}_{column}_trgm ON {table} "
                    f"USING gin (lower({column}) gin_trgm_ops)"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in TRIGRAM.items():
            for column in columns:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_location_status")
        batch.create_index("ix_candidates_location_key", ["location_key"])
    for table in PEOPLE:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_first_last")
            batch.create_index(f"ix_{table}_first_name_key", ["first_name_key"])
            batch.drop_index(f"ix_{table}_reverse_name_key")
            batch.drop_index(f"ix_{table}_full_name_key")
            batch.drop_column("reverse_name_key")
            batch.drop_column("full_name_key")
