"""Extension objects, created here and bound to an app in create_app()."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, has_request_context, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from webapp.database import close_session, make_engine, make_sessionmaker

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()


@dataclass
class _DatabaseState:
    engine: sa.Engine
    sessionmaker: so.sessionmaker[so.Session]
    # For form posts: every transaction begins as a writer (BEGIN IMMEDIATE on SQLite).
    writer_sessionmaker: so.sessionmaker[so.Session]


class Database:
    """One engine per app, one session per app context, closed when the context ends."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["database"] = _DatabaseState(
            engine,
            make_sessionmaker(engine),
            make_sessionmaker(engine.execution_options(sqlite_immediate=True)),
        )
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _state() -> _DatabaseState:
        return current_app.extensions["database"]

    @property
    def engine(self) -> sa.Engine:
        return self._state().engine

    @property
    def sessionmaker(self) -> so.sessionmaker[so.Session]:
        return self._state().sessionmaker

    @property
    def session(self) -> so.Session:
        if "db_session" not in g:
            state = self._state()
            if has_request_context() and (
                request.method not in SAFE_METHODS or request.blueprint == "webhooks"
            ):
                # A form post reads, then writes, and may commit a step and go on (a template
                # applied, then the screen kept): on SQLite each of its transactions must hold
                # the write lock from the start, or it fails outright when a worker writes between
                # its read and its write.
                g.db_session = state.writer_sessionmaker()
            else:
                g.db_session = state.sessionmaker()
        return g.db_session

    @staticmethod
    def roll_back() -> None:
        """Roll back the open session, if this context has one: after a failed flush or, on
        PostgreSQL, a failed statement, it refuses every read until then (an error page reads)."""
        session = g.get("db_session")
        if session is not None:
            session.rollback()

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            close_session(session, failed=exc is not None)


db = Database()
