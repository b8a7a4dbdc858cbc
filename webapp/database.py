"""Engines and sessions for SQLite and PostgreSQL, free of Flask so the worker and CLI share
them."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs."""
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
    return sa.create_engine(url, **kwargs)


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


def is_sqlite(bind: sa.Engine | sa.Connection | so.Session) -> bool:
    if isinstance(bind, so.Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"
