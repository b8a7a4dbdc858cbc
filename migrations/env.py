"""Alembic environment: migrates the database named by the caller, or by DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from webapp.database import make_engine
from webapp.models import Base
from webapp.people import trigrams

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave PostgreSQL-only trigram indexes (created in 0005) and SQLite-only trigram tables
    (0018) out of model comparisons."""
    if type_ == "table" and trigrams.is_index_table(name):
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
