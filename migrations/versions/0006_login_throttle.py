"""Failed sign-ins per account and per address, for login throttling.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(
        "ix_login_failures_kind_key_failed_at", "login_failures", ["kind", "key", "failed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_login_failures_kind_key_failed_at", table_name="login_failures")
    op.drop_table("login_failures")
