"""Property test of webapp.bulk.insert_rows: on random rows it stores exactly what a plain Core
insert of the same rows stores, on SQLite (executemany) and PostgreSQL (COPY), in the tables it
writes (Send's messages and comments, the demo seed's candidates and contacts).

The values are the ones the fast path could get wrong: quotes, backslashes and COPY's own markers
("\\N", "\\."), tabs and line breaks, emoji, empty strings beside None, timestamps in other time
zones, and values repeated across rows (each distinct value is bound once and shared).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.db.property_settings import ON_A_DATABASE
from webapp.bulk import insert_rows
from webapp.models import Batch, Candidate, ClientContact, Comment, Message, SmsAccount
from webapp.models.base import UTCDateTime

TABLES = {
    "messages": Message.__table__,
    "comments": Comment.__table__,
    "candidates": Candidate.__table__,
    "client_contacts": ClientContact.__table__,
}
# Self-references would need rows inserted earlier in the same batch; they are left NULL.
ALWAYS_NULL = {"messages": {"in_reply_to_id", "resend_of_id"}}
# Distinct in every row (a unique constraint); provider_message_id is unique with provider, or NULL.
DISTINCT = {"messages": {"uuid", "provider_message_id"}}
SPECIAL_TEXT = [
    "",
    " ",
    "'",
    '"',
    "\\",
    "\\\\",
    "\\N",
    "\\.",
    "NULL",
    "\t",
    "\n",
    "\r\n",
    "a\tb\nc",
    'O\'Brien "Jr" \\ C:\\path',
    "😀",
    "Zoë 👩‍👩‍👧 ok",
    "ﬁ",
    "\u2028",
    "\x7f",
    "\x1b[0m",
]
ZONES = [
    UTC,
    timezone(timedelta(hours=10)),
    timezone(timedelta(hours=-5, minutes=-30)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
]
# Every character UTF-8 can carry except NUL, which PostgreSQL refuses in text whatever the path.
CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
PROPERTY = settings(ON_A_DATABASE, max_examples=25)


@pytest.fixture
def parents(session, make_user, make_candidate, make_contact) -> dict[str, list[int]]:
    """Committed rows the foreign keys can point at, by table name."""
    sender = make_user()
    other = make_user()
    batch = Batch(sender_id=sender.id, kind="candidates", body="Hi", provider="smscentral")
    account = SmsAccount(name="Perth SMS", slug="perth-sms", provider="smscentral")
    session.add_all([batch, account])
    session.commit()
    candidates = [make_candidate(first_name=f"Ca{i}", mobile=None).id for i in range(2)]
    contacts = [make_contact(first_name=f"Co{i}", mobile=None) for i in range(2)]
    return {
        "clients": [contacts[0].client_id],
        "users": [sender.id, other.id],
        "batches": [batch.id],
        "sms_accounts": [account.id],
        "candidates": candidates,
        "client_contacts": [contact.id for contact in contacts],
    }


def _text(max_size: int) -> st.SearchStrategy[str]:
    special = [text for text in SPECIAL_TEXT if len(text) <= max_size]
    return st.one_of(st.sampled_from(special), st.text(CHARACTERS, max_size=min(max_size, 40)))


def _values(column: sa.Column, parents: dict[str, list[int]]) -> st.SearchStrategy:
    """Values a row may hold in `column`, None included where the column takes it."""
    if column.foreign_keys:
        (key,) = column.foreign_keys
        strategy = st.sampled_from(parents[key.column.table.name])
    elif isinstance(column.type, UTCDateTime):
        strategy = st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(2200, 1, 1),
            timezones=st.sampled_from(ZONES),
        )
    elif isinstance(column.type, sa.Boolean):
        strategy = st.booleans()
    elif isinstance(column.type, sa.Integer):
        strategy = st.integers(-(2**31), 2**31 - 1)
    elif isinstance(column.type, sa.String) and column.type.length:
        strategy = _text(column.type.length)
    elif isinstance(column.type, sa.String):
        strategy = _text(400)
    else:
        raise AssertionError(f"no strategy for {column}")
    return st.one_of(st.none(), strategy) if column.nullable else strategy


@st.composite
def batches(draw, table: sa.Table, parents: dict[str, list[int]]) -> list[dict]:
    """Rows with one set of keys: every column without a default, some with a scalar one (the
    rest left to insert_rows to fill in), and values drawn often from a small shared pool."""
    n = draw(st.integers(1, 12))
    given_columns = []
    for column in table.columns:
        if column.primary_key or column.name in ALWAYS_NULL.get(table.name, ()):
            continue
        default = column.default
        if default is not None and default.is_scalar and draw(st.booleans()):
            continue  # left out: insert_rows must fill in the default
        if default is None and column.nullable and draw(st.integers(0, 3)) == 0:
            continue  # left out: NULL either way
        given_columns.append(column)
    columns: dict[str, list] = {}
    for column in given_columns:
        values = _values(column, parents)
        if column.name in DISTINCT.get(table.name, ()):
            fresh = draw(
                st.lists(
                    values.filter(lambda v: v is not None), min_size=n, max_size=n, unique=True
                )
            )
            if column.nullable:
                fresh = [draw(st.one_of(st.none(), st.just(v))) for v in fresh]
            columns[column.name] = fresh
            continue
        pool = draw(st.lists(values, min_size=1, max_size=3))
        columns[column.name] = [draw(st.one_of(st.sampled_from(pool), values)) for _ in range(n)]
    if table.name == "comments":
        _one_person_each(draw, columns, parents, n)
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _one_person_each(draw, columns: dict[str, list], parents: dict[str, list[int]], n: int) -> None:
    """A comment belongs to exactly one person (a check constraint): a candidate's, a contact's,
    or a mix with the other column given as None, as Send writes them one kind at a time."""
    columns.pop("candidate_id", None)
    columns.pop("contact_id", None)
    way = draw(st.sampled_from(["candidate_id", "contact_id", "mixed"]))
    if way != "mixed":
        table = "candidates" if way == "candidate_id" else "client_contacts"
        columns[way] = [draw(st.sampled_from(parents[table])) for _ in range(n)]
        return
    columns["candidate_id"], columns["contact_id"] = [], []
    for _ in range(n):
        if draw(st.booleans()):
            columns["candidate_id"].append(draw(st.sampled_from(parents["candidates"])))
            columns["contact_id"].append(None)
        else:
            columns["candidate_id"].append(None)
            columns["contact_id"].append(draw(st.sampled_from(parents["client_contacts"])))


def _stored(session, table: sa.Table) -> list[dict]:
    """Every row of `table` but its id, oldest first, read back through the column types."""
    columns = [column for column in table.columns if not column.primary_key]
    return [
        dict(row._mapping)
        for row in session.execute(sa.select(*columns).order_by(*table.primary_key.columns))
    ]


def _check_stores_what_a_plain_insert_stores(session, table: sa.Table, rows: list[dict]) -> None:
    before = _stored(session, table)
    try:
        insert_rows(session, table, rows)
        fast = _stored(session, table)[len(before) :]
    finally:
        session.rollback()
    try:
        session.execute(sa.insert(table), rows)
        plain = _stored(session, table)[len(before) :]
    finally:
        session.rollback()

    assert len(fast) == len(plain) == len(rows)
    for name in plain[0]:
        assert [row[name] for row in fast] == [row[name] for row in plain], name
    # And the plain insert itself kept what it was given, so the two did not agree on a loss.
    for name in rows[0]:
        assert [row[name] for row in plain] == [row[name] for row in rows], name


@pytest.mark.parametrize("table_name", list(TABLES))
@PROPERTY
@given(data=st.data())
def test_insert_rows_stores_what_a_plain_insert_stores(session, parents, table_name, data):
    table = TABLES[table_name]
    rows = data.draw(batches(table, parents), label="rows")
    _check_stores_what_a_plain_insert_stores(session, table, rows)
