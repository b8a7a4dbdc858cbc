"""Logging for the web app and its commands: one handler on standard error writing text or JSON
lines, each carrying the id of the request that caused it, and one access line per request."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"

# A proxy's id is copied into every line, so it must not be able to break one (a newline would
# forge a line) or fill the log: the characters of UUIDs and of the usual trace ids, 128 at most.
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/@-]{1,128}")

# Alembic announces each of its own plugins at INFO when imported, i.e. at every process's start.
CHATTY_AT_INFO = ("alembic.runtime.plugins",)

access_log = logging.getLogger("webapp.access")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    """The id of the request being handled in this context, or "-" outside one."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (a handler filter, so records from every
    logger get it, not only the root's own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is at each line: the CLI runner and test capture swap it, and a
    handler holding the old stream would write to a closed file."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def configure(level: str = "INFO", log_format: str = "text") -> logging.Handler:
    """Send every logger's lines at `level` and above to standard error, as text or JSON.

    Calling it again (each create_app does) replaces the handler it installed before, so lines are
    never written twice; handlers others installed are left alone."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, StderrHandler):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for name in CHATTY_AT_INFO:
        logging.getLogger(name).setLevel(quiet)
    return handler


def init_app(app: Flask) -> None:
    """Give each request an id (echoed in X-Request-ID) and write its access line."""
    # Only a proxy we trust can name the request; from anyone else the header could be forged to
    # make unrelated lines look like one request.
    trust_header = int(app.config.get("TRUSTED_PROXIES") or 0) > 0

    def start() -> None:
        offered = request.headers.get(REQUEST_ID_HEADER, "") if trust_header else ""
        request_id = offered if ACCEPTED_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        _request_id.set(request_id)
        g.request_id = request_id
        g.request_started = time.perf_counter()

    def finish(response: Response) -> Response:
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        # The route's rule, never the path or query: those hold names, numbers and search terms.
        route = request.url_rule.rule if request.url_rule is not None else NO_REQUEST
        user_id = _signed_in_user_id()
        access_log.info(
            "%s %s %s %s ms user %s",
            request.method,
            route,
            response.status_code,
            duration_ms,
            user_id if user_id is not None else NO_REQUEST,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
            },
        )
        return response

    def forget(_error: BaseException | None) -> None:
        _request_id.set(NO_REQUEST)

    # First in, so the id is set before any other hook may log or answer early; after-request and
    # teardown hooks run in reverse order, so the access line is written last, with the final
    # status.
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
    app.teardown_request_funcs.setdefault(None, []).insert(0, forget)


def _signed_in_user_id() -> int | None:
    # Only a user this request already loaded: loading one here would cost a query on every
    # static file.
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)
