"""The CSV downloads: a batch's messages for whoever may open the batch, and the Sent log with
the Sent page's filters and permissions; both streamed as they are read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from webapp.batches.routes import batch_or_404
from webapp.exports import bp
from webapp.extensions import db
from webapp.sent.forms import SentFilterForm
from webapp.sms import exports, inbox, sent_log
from webapp.text import LEFT_OUT
from webapp.users import offices
from webapp.web.access import permission_required
from webapp.web.times import user_zone


def page_of_download(path: str) -> str | None:
    """The page whose Download CSV link is `path` (a path and query of this site), or None when
    `path` is not a download."""
    parts = urlsplit(path)
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return None
    if endpoint == "exports.batch_messages":
        return url_for("batches.show", **args)
    if endpoint == "exports.sent":
        return url_for("sent.index") + (f"?{parts.query}" if parts.query else "")
    return None


def csv_response(text: Iterator[str], filename: str) -> Response:
    """The CSV `text` streamed as a download called `filename`.

    The text reads the database a chunk at a time, each chunk in a session of its own (not the
    request's, and not stream_with_context): between chunks the download holds no connection
    and no transaction, however slowly the client reads or if it never does.
    """
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def record(what: str, rows: int, subject: object = None, **details) -> None:
    """Audit the download, for a GET only: a HEAD (a link checker, a download manager sizing the
    file) sends no rows, so it copies nothing."""
    if request.method == "GET":
        exports.record(db.session, current_user, what, rows, subject, **details)


def refusal(label: str, problem: str) -> str:
    """A filter's `problem` as the refused download says it: named once by its `label`, and without
    the page's "it was left out" (the page shows its list without the value; nothing is left out of
    a download that is not made)."""
    if problem.endswith(LEFT_OUT):
        problem = problem.removesuffix(LEFT_OUT) + "."
    if problem.startswith(label):
        return problem
    return f"{label}: {problem[:1].lower()}{problem[1:]}"


@bp.route("/batches/<id:batch_id>/messages.csv")
@login_required
def batch_messages(batch_id: int):
    """Download a batch's messages as CSV: whoever may open the batch page may download it."""
    batch = batch_or_404(batch_id)
    zone = user_zone()
    record("batch messages", exports.batch_row_count(db.session, batch.id), batch)
    text = exports.batch_csv(db.sessionmaker, batch.id, zone)
    return csv_response(text, exports.batch_filename(batch.id))


@bp.route("/sent.csv")
@permission_required(*inbox.PAGE_PERMISSIONS)
def sent():
    """Download the Sent log as CSV: every batch the Sent page lists for the same query string,
    across all its pages, one row each."""
    form = SentFilterForm.read(request.args)
    filters, errors = form.filters, form.problems
    errors.pop("page", None)  # the download has every page
    if errors:
        problems = " ".join(refusal(sent_log.LABELS[name], text) for name, text in errors.items())
        abort(400, description=f"The download was not made. {problems}")
    if filters.everyone and not current_user.can("audit.view"):
        abort(403, description="You need the permission “audit.view” to see everyone’s batches.")
    sender_id = None if filters.everyone else current_user.id
    team = offices.team_of(db.session, current_user)
    zone = user_zone()
    rows = exports.sent_row_count(db.session, sender_id, filters, team=team)
    record("sent log", rows, None, filters=filters.params())
    text = exports.sent_csv(db.sessionmaker, sender_id, filters, zone, team=team)
    return csv_response(text, exports.sent_filename(datetime.now(zone).date()))
