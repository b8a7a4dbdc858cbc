"""Error pages: a message the user can act on, as a whole page or an htmx alert."""

from __future__ import annotations

import sqlalchemy
from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db, login_manager
from webapp.web.rendering import render, wants_fragment


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)


def csrf_error(error: CSRFError):
    """A stale or missing form token: htmx reloads the page to get a fresh one."""
    if request.htmx:
        return "The form had expired; the page has been reloaded.", 400, {"HX-Refresh": "true"}
    return render(
        "errors/error.html",
        status=400,
        title="The form had expired",
        message="The page was open too long or the form was not sent from this site. "
        "Go back, reload the page and try again.",
        as_alert=False,
    )


DATABASE_DOWN = (
    "The database did not answer as expected: it may be unreachable or busy. Try again in a "
    "minute; if this goes on, tell your administrator."
)
# What the driver raises when the database cannot be reached, the connection dropped or it was
# too busy (SQLite's lock); also some errors of the database's own, which the words above allow.
_DATABASE_FAILURES = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


def _recover_database() -> None:
    """Make an error page drawable after the request's database work failed: that work is rolled
    back (a session holding a failed flush, or PostgreSQL's aborted transaction, refuses every
    read until then), and where the user cannot be read at all (the database is down) the page is
    drawn as for a visitor rather than failing again into the WSGI server's bare 500."""
    try:
        db.roll_back()
        user = current_user._get_current_object()  # the signed-in user loaded, or the visitor
        if user.is_authenticated:
            user.full_name  # noqa: B018 — read again after the rollback, as the page will
    except sqlalchemy.exc.SQLAlchemyError:
        current_app.logger.warning("error page drawn without the database", exc_info=True)
        login_manager._update_request_context_with_user(None)  # Flask-Login's own way to g


def http_error(error: HTTPException):
    """Any 4xx/5xx, including an unhandled exception outside tests (Flask turns it into a 500)."""
    if error.code is None or error.code < 400:
        return error
    message = error.description or error.name
    if error.code >= 500:
        _recover_database()
        if isinstance(getattr(error, "original_exception", None), _DATABASE_FAILURES):
            message = DATABASE_DOWN
    fragment = wants_fragment()
    response = render(
        "errors/error.html",
        blocks=["alert"],
        status=error.code,
        as_alert=fragment,
        title=f"{error.code} {error.name}",
        message=message,
    )
    if fragment:
        # Fragments go to the alert live region whatever the element asked for.
        response.headers["HX-Retarget"] = "#live-alert"
        response.headers["HX-Reswap"] = "innerHTML"
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
