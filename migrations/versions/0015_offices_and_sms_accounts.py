"""Offices as records, and SMS accounts per office and destination country.

Each distinct free-text office a user had becomes an office record, and the user belongs to it.
An SMS account keeps its gateway, sender and webhook user name in the clear and its secrets
encrypted (webapp.sms.account_secrets); it serves offices and destination countries (a country
served by one account at most) and has its own blocked countries. next_send_at is the account's
next free sending slot, shared by all workers (its rate limit); a message records the account it
was queued for (empty: the default account, the gateway configured in the environment), and a
part of a long reply the account it came through, so parts are joined within one account.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_users_office_id", "offices", ["office_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_users_office_id", ["office_id"])
    op.execute(
        "INSERT INTO offices (name, created_at) SELECT DISTINCT TRIM(office), CURRENT_TIMESTAMP "
        "FROM users WHERE office IS NOT NULL AND TRIM(office) <> ''"
    )
    op.execute(
        "UPDATE users SET office_id = (SELECT offices.id FROM offices "
        "WHERE offices.name = TRIM(users.office)) WHERE office IS NOT NULL"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("office")

    op.create_table(
        "sms_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("api_url", sa.String(length=300), nullable=True),
        sa.Column("username", sa.String(length=120), nullable=True),
        sa.Column("originator", sa.String(length=20), nullable=True),
        sa.Column("account_sid", sa.String(length=64), nullable=True),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("messaging_service_sid", sa.String(length=64), nullable=True),
        sa.Column("webhook_username", sa.String(length=120), nullable=True),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("rate_per_second", sa.Float(), nullable=True),
        sa.Column("next_send_at", sa.DateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "sms_account_offices",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["sms_accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "office_id"),
    )
    op.create_table(
        "sms_account_countries",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["sms_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "region"),
        sa.UniqueConstraint("region"),
    )
    op.create_table(
        "sms_account_blocked",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["sms_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "region"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_messages_account_id", "sms_accounts", ["account_id"], ["id"]
        )
    with op.batch_alter_table("inbound_parts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_inbound_parts_account_id", "sms_accounts", ["account_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_parts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_inbound_parts_account_id", type_="foreignkey")
        batch_op.drop_column("account_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_messages_account_id", type_="foreignkey")
        batch_op.drop_column("account_id")
    op.drop_table("sms_account_blocked")
    op.drop_table("sms_account_countries")
    op.drop_table("sms_account_offices")
    op.drop_table("sms_accounts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office", sa.String(length=120), nullable=True))
    op.execute(
        "UPDATE users SET office = (SELECT offices.name FROM offices "
        "WHERE offices.id = users.office_id)"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_office_id")
        batch_op.drop_constraint("fk_users_office_id", type_="foreignkey")
        batch_op.drop_column("office_id")
    op.drop_table("offices")
