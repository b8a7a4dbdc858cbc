"""The compose draft remembers what was typed and ticked (message, template, Ignore and its reason,
Comment), and its selection's digest so Bulk SMS for the same people reopens it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the drafts already open; the models then supply every value.
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selection", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("ignore", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("ignore_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("comment", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("comment_type", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("comment_text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_compose_drafts_template_id_sms_templates"),
            "sms_templates",
            ["template_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_compose_drafts_user_selection", ["user_id", "selection"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_compose_drafts_user_selection")
        batch_op.drop_constraint(
            batch_op.f("fk_compose_drafts_template_id_sms_templates"), type_="foreignkey"
        )
        for column in (
            "updated_at",
            "comment_text",
            "comment_type",
            "comment",
            "ignore_reason",
            "ignore",
            "template_id",
            "message",
            "selection",
        ):
            batch_op.drop_column(column)
