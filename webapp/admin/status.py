"""The Status page: what /readyz says, in words, and the failed reply emails to retry or discard."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import abort, current_app, request, url_for
from flask_login import current_user

from webapp import version
from webapp.admin import bp
from webapp.extensions import db
from webapp.filters import page_number
from webapp.models import Email
from webapp.sms import settings as sms_settings
from webapp.sms import status
from webapp.sms.replies import KEPT_EMAIL
from webapp.web.access import permission_required
from webapp.web.forms import showing
from webapp.web.notices import back_to_section
from webapp.web.rendering import render

# Failed emails shown a page at a time: 250 once showed as 200 with no word of the rest.
FAILED_SHOWN = 200
MAX_PAGE = 10_000


def email_or_404(email_id: int) -> Email:
    email = db.session.get(Email, email_id)
    if email is None:
        abort(404, description="There is no such email.")
    return email


@bp.route("/status", endpoint="status")
@permission_required("settings.manage")
def status_page():
    """Show whether SMS Desk is doing its job, part by part, and the reply emails that failed."""
    config = current_app.config
    thresholds = status.Thresholds.from_config(config)
    state = status.readiness(db.engine, thresholds, version.version())
    errors: dict[str, str] = {}
    page = page_number((request.args.get("page") or "").strip(), MAX_PAGE, errors)
    offset = (page - 1) * FAILED_SHOWN
    # One more than a page: whether there is an older one.
    failed = status.failed_emails(db.session, FAILED_SHOWN + 1, offset) if state.database_ok else []
    return render(
        "admin/status.html",
        status=400 if errors else 200,
        state=state,
        thresholds=thresholds,
        failed=failed[:FAILED_SHOWN],
        failed_more=len(failed) > FAILED_SHOWN,
        failed_page=page,
        failed_from=offset + 1,
        failed_url=lambda number: url_for(
            "admin.status", page=number if number > 1 else None, _anchor="failed-emails"
        ),
        page_error=errors.get("page"),
    )


@bp.route("/status/emails/<id:email_id>/retry", methods=["POST"])
@permission_required("settings.manage")
def retry_email(email_id: int):
    """Send a failed reply email again, from its first attempt (audited)."""
    retry = partial(
        status.retry_email, settings=sms_settings.reply_settings(db.session, current_app.config)
    )
    return _settle_email(email_id, retry, _retried)


def _retried(email: Email) -> str:
    """What Retry did, as its notice says it: a demo keeps the email; one whose consultant left
    and with nowhere to go for unmatched replies failed again, saying why."""
    if email.state == status.FAILED_EMAIL:
        return f"could not be queued again: {(email.last_error or '').rstrip('.')}"
    if email.state == KEPT_EMAIL:
        return "is kept, not sent: this server keeps emails rather than sending them"
    return "is queued again"


@bp.route("/status/emails/<id:email_id>/discard", methods=["GET", "POST"])
@permission_required("settings.manage")
def discard_email(email_id: int):
    """Ask first, then give up on a failed reply email for good (audited): a discarded email is
    listed nowhere and cannot be retried."""
    if showing():
        email = email_or_404(email_id)
        return render(
            "admin/email_discard.html", email=email, failed=email.state == status.FAILED_EMAIL
        )
    return _settle_email(email_id, status.discard_email, "was discarded")


def _settle_email(email_id: int, action, done: str | Callable[[Email], str]):
    email = email_or_404(email_id)
    if action(db.session, email, current_user):
        said = f"The email to {email.to_address} {done if isinstance(done, str) else done(email)}."
    else:
        # Retried or discarded from another tab, or sent meanwhile: the Status page shows which.
        said = f"The email to {email.to_address} is no longer a failed email: nothing was done."
    return back_to_section("admin.status", "failed-emails", said, 303)
