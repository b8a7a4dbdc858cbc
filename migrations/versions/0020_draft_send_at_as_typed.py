"""Keep a draft's "Send at" as it was typed, beside the moment it names.

The draft kept only the moment, read with a stricter parser than Send's: a time Send accepted
("2026-12-07 9:30", typed where the browser has no date-time field) named no moment to the draft,
came back empty after Preview or a confirmation, and the SMS then went at once. What was typed is
now kept and shown back, so Send judges it whatever it is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("send_at_typed", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.drop_column("send_at_typed")
