"""Safeguards: two-factor sign-in, single sign-on, per-user sending limits, commercial messages.

Users gain a TOTP key (on once totp_enabled_at is set), the last time step a code was accepted
for (so no code works twice), one-time recovery codes, the subject their OpenID provider knows
them by, and an optional daily sending limit of their own. Templates, drafts and batches can be
marked commercial; a batch keeps the opt-out line it carried. Outbound messages are indexed by
sender, by time and by destination country, which the sending limits and volume alerts count.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# As in webapp/models/messaging.py (a migration keeps its own copy: the models move on).
OUTBOUND_ONLY = "direction = 'out'"


def _partial(where: str) -> dict:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("daily_limit", sa.Integer(), nullable=True))
        batch_op.create_index("ux_users_oidc_subject", ["oidc_subject"], unique=True)
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    with op.batch_alter_table("sms_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commercial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commercial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commercial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("opt_out_line", sa.String(length=300), nullable=True))
    op.create_index(
        "ix_messages_out_sender",
        "messages",
        ["sender_id", "created_at"],
        **_partial(OUTBOUND_ONLY),
    )
    op.create_index(
        "ix_messages_out_created", "messages", ["created_at"], **_partial(OUTBOUND_ONLY)
    )
    op.create_index(
        "ix_messages_out_region", "messages", ["to_region", "created_at"], **_partial(OUTBOUND_ONLY)
    )


def downgrade() -> None:
    op.drop_index("ix_messages_out_region", table_name="messages")
    op.drop_index("ix_messages_out_created", table_name="messages")
    op.drop_index("ix_messages_out_sender", table_name="messages")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("opt_out_line")
        batch_op.drop_column("commercial")
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.drop_column("commercial")
    with op.batch_alter_table("sms_templates", schema=None) as batch_op:
        batch_op.drop_column("commercial")
    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ux_users_oidc_subject")
        batch_op.drop_column("daily_limit")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
