"""Seed the seven permissions and the four roles of DESIGN.md section 4.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Copied, not imported: a migration must keep meaning what it meant when it was written.
PERMISSIONS = {
    "sms.send": "Send SMS to candidates and client contacts",
    "sms.ignore_opt_out": "Ignore a person's SMS opt-out (audited)",
    "templates.manage": "Manage shared SMS templates",
    "records.edit": "Add and edit candidates and client contacts",
    "users.manage": "Manage users and roles",
    "settings.manage": "Change SMS settings",
    "audit.view": "View the audit log",
}
ROLES = {
    "administrator": ("Everything", list(PERMISSIONS)),
    "team-leader": (
        "Sends, overrides opt-outs, manages templates",
        ["sms.send", "sms.ignore_opt_out", "templates.manage", "records.edit", "audit.view"],
    ),
    "consultant": ("Sends SMS and edits records", ["sms.send", "records.edit"]),
    "viewer": ("Looks only", []),
}

permissions = sa.table(
    "permissions",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
)
roles = sa.table(
    "roles",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
)
role_permissions = sa.table(
    "role_permissions", sa.column("role_id", sa.Integer), sa.column("permission_id", sa.Integer)
)


def upgrade() -> None:
    permission_ids = {name: n for n, name in enumerate(PERMISSIONS, start=1)}
    op.bulk_insert(
        permissions,
        [
            {"id": permission_ids[name], "name": name, "description": text}
            for name, text in PERMISSIONS.items()
        ],
    )
    op.bulk_insert(
        roles,
        [
            {"id": n, "name": name, "description": text}
            for n, (name, (text, _granted)) in enumerate(ROLES.items(), start=1)
        ],
    )
    op.bulk_insert(
        role_permissions,
        [
            {"role_id": n, "permission_id": permission_ids[permission]}
            for n, (_name, (_text, granted)) in enumerate(ROLES.items(), start=1)
            for permission in granted
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; later inserts would collide.
        op.execute("SELECT setval('permissions_id_seq', (SELECT max(id) FROM permissions))")
        op.execute("SELECT setval('roles_id_seq', (SELECT max(id) FROM roles))")


def downgrade() -> None:
    op.execute(role_permissions.delete())
    op.execute(roles.delete())
    op.execute(permissions.delete())
