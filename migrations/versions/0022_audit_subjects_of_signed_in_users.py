"""Audit events about the signed-in user name their subject "user", not "localproxy".

A profile saved or "Sign out everywhere" was audited with Flask-Login's current_user, a proxy of
the user, as its subject; webapp.models.activity.subject_name named the subject by its Python
type, so these events read "localproxy 3" on the audit log. subject_name now names the object
behind a proxy; this revision renames the subjects already written. No other subject is a proxy:
current_user is the only one the app passes, so every "localproxy" is a user.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE audit_events SET subject_type = 'user' WHERE subject_type = 'localproxy'")
    )


def downgrade() -> None:
    # The wrong name is not written back: the events stay about their users.
    pass
