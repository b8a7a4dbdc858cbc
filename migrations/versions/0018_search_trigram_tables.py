"""Serve SQLite's "contains" filters from trigram full-text tables, and location + status ranked
by name from one covering index.

Job title / skills and position "contains" read every row on SQLite (a LIKE '%…%' no index
serves): ~50 ms at a million candidates. An FTS5 table with the trigram tokenizer answers a
substring of three or more characters from its index. It holds the columns lower-cased by the
app's lower() (the one the LIKE uses) and matches case-sensitively, so it finds exactly what the
LIKE does; triggers keep it in step with every insert, update and delete (bulk imports and the
demo seed are plain INSERTs). SQLite without FTS5 or the trigram tokenizer (before 3.34) gets no
tables and keeps scanning. PostgreSQL has pg_trgm indexes for these since 0005.

Location + status sorted by name read every matching row to sort them (~30 ms for "syd" +
Active): (status, location_key, last_name_key, first_name_key, id) ranks them from the index.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlite3

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Written out rather than imported from webapp.people.trigrams, so this revision stays as it was.
TABLES = {
    "candidates": ("candidates_fts", ("job_title", "skills")),
    "client_contacts": ("client_contacts_fts", ("position",)),
}


def _trigram_available() -> bool:
    # The database's SQLite is this process's sqlite3 library.
    try:
        with sqlite3.connect(":memory:") as connection:
            connection.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
    except sqlite3.Error:
        return False
    return True


def upgrade() -> None:
    op.create_index(
        "ix_candidates_status_location",
        "candidates",
        ["status", "location_key", "last_name_key", "first_name_key", "id"],
    )
    if op.get_bind().dialect.name != "sqlite" or not _trigram_available():
        return
    for table, (fts, columns) in TABLES.items():
        names = ", ".join(columns)
        new = ", ".join(f"lower(new.{column})" for column in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, tokenize='trigram case_sensitive 1')"
        )
        lowered = ", ".join(f"lower({column})" for column in columns)
        op.execute(f"INSERT INTO {fts} (rowid, {names}) SELECT id, {lowered} FROM {table}")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; "
            f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for fts, _columns in TABLES.values():
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    op.drop_index("ix_candidates_status_location", table_name="candidates")
