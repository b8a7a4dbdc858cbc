"""How a request's transaction ends (webapp.database.close_session): one that only read is
committed on PostgreSQL, so that psycopg keeps the statements it prepared; anything a request left
unfinished is rolled back, on every database."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.event import registry

from webapp.bulk import insert_rows
from webapp.database import close_session, is_read, make_engine, make_sessionmaker
from webapp.models import Office


@contextmanager
def endings(engine: sa.Engine) -> Iterator[list[str]]:
    """How each transaction on `engine` ends while the block runs: "commit" or "rollback"."""
    seen: list[str] = []
    listeners = {
        name: lambda _connection, name=name: seen.append(name) for name in ("commit", "rollback")
    }
    for name, listener in listeners.items():
        sa.event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            sa.event.remove(engine, name, listener)


T0 = datetime(2026, 12, 3, tzinfo=UTC)


@pytest.fixture
def database(app):
    return app.extensions["database"]


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("about PostgreSQL alone: psycopg's prepared statements, a backend terminated")
    return database_url


def saved_office(session, name: str) -> int:
    office = Office(name=name)
    session.add(office)
    session.commit()
    return office.id


def offices_named_left(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).where(Office.name == "Left"))


def test_a_transaction_that_only_read_is_committed_on_postgresql_only(database, database_url):
    work = database.sessionmaker()
    with endings(database.engine) as seen:
        work.scalar(sa.select(sa.func.count()).select_from(Office))
        work.execute(sa.text("WITH o AS (SELECT id FROM offices) SELECT count(*) FROM o"))
        close_session(work)
    assert seen == (["commit"] if database_url.startswith("postgresql") else ["rollback"])


def test_a_request_that_failed_is_rolled_back_though_it_only_read(database):
    work = database.sessionmaker()
    with endings(database.engine) as seen:
        work.scalar(sa.select(sa.func.count()).select_from(Office))
        close_session(work, failed=True)
    assert seen == ["rollback"]


def _added(work) -> None:
    work.add(Office(name="Left"))


def _read_then_added(work) -> None:
    work.scalar(sa.select(sa.func.count()).select_from(Office))
    work.add(Office(name="Left"))


def _flushed(work) -> None:
    work.add(Office(name="Left"))
    work.flush()


def _inserted_then_read(work) -> None:
    work.execute(sa.insert(Office).values(name="Left"))
    work.scalar(sa.select(sa.func.count()).select_from(Office))


def _inserted_as_text(work) -> None:
    work.execute(sa.text("INSERT INTO offices (name, created_at) VALUES ('Left', '2026-12-03')"))


def _copied(work) -> None:
    # COPY on PostgreSQL: through the driver's own cursor, which the engine's events do not see.
    work.scalar(sa.select(sa.func.count()).select_from(Office))
    insert_rows(work, Office.__table__, [{"name": "Left", "created_at": T0}])


@pytest.mark.parametrize(
    "unfinished",
    [_added, _read_then_added, _flushed, _inserted_then_read, _inserted_as_text, _copied],
    ids=[
        "added",
        "read, then added",
        "flushed",
        "inserted, then read",
        "inserted as text",
        "copied",
    ],
)
def test_what_a_request_left_unfinished_is_rolled_back(database, session, unfinished):
    work = database.sessionmaker()
    unfinished(work)
    with endings(database.engine) as seen:
        close_session(work)
    assert "commit" not in seen  # an object added but never flushed began no transaction
    assert offices_named_left(session) == 0


def test_a_failed_statement_is_rolled_back_without_a_second_error(database, session):
    work = database.sessionmaker()
    with pytest.raises(sa.exc.DBAPIError):
        work.execute(sa.text("SELECT no_such_column FROM offices"))
    with endings(database.engine) as seen:
        close_session(work)
    assert seen == ["rollback"]
    work.scalar(sa.select(sa.func.count()).select_from(Office))  # the session is usable again
    close_session(work)


def test_a_transaction_begun_on_no_connection_takes_none_to_end(database, session):
    kept = saved_office(session, "Kept")
    work = database.sessionmaker()
    office = work.get(Office, kept)
    work.commit()
    work.add(office)  # begins a transaction, with nothing to write and so on no connection
    checkouts = []

    def checked_out(*_args) -> None:
        checkouts.append(1)

    sa.event.listen(database.engine.pool, "checkout", checked_out)
    try:
        close_session(work)
    finally:
        sa.event.remove(database.engine.pool, "checkout", checked_out)
    assert checkouts == []


def test_a_failed_flush_is_rolled_back_without_a_second_error(database, session):
    saved_office(session, "Taken")
    work = database.sessionmaker()
    work.add(Office(name="Taken"))
    with pytest.raises(sa.exc.IntegrityError):
        work.flush()
    with endings(database.engine) as seen:
        close_session(work)  # the flush rolled the database back; the session still must be
    assert seen == []
    assert work.scalar(sa.select(sa.func.count()).where(Office.name == "Taken")) == 1
    close_session(work)


def test_a_connection_lost_before_the_commit_raises_nothing(postgres_only, database, session):
    work = database.sessionmaker()
    backend = work.scalar(sa.text("SELECT pg_backend_pid()"))
    session.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})
    session.commit()
    close_session(work)
    assert work.scalar(sa.text("SELECT pg_backend_pid()")) != backend  # a new connection
    close_session(work)


def test_a_connection_lost_during_the_request_is_rolled_back_without_a_second_error(
    postgres_only, database, session
):
    work = database.sessionmaker()
    backend = work.scalar(sa.text("SELECT pg_backend_pid()"))
    session.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})
    session.commit()
    with pytest.raises(sa.exc.DBAPIError):
        work.execute(sa.text("SELECT 1"))  # a page that caught the error and went on
    close_session(work)
    assert work.scalar(sa.text("SELECT pg_backend_pid()")) != backend
    close_session(work)


def test_postgresql_keeps_the_statements_pages_prepared(postgres_only, database, client, login):
    login()
    # psycopg prepares a statement run five times on a connection; the pool may hand the pages
    # out over two or three connections.
    for _ in range(18):
        assert client.get("/candidates").status_code == 200
    with database.engine.connect() as connection:
        prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
        statements = prepared.scalars().all()
    assert any("FROM user_sessions" in statement for statement in statements), statements


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_probes_end_their_reads_with_commit(postgres_only, database, client, path):
    with endings(database.engine) as seen:
        client.get(path)
    assert seen and set(seen) == {"commit"}


def test_a_sessionmaker_made_per_call_leaves_nothing_behind(tmp_path):
    # readiness() makes one per /readyz; a listener added to each stayed in SQLAlchemy's registry.
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")

    def listeners() -> int:
        gc.collect()
        return len(registry._key_to_collection)

    before = listeners()
    for _ in range(200):
        with make_sessionmaker(engine)() as work:
            work.execute(sa.text("SELECT 1"))
    assert listeners() == before
    engine.dispose()


@pytest.mark.parametrize(
    "statement, read",
    [
        ("SELECT 1", True),
        ("  select id FROM people", True),
        ("(SELECT 1) UNION (SELECT 2)", True),
        ("WITH c AS (SELECT 1) SELECT * FROM c", True),
        ("WITH c AS (SELECT 1) DELETE FROM people WHERE id IN (SELECT * FROM c)", False),
        ("BEGIN", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("SET statement_timeout = 0", False),
        ("UPDATE user_sessions SET last_seen_at = ?", False),
        ("INSERT INTO audit_events (kind) VALUES (?)", False),
    ],
)
def test_what_counts_as_a_read(statement, read):
    assert is_read(statement) is read
