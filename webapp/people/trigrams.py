"""SQLite's trigram full-text tables for the "contains" filters (job title / skills, position).

Migration 0018 creates them when this SQLite has FTS5 and its trigram tokenizer (3.34 or later).
Each holds the searched columns lower-cased by the app's lower() (the one LIKE searches use,
registered in webapp.database), case-sensitive, so a match is exactly a substring of what
`lower(column) LIKE '%' || lower(text) || '%'` would find. Triggers keep them in step with every
INSERT, UPDATE and DELETE, bulk ones included. PostgreSQL uses pg_trgm indexes instead.
"""

from __future__ import annotations

import sqlite3

# The table searched for each people table, and the columns it holds (named as in the table).
TABLES = {
    "candidates": ("candidates_fts", ("job_title", "skills")),
    "client_contacts": ("client_contacts_fts", ("position",)),
}
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
    """Whether this SQLite database has the tables (checked once per connection: a database
    migrated where the tokenizer was missing has none, and its searches scan instead)."""
    if "trigram_tables" not in dbapi_info:
        names = {table for table, _columns in TABLES.values()}
        found = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
            tuple(sorted(names)),
        ).scalar()
        dbapi_info["trigram_tables"] = AVAILABLE and found == len(names)
    return dbapi_info["trigram_tables"]
