"""Error pages: a message the user can act on, as a whole page or an htmx alert."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy
from flask import Flask, current_app, flash, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db, login_manager
from webapp.web.access import local_path
from webapp.web.rendering import render, wants_fragment


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)


# A form token has no time limit: a page's goes stale when the session it was drawn in ends (signed
# out, or in again, here or in another tab), or the post came from another site. Back would not
# help (pages are not kept: no-store); with JavaScript, what was typed waits in the tab and comes
# back when the page is opened again (static/js/compose.js).
EXPIRED = (
    "Nothing was done: this page was opened before you last signed in or out (here or in another "
    "tab), or the form was not sent from this site. Open the page again and retry."
)
SIGNED_OUT = (
    "Nothing was done: you were signed out (here or in another tab) after this page was opened, "
    "so its form had expired. Sign in again, then retry."
)
# Said on the page an htmx request's reload draws: the sign-in page, or the page again.
SIGNED_OUT_WHILE_OPEN = (
    "You were signed out (here or in another tab) while a page was open. Sign in again to go "
    "back to it."
)
RELOADED = (
    "This page was reloaded: it was opened before you last signed in or out (here or in another "
    "tab), so what you last did on it was not done. Check it, then try again."
)


def _from_this_site() -> bool:
    """Whether the browser says the request came from one of our own pages: Sec-Fetch-Site where
    it sends it, else the Origin or Referer's host (older and lightweight browsers)."""
    fetched = request.headers.get("Sec-Fetch-Site")
    if fetched:
        return fetched == "same-origin"
    source = request.headers.get("Origin") or request.referrer
    try:
        return bool(source) and urlsplit(source).netloc == request.host
    except ValueError:  # an address urlsplit cannot read ("http://[")
        return False


def csrf_error(error: CSRFError):
    """A form token this browser's session did not give: nothing is done, and the answer says
    why. htmx reloads the page (a signed-out one then goes to the sign-in page, saying so); the
    sign-in form comes back with its username; a Sign out signs out all the same."""
    if request.endpoint == "auth.logout" and _from_this_site():
        # Signed out all the same: refusing a stale one left a shared computer signed in. Only
        # from our own pages: another host of the intranet is the "same site" to SameSite=Lax,
        # and could otherwise sign recruiters out at will.
        # Imported here: the sign-in views import this package.
        from webapp.auth.routes import signed_out

        response = signed_out()
        if request.htmx:
            return "", 200, {"HX-Redirect": response.location}
        return response
    signed_in = current_user.is_authenticated
    if request.htmx:
        flash(RELOADED if signed_in else SIGNED_OUT_WHILE_OPEN, "info")
        return "The form had expired; the page has been reloaded.", 400, {"HX-Refresh": "true"}
    if request.endpoint == "auth.login":
        # Imported here: the sign-in views import this package.
        from webapp.auth.routes import expired_sign_in

        return expired_sign_in()
    back = local_path(request.referrer)
    if not signed_in:
        return render(
            "errors/error.html",
            status=400,
            title="You are signed out",
            message=SIGNED_OUT,
            as_alert=False,
            keep_typed=True,
            link=(url_for("auth.login", next=back), "Sign in again"),
        )
    return render(
        "errors/error.html",
        status=400,
        title="The form had expired",
        message=EXPIRED,
        as_alert=False,
        keep_typed=True,
        link=(back, "Open the page again") if back else None,
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
