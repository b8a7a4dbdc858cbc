"""Users, roles, permissions, clients, candidates, client contacts, comments and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 16:53:13.444675
"""

import sqlalchemy as sa
from alembic import op


def key_string(length: int) -> sa.types.TypeEngine:
    # Byte order on PostgreSQL, so a btree range over the lower-cased key is a prefix match.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidates",
        sa.Column("job_title", sa.String(length=120), nullable=True),
        sa.Column("skills", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("location_key", key_string(120), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("first_name_key", key_string(100), nullable=False),
        sa.Column("last_name_key", key_string(100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", key_string(254), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mobile_raw", sa.String(length=40), nullable=True),
        sa.Column("mobile_e164", sa.String(length=20), nullable=True),
        sa.Column("mobile_region", sa.String(length=2), nullable=True),
        sa.Column("mobile_valid", sa.Boolean(), nullable=False),
        sa.Column("sms_consent", sa.Boolean(), nullable=False),
        sa.Column("email_consent", sa.Boolean(), nullable=False),
        sa.Column("mail_consent", sa.Boolean(), nullable=False),
        sa.Column("privacy_statement_read", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates")),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index("ix_candidates_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_candidates_email_key", ["email_key"], unique=False)
        batch_op.create_index("ix_candidates_first_name_key", ["first_name_key"], unique=False)
        batch_op.create_index(
            "ix_candidates_last_first", ["last_name_key", "first_name_key", "id"], unique=False
        )
        batch_op.create_index("ix_candidates_location_key", ["location_key"], unique=False)
        batch_op.create_index("ix_candidates_mobile_e164", ["mobile_e164"], unique=False)

    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", key_string(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clients_name_key"), ["name_key"], unique=False)

    op.create_table(
        "permissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint("name", name=op.f("uq_permissions_name")),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("mobile", sa.String(length=40), nullable=True),
        sa.Column("office", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_events_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_audit_events_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "client_contacts",
        sa.Column("position", sa.String(length=120), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("first_name_key", key_string(100), nullable=False),
        sa.Column("last_name_key", key_string(100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", key_string(254), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mobile_raw", sa.String(length=40), nullable=True),
        sa.Column("mobile_e164", sa.String(length=20), nullable=True),
        sa.Column("mobile_region", sa.String(length=2), nullable=True),
        sa.Column("mobile_valid", sa.Boolean(), nullable=False),
        sa.Column("sms_consent", sa.Boolean(), nullable=False),
        sa.Column("email_consent", sa.Boolean(), nullable=False),
        sa.Column("mail_consent", sa.Boolean(), nullable=False),
        sa.Column("privacy_statement_read", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_contacts_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_contacts")),
    )
    with op.batch_alter_table("client_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_contacts_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index("ix_client_contacts_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_client_contacts_email_key", ["email_key"], unique=False)
        batch_op.create_index("ix_client_contacts_first_name_key", ["first_name_key"], unique=False)
        batch_op.create_index(
            "ix_client_contacts_last_first", ["last_name_key", "first_name_key", "id"], unique=False
        )
        batch_op.create_index("ix_client_contacts_mobile_e164", ["mobile_e164"], unique=False)

    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permissions.id"],
            name=op.f("fk_role_permissions_permission_id_permissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_permissions_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission_id", name=op.f("pk_role_permissions")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(candidate_id IS NULL) <> (contact_id IS NULL)", name=op.f("ck_comments_one_person")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_comments_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["client_contacts.id"],
            name=op.f("fk_comments_contact_id_client_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_comments_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comments_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_contact_id"))
        batch_op.drop_index(batch_op.f("ix_comments_candidate_id"))

    op.drop_table("comments")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    with op.batch_alter_table("client_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_client_contacts_mobile_e164")
        batch_op.drop_index("ix_client_contacts_last_first")
        batch_op.drop_index("ix_client_contacts_first_name_key")
        batch_op.drop_index("ix_client_contacts_email_key")
        batch_op.drop_index("ix_client_contacts_created_at")
        batch_op.drop_index(batch_op.f("ix_client_contacts_client_id"))

    op.drop_table("client_contacts")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_subject")
        batch_op.drop_index("ix_audit_events_created_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    op.drop_table("users")
    op.drop_table("roles")
    op.drop_table("permissions")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_name_key"))

    op.drop_table("clients")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_mobile_e164")
        batch_op.drop_index("ix_candidates_location_key")
        batch_op.drop_index("ix_candidates_last_first")
        batch_op.drop_index("ix_candidates_first_name_key")
        batch_op.drop_index("ix_candidates_email_key")
        batch_op.drop_index("ix_candidates_created_at")

    op.drop_table("candidates")
