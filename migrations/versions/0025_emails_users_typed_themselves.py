"""Each user's email says whether they typed it themselves (on Profile) or an administrator set it.

Single sign-on linked an account to a person whose provider vouched for its email address, also
when the account's holder had typed that address on their Profile: anyone could type a new
manager's address there and, at the manager's first single sign-on, get the account linked to them
with the manager's roles. webapp.users.oidc now matches no account by an address its holder typed;
this revision adds `users.email_self_set` (false: set by an administrator, the CLI or single
sign-on) and sets it for the users whose email was last set on their Profile.

The audit log tells which: every change of an email through Profile has been audited
`profile.edited` (details {"changes": {"email": [old, new]}}) in the transaction that made it,
every one through the user form `user.edited` likewise, every account made through the app
`user.created`, and nothing deletes audit events. A user whose last such event is a Profile
change to the address they have now is marked; one whose address differs from it (changed
outside the app) is left unmarked, as are users with no such event (the demo's, and those
`create-user` added before it was audited).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

PROFILE = "profile.edited"
# The events that set a user's email: their own Profile, the user form, and adding the account.
SETTING_EMAIL = (PROFILE, "user.edited", "user.created")

audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("subject_type", sa.String),
    sa.column("subject_id", sa.Integer),
    sa.column("details", sa.JSON),
)
users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("email_self_set", sa.Boolean),
)


def _email_set(action: str, details) -> str | None:
    """The address an event set, or None when it set none (a change of other fields)."""
    if not isinstance(details, dict):
        return None
    if action == "user.created":
        email = details.get("email")
        return email if isinstance(email, str) else ""  # it set one, whatever it kept of it
    changes = details.get("changes")
    pair = changes.get("email") if isinstance(changes, dict) else None
    if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
        old, new = pair
        if action == PROFILE and isinstance(old, str) and old.lower() == new.lower():
            return None  # its case alone, as Profile does now: who set it is unchanged
        return new
    return None


def upgrade() -> None:
    # In place, not batch_alter_table: a default given as an expression (sa.false()) makes a
    # batch copy SQLite's users table, and dropping the old one fails its foreign keys once any
    # row points at a user. "0" reads as false in both SQLite and PostgreSQL.
    op.add_column(
        "users", sa.Column("email_self_set", sa.Boolean(), nullable=False, server_default="0")
    )
    bind = op.get_bind()
    # A handful of events a user, found by their action (indexed); each user's last one wins.
    last: dict[int, tuple[str, str]] = {}
    events = bind.execute(
        sa.select(audit_events.c.subject_id, audit_events.c.action, audit_events.c.details)
        .where(
            audit_events.c.action.in_(SETTING_EMAIL),
            audit_events.c.subject_type == "user",
            audit_events.c.subject_id.is_not(None),
        )
        .order_by(audit_events.c.id)
    )
    for user_id, action, details in events:
        email = _email_set(action, details)
        if email is not None:
            last[user_id] = (action, email)
    typed = {user_id: email for user_id, (action, email) in last.items() if action == PROFILE}
    if not typed:
        return
    marked = [
        {"user_id": row.id}
        for row in bind.execute(sa.select(users.c.id, users.c.email))
        if row.id in typed and typed[row.id] == row.email
    ]
    if marked:
        bind.execute(
            users.update()
            .where(users.c.id == sa.bindparam("user_id"))
            .values(email_self_set=sa.true()),
            marked,
        )


def downgrade() -> None:
    # In place too (SQLite 3.35 and later drop a column without copying the table).
    op.drop_column("users", "email_self_set")
