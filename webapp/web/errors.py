"""Error pages: a message the user can act on, as a whole page or an htmx alert."""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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


def http_error(error: HTTPException):
    """Any 4xx/5xx, including an unhandled exception outside tests (Flask turns it into a 500)."""
    if error.code is None or error.code < 400:
        return error
    fragment = wants_fragment()
    response = render(
        "errors/error.html",
        blocks=["alert"],
        status=error.code,
        as_alert=fragment,
        title=f"{error.code} {error.name}",
        message=error.description or error.name,
    )
    if fragment:
        # Fragments go to the alert live region whatever the element asked for.
        response.headers["HX-Retarget"] = "#live-alert"
        response.headers["HX-Reswap"] = "innerHTML"
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
