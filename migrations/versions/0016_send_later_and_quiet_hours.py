"""Send later and quiet hours.

A batch may be due later (send_at): its messages are queued held (no next_attempt_at) until the
worker releases it (released_at), or its sender cancels it (cancelled_at, cancelled_by_id). The
partial index finds the due ones without reading every batch. A draft keeps the "Send at" typed
on the SMS screen. A message that quiet hours hold keeps when the window ends for its recipient
(quiet_until), so the batch page can say what waits and until when.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# As in webapp/models/messaging.py (a migration keeps its own copy: the models move on).
WAITING_TO_GO = "send_at IS NOT NULL AND released_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_batches_cancelled_by_id", "users", ["cancelled_by_id"], ["id"]
        )
    op.create_index(
        "ix_batches_due",
        "batches",
        ["send_at"],
        sqlite_where=sa.text(WAITING_TO_GO),
        postgresql_where=sa.text(WAITING_TO_GO),
    )
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("quiet_until")
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.drop_column("send_at")
    op.drop_index("ix_batches_due", table_name="batches")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_constraint("fk_batches_cancelled_by_id", type_="foreignkey")
        batch_op.drop_column("cancelled_by_id")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("released_at")
        batch_op.drop_column("send_at")
