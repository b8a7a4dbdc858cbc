"""SMS templates, compose drafts, batches, messages, settings, and the blocked regions (seeded).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:03:16.543935
"""

from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

# SMS Central's list, effective 2023-07-14, copied here so the migration keeps its meaning.
SMSCENTRAL_BLOCKED = {
    "AX": "Åland Islands",
    "AG": "Antigua and Barbuda",
    "BD": "Bangladesh",
    "BZ": "Belize",
    "BJ": "Benin",
    "BM": "Bermuda",
    "KH": "Cambodia",
    "IO": "Diego Garcia",
    "EC": "Ecuador",
    "MF": "Saint Martin (French Antilles)",
    "GF": "French Guiana",
    "GP": "Guadeloupe",
    "GN": "Guinea",
    "GW": "Guinea-Bissau",
    "HT": "Haiti",
    "VA": "Holy See (Vatican City State)",
    "IR": "Iran",
    "IQ": "Iraq",
    "KZ": "Kazakhstan",
    "XK": "Kosovo",
    "MW": "Malawi",
    "MQ": "Martinique",
    "YT": "Mayotte",
    "MN": "Mongolia",
    "MM": "Myanmar",
    "CW": "Curaçao (Netherlands Antilles)",
    "BQ": "Caribbean Netherlands (Netherlands Antilles)",
    "SX": "Sint Maarten (Netherlands Antilles)",
    "NE": "Niger",
    "PW": "Palau",
    "PG": "Papua New Guinea",
    "RE": "Réunion",
    "RW": "Rwanda",
    "KN": "Saint Kitts and Nevis",
    "LC": "Saint Lucia",
    "SO": "Somalia",
    "UM": "United States Minor Outlying Islands",
    "ZM": "Zambia",
}


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_regions")),
        sa.UniqueConstraint("provider", "region", name=op.f("uq_blocked_regions_provider")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "compose_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_ids", sa.JSON(), nullable=False),
        sa.Column("removed_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_compose_drafts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compose_drafts")),
        sa.UniqueConstraint("token", name=op.f("uq_compose_drafts_token")),
    )
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compose_drafts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sms_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("folder", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sms_templates_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_templates")),
    )
    with op.batch_alter_table("sms_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_templates_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ignore_opt_out", sa.Boolean(), nullable=False),
        sa.Column("comment_type", sa.String(length=60), nullable=True),
        sa.Column("comment_text", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("outcome_counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["compose_drafts.id"],
            name=op.f("fk_batches_draft_id_compose_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_batches_sender_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["sms_templates.id"],
            name=op.f("fk_batches_template_id_sms_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_batches_draft_id")),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batches_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_batches_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=36), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("in_reply_to_id", sa.Integer(), nullable=True),
        sa.Column("to_e164", sa.String(length=20), nullable=False),
        sa.Column("to_region", sa.String(length=2), nullable=True),
        sa.Column("from_e164", sa.String(length=20), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("override_opt_out", sa.Boolean(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("resend_of_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("error_text", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_messages_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_messages_candidate_id_candidates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["client_contacts.id"],
            name=op.f("fk_messages_contact_id_client_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"], ["messages.id"], name=op.f("fk_messages_in_reply_to_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["resend_of_id"], ["messages.id"], name=op.f("fk_messages_resend_of_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_messages_sender_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("uuid", name=op.f("uq_messages_uuid")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_batch_state", ["batch_id", "state"], unique=False)
        batch_op.create_index("ix_messages_candidate", ["candidate_id", "created_at"], unique=False)
        batch_op.create_index("ix_messages_claim", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_reference"), ["reference"], unique=False)
        batch_op.create_index("ix_messages_contact", ["contact_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_messages_in_reply_to_id"), ["in_reply_to_id"], unique=False
        )
        batch_op.create_index(
            "ux_messages_provider_message_id", ["provider", "provider_message_id"], unique=True
        )
        batch_op.create_index("ix_messages_to_e164", ["to_e164", "created_at"], unique=False)

    blocked = sa.table(
        "blocked_regions",
        sa.column("provider", sa.String),
        sa.column("region", sa.String),
        sa.column("name", sa.String),
        sa.column("reason", sa.String),
        sa.column("effective_date", sa.Date),
        sa.column("created_at", sa.DateTime),
    )
    op.bulk_insert(
        blocked,
        [
            {
                "provider": "smscentral",
                "region": region,
                "name": name,
                "reason": "SMS Central stopped delivering to this country (fraud protection).",
                "effective_date": date(2023, 7, 14),
                "created_at": datetime(2023, 7, 14),
            }
            for region, name in SMSCENTRAL_BLOCKED.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_to_e164")
        batch_op.drop_index("ux_messages_provider_message_id")
        batch_op.drop_index(batch_op.f("ix_messages_in_reply_to_id"))
        batch_op.drop_index("ix_messages_contact")
        batch_op.drop_index(batch_op.f("ix_messages_reference"))
        batch_op.drop_index("ix_messages_claim")
        batch_op.drop_index("ix_messages_candidate")
        batch_op.drop_index("ix_messages_batch_state")

    op.drop_table("messages")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batches_sender_id"))
        batch_op.drop_index(batch_op.f("ix_batches_created_at"))

    op.drop_table("batches")
    with op.batch_alter_table("sms_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_templates_owner_id"))

    op.drop_table("sms_templates")
    with op.batch_alter_table("compose_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compose_drafts_user_id"))

    op.drop_table("compose_drafts")
    op.drop_table("settings")
    op.drop_table("blocked_regions")
