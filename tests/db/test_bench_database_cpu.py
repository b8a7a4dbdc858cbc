"""The load bench counts the PostgreSQL server processes of the bench database's connections, and
no other: not other databases' connections on the same server, nor its background processes."""

from __future__ import annotations

import sqlalchemy as sa

from bench import load
from webapp.database import make_engine

# A background process of the server's (the checkpointer, say): it serves no database.
BACKGROUND = "SELECT pid FROM pg_stat_activity WHERE datname IS NULL LIMIT 1"


def test_the_database_connections_server_processes_are_the_ones_counted(database_url):
    if not database_url.startswith("postgresql"):
        assert load._database_server_pids(database_url) == []
        return
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            mine = str(connection.scalar(sa.text("SELECT pg_backend_pid()")))
            background = connection.scalar(sa.text(BACKGROUND))
            counted = load._database_server_pids(database_url)
    finally:
        engine.dispose()
    assert mine in counted
    assert background is not None and str(background) not in counted
