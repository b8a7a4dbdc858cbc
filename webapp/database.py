"""Engines and sessions for SQLite and PostgreSQL, free of Flask so the worker and CLI share
them."""

from __future__ import annotations

import re
from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 10_000

# A connection's info key: True while its transaction has sent only reads (PostgreSQL only).
ONLY_READ = "only_read"
_BEGUN = "database.begun"  # session.info key: (its transaction, the connection it began on)
_READ = re.compile(r"^\s*(\(\s*)*(select|with)\b", re.IGNORECASE)
_WRITE = re.compile(r"\b(insert|update|delete)\b", re.IGNORECASE)


def make_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs;
    PostgreSQL a pinged pool whose connections note whether their transaction only read (for
    close_session)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = sa.create_engine(url, **kwargs)
    _note_reads(engine)
    return engine


# Asked of every statement on PostgreSQL; a page sends the same few strings each time, and the
# search's are long enough (several KB) for the WITH scan to show in a profile of the page.
@lru_cache(maxsize=1024)
def is_read(statement: str) -> bool:
    """Whether a statement only reads (SELECT, or WITH … SELECT with no writing part)."""
    if not _READ.match(statement):
        return False
    return not (statement.lstrip()[:4].lower() == "with" and _WRITE.search(statement))


def _note_reads(engine: sa.Engine) -> None:
    """Keep ONLY_READ in each connection's info: set when its transaction begins, cleared by any
    statement that is not a read or that fails. close_session() reads it."""

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.info[ONLY_READ] = True

    @event.listens_for(engine, "before_cursor_execute")
    def on_execute(connection, _cursor, statement, _parameters, _context, _executemany):
        if not is_read(statement):
            connection.info[ONLY_READ] = False

    @event.listens_for(engine, "handle_error")
    def on_error(context):
        if context.connection is not None:
            context.connection.info[ONLY_READ] = False


def close_session(session: so.Session, failed: bool = False) -> None:
    """Close `session`, ending a transaction that only read with COMMIT rather than ROLLBACK.

    To the server the two are the same for a transaction that wrote nothing; but psycopg forgets
    every prepared statement on a ROLLBACK, and a page ends its transaction that way, so without
    this PostgreSQL would parse and plan each page's queries afresh: psycopg prepares a statement
    only once it has run five times on a connection. Anything else is rolled back as before: a
    request that raised, a statement that wrote or failed, a connection lost, ORM changes not yet
    flushed, and every transaction on SQLite (which has no such cache to keep).
    """
    if not failed and _only_read(session):
        try:
            session.commit()
        except sa.exc.DBAPIError:
            # It only read, so nothing is lost (a connection dropped, say): close() below ends
            # the session as it would have.
            pass
    session.close()


def _only_read(session: so.Session) -> bool:
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:  # none, or a failed flush's
        return False
    if session.new or session.dirty or session.deleted:
        return False
    # The connection this transaction began on, if it began on one: session.connection() would
    # check one out (and connect, or on SQLite take the write lock) for a transaction that has
    # none yet.
    begun, connection = session.info.get(_BEGUN, (None, None))
    if begun is not transaction:
        return False
    # A connection lost mid-transaction is invalidated; reading its info would raise.
    return not connection.invalidated and connection.info.get(ONLY_READ) is True


# On the Session class, once: a listener per sessionmaker (readiness makes one per call) would
# stay in SQLAlchemy's event registry after the sessionmaker is gone.
@event.listens_for(so.Session, "after_begin")
def _note_connection(
    session: so.Session, transaction: so.SessionTransaction, connection: sa.Connection
) -> None:
    if transaction.parent is None:
        session.info[_BEGUN] = (transaction, connection)


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling defers BEGIN and cannot do BEGIN IMMEDIATE;
        # turning it off lets SQLAlchemy's "begin" event below issue the statement we choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII only; searches must match "MÜLLER" to "müller" too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # A writer that reads then writes (claiming messages) must hold the write lock from the
        # start, or two workers both read the same rows and one fails at commit.
        if connection.get_execution_options().get("sqlite_immediate"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def make_sessionmaker(engine: sa.Engine) -> so.sessionmaker[so.Session]:
    return so.sessionmaker(engine, expire_on_commit=False)


def begin_write(session: so.Session) -> None:
    """Start the session's next transaction as a writer.

    On SQLite a transaction that reads and then writes fails at once ("database is locked",
    without waiting) if another connection wrote in between; taking the write lock first
    (BEGIN IMMEDIATE) makes it wait its turn instead. PostgreSQL needs nothing.
    """
    if not is_sqlite(session):
        return
    if session.in_transaction():
        connection = session.connection()
        if connection.get_execution_options().get("sqlite_immediate"):
            return
        session.rollback()
    session.connection(execution_options={"sqlite_immediate": True})


def reread_for_update(session: so.Session, row) -> None:
    """Read `row` afresh under the lock its save will hold (SQLite's write lock; FOR UPDATE on
    PostgreSQL), so no other save lands between a comparison with it and this one. FOR UPDATE OF
    its own table: a row read with an eager outer join (a user's office) cannot lock the join's
    nullable side on PostgreSQL."""
    begin_write(session)
    session.refresh(row, with_for_update={"of": type(row)})


def read(
    session: so.Session, statement: sa.Executable, parameters: dict | None = None
) -> sa.CursorResult:
    """Run a SELECT of columns, not of ORM objects, on the session's connection, flushing first
    unless autoflush is off (session.execute flushes for statements of mapped classes; this does
    for any). The ORM's own pass over a statement costs more than a small query does: the
    settings' read took 47 µs through session.execute and 19 µs this way."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, parameters)


def is_sqlite(bind: sa.Engine | sa.Connection | so.Session) -> bool:
    if isinstance(bind, so.Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"
