"""SQLite's trigram full-text tables for the "contains" filters (job title / skills, position).

Migration 0018 creates them when this SQLite has FTS5 and its trigram tokenizer (3.34 or later).
Each holds the searched columns lower-cased by the app's lower() (the one LIKE searches use,
registered in webapp.database), case-sensitive, so a match is exactly a substring of what
`lower(column) LIKE '%' || lower(text) || '%'` would find. Triggers keep them in step with every
INSERT, UPDATE and DELETE, bulk ones included; only the demo seed's bulk load suspends them and
fills the table in one statement (suspended). PostgreSQL uses pg_trgm indexes instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

# The table searched for each people table, and the columns it holds (named as in the table).
TABLES = {
    "candidates": ("candidates_fts", ("job_title", "skills")),
    "client_contacts": ("client_contacts_fts", ("position",)),
}
TRIGGER_EVENTS = ("insert", "update", "delete")  # each table's triggers: <table>_<event>
# A trigram index finds nothing shorter than three characters.
MIN_LENGTH = 3


def _tokenizer_available() -> bool:
    try:
        with sqlite3.connect(":memory:") as connection:
            connection.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
    except sqlite3.Error:
        return False
    return True


AVAILABLE = _tokenizer_available()


def is_index_table(name: str | None) -> bool:
    """Whether `name` is one of these tables or the shadow tables FTS5 keeps beside it."""
    return bool(name) and any(
        name == table or name.startswith(f"{table}_") for table, _columns in TABLES.values()
    )


def table_for(table_name: str) -> str:
    return TABLES[table_name][0]


def usable(text: str) -> bool:
    """Whether a contains-search for `text` can be answered from a trigram table."""
    return AVAILABLE and len(text.lower()) >= MIN_LENGTH


def match_phrase(text: str) -> str:
    """An FTS5 query for `text` as one phrase: with the trigram tokenizer, "is a substring of"."""
    return '"' + text.lower().replace('"', '""') + '"'


def present(dbapi_info: dict, connection) -> bool:
    """Whether this SQLite database has the tables and the triggers that keep them in step
    (checked once per connection). A database migrated where the tokenizer was missing has
    none, and a later migration that rebuilt a people table (SQLite's batch mode) would have
    dropped its triggers: either way its searches scan instead, rather than miss new rows."""
    if "trigram_tables" not in dbapi_info:
        names = [table for table, _columns in TABLES.values()]
        names += [f"{table}_{event}" for table in names for event in TRIGGER_EVENTS]
        found = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'trigger') "
            f"AND name IN ({', '.join('?' * len(names))})",
            tuple(names),
        ).scalar()
        dbapi_info["trigram_tables"] = AVAILABLE and found == len(names)
    return dbapi_info["trigram_tables"]


def trigger_statements(table_name: str) -> list[str]:
    """The CREATE TRIGGER statements that keep `table_name`'s trigram table in step: a copy of
    migration 0018's, word for word (a test compares them with what the migration made), kept
    here so the migration never changes when this module does."""
    fts, columns = TABLES[table_name]
    names = ", ".join(columns)
    new = ", ".join(f"lower(new.{column})" for column in columns)
    return [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table_name} BEGIN "
        f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table_name} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; "
        f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table_name} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; END",
    ]


@contextmanager
def suspended(connection, table_name: str) -> Iterator[None]:
    """Around a bulk INSERT into `table_name` in `connection`'s transaction: drop the triggers,
    then index the new rows with one INSERT … SELECT of the text the triggers would have written
    and put the triggers back. Indexing a row at a time through the triggers made the demo seed
    ~50 % slower; one statement over all the new rows costs a fraction of that. Rows must only
    be added meanwhile, not updated or deleted. Does nothing where the database has no trigram
    tables in use (PostgreSQL, SQLite without the tokenizer, or a trigger missing).

    The DDL is in the transaction: if the insert fails, rolling back brings the triggers back.
    """
    fts, columns = TABLES[table_name]
    # Without the tables, or with a trigger missing (see present), searches scan: nothing to keep.
    if connection.dialect.name != "sqlite" or not present({}, connection):
        yield
        return
    last_id = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table_name}").scalar()
    for event in ("insert", "update", "delete"):
        connection.exec_driver_sql(f"DROP TRIGGER {fts}_{event}")
    yield
    names = ", ".join(columns)
    lowered = ", ".join(f"lower({column})" for column in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {fts} (rowid, {names}) SELECT id, {lowered} FROM {table_name} WHERE id > ?",
        (last_id,),
    )
    for statement in trigger_statements(table_name):
        connection.exec_driver_sql(statement)
