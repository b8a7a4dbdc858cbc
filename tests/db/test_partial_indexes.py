"""Indexes of only some rows (migrations 0012, 0016, 0019): the migrated schema holds each with
the models' condition, which Alembic's comparison of models and schema does not look at; rows
without a value stay out of the indexes of set columns; and the lookups they serve still use them.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.db.test_inbox import plan
from webapp.models import Base, Comment, Message
from webapp.sms import history


def _condition(text: str) -> str:
    """A WHERE clause as both databases' catalogs and the models can be compared: PostgreSQL's
    casts, brackets and spaces left out."""
    return re.sub(r"[()\s]", "", text.replace("::text", ""))


def migrated_conditions(session) -> dict[str, str]:
    """Each partial index of the migrated schema, by name: its WHERE clause."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            sa.text(
                "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index"
                " WHERE indpred IS NOT NULL AND indrelid::regclass::text NOT LIKE 'pg_%'"
            )
        ).all()
    else:
        rows = [
            (name, sql.split(" WHERE ", 1)[1])
            for name, sql in session.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql != ''")
            )
            if " WHERE " in sql
        ]
    return {name: _condition(where) for name, where in rows}


def model_conditions(dialect: str) -> dict[str, str]:
    return {
        index.name: _condition(str(index.dialect_options[dialect]["where"]))
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.dialect_options[dialect]["where"] is not None
    }


def test_every_partial_index_of_the_models_is_migrated_with_its_condition(session):
    dialect = session.get_bind().dialect.name
    expected = model_conditions(dialect)
    assert {"ix_messages_candidate", "ux_messages_provider_message_id"} <= expected.keys()
    assert expected["ix_messages_candidate"] == "candidate_idISNOTNULL"
    assert migrated_conditions(session) == expected


def test_an_index_of_a_set_column_leaves_out_the_rows_without_a_value(session, ada, casey):
    message = Message(
        sender_id=casey.id, candidate_id=ada.id, to_e164="+61412345678", body="Hi", provider="x"
    )
    session.add_all([message, Comment(candidate_id=ada.id, author_id=casey.id, text="SMS sent")])
    session.commit()

    def entries(table: str, index: str) -> int:
        """The rows in `index`: its leaf cells on SQLite (dbstat); on PostgreSQL the count ANALYZE
        takes of an index's rows (exact for a table this small)."""
        if session.get_bind().dialect.name == "sqlite":
            statement = "SELECT sum(ncell) FROM dbstat WHERE name = :index AND pagetype = 'leaf'"
            return session.execute(sa.text(statement), {"index": index}).scalar() or 0
        session.execute(sa.text(f"ANALYZE {table}"))
        return int(
            session.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE relname = :index"), {"index": index}
            ).scalar_one()
        )

    assert entries("messages", "ix_messages_candidate") == 1
    assert entries("messages", "ix_messages_contact") == 0
    assert entries("messages", "ix_messages_in_reply_to_id") == 0
    assert entries("messages", "ux_messages_provider_message_id") == 0
    assert entries("comments", "ix_comments_candidate_id") == 1
    assert entries("comments", "ix_comments_contact_id") == 0


def test_a_gateway_message_id_is_still_unique_and_many_messages_may_have_none(session, casey):
    def message(provider_message_id: str | None) -> Message:
        return Message(
            sender_id=casey.id,
            to_e164="+61412345678",
            body="Hi",
            provider="smscentral",
            provider_message_id=provider_message_id,
        )

    session.add_all([message(None), message(None), message("g-1")])
    session.commit()
    session.add(message("g-1"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 3


@pytest.mark.parametrize(
    "query, index",
    [
        (history._latest("candidate_id", None), "ix_messages_candidate"),
        (history._latest("contact_id", None), "ix_messages_contact"),
        (
            sa.select(Message.id).where(
                Message.provider == "smscentral", Message.provider_message_id == "g-1"
            ),
            "ux_messages_provider_message_id",
        ),
        (sa.select(Message.id).where(Message.in_reply_to_id == 7), "ix_messages_in_reply_to_id"),
        (sa.select(Message.id).where(Message.resend_of_id == 7), "ix_messages_resend_of_id"),
        (sa.select(Comment.id).where(Comment.contact_id == 7), "ix_comments_contact_id"),
    ],
    ids=["history", "contact-history", "gateway-id", "replies-to", "resends-of", "comments"],
)
def test_lookups_of_a_value_use_the_index_of_its_set_rows(session, query, index):
    assert index in plan(session, query.params(person_id=7))
