"""A batch keeps its template's name, and when it went.

Sent and a batch's page showed the template's current name: renaming a template renamed every
batch sent with it. A batch now keeps the name it was sent with (template_name), filled here
from the current names (the best there is for batches sent before).

Sent filtered and sorted batches by when they were written, where a scheduled one goes later
(its messages dated at its release, as the dashboard counts them). went_at is when it went:
released, else when it is or was due, else written; the database keeps it (stored on
PostgreSQL; on SQLite, which cannot add a stored column, computed when read), and the Sent
page's two indexes move to it.

Both touch batches only (far fewer than messages): one UPDATE, and indexes rebuilt.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# As in webapp/models/messaging.py (a migration keeps its own copy: the models move on).
WENT_AT = "coalesce(released_at, send_at, created_at)"


def upgrade() -> None:
    stored = op.get_bind().dialect.name != "sqlite"
    op.add_column("batches", sa.Column("template_name", sa.String(length=120), nullable=True))
    op.add_column(
        "batches",
        sa.Column("went_at", sa.DateTime(), sa.Computed(WENT_AT, persisted=stored), nullable=False),
    )
    op.execute(
        "UPDATE batches SET template_name = "
        "(SELECT name FROM sms_templates WHERE sms_templates.id = batches.template_id) "
        "WHERE template_id IS NOT NULL"
    )
    op.drop_index("ix_batches_sender_created", table_name="batches")
    op.create_index("ix_batches_sender_went", "batches", ["sender_id", "went_at", "id"])
    op.create_index("ix_batches_went", "batches", ["went_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_batches_went", table_name="batches")
    op.drop_index("ix_batches_sender_went", table_name="batches")
    op.create_index("ix_batches_sender_created", "batches", ["sender_id", "created_at", "id"])
    op.drop_column("batches", "went_at")
    op.drop_column("batches", "template_name")
