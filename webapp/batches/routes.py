"""The batch page: progress that updates itself, each message's state, and Resend."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import worker
from webapp.batches import bp
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.people.kinds import KINDS
from webapp.sms import batches
from webapp.sms.compose import MAX_REASON
from webapp.web.access import permission_required
from webapp.web.forms import field_error
from webapp.web.rendering import render


def batch_or_404(batch_id: int):
    """The batch, if it exists and this user may see it (its sender, or audit.view)."""
    batch = batches.visible_batch(db.session, batch_id, current_user)
    if batch is None:
        abort(404, description="There is no such batch, or it is not yours to see.")
    return batch


@bp.route("/batches/<id:batch_id>")
@login_required
def show(batch_id: int):
    """Show a batch's progress and messages; htmx polls the progress block until it is done."""
    batch = batch_or_404(batch_id)
    state = request.args.get("state")
    if state not in batches.STATE_ORDER:
        state = None
    return render(
        "batches/batch.html",
        blocks=["progress"],
        batch=batch,
        state_filter=state,
        kind=KINDS.by_segment(batch.kind),
        progress=batches.progress(db.session, batch),
        left_out=batches.left_out(batch),
        messages=batches.messages(db.session, batch, state=state),
        resendable=batches.resendable_counts(db.session, batch),
        checking=batches.checking(db.session, batch),
    )


@bp.route("/batches/<id:batch_id>/resend", methods=["GET", "POST"])
@permission_required("sms.send")
def resend(batch_id: int):
    """Confirm, then queue failed (and optionally unknown) messages again as new messages."""
    batch = batch_or_404(batch_id)
    counts = batches.resendable_counts(db.session, batch)
    needing_ignore = batches.needing_ignore(db.session, batch)
    checking = batches.checking(db.session, batch)
    if request.method == "GET":
        return _resend_page(batch, counts, needing_ignore, checking)
    ignore = request.form.get("ignore") == "1"
    reason = request.form.get("ignore_reason", "")
    if ignore and not current_user.can("sms.ignore_opt_out"):
        abort(403, description="You do not have permission to ignore SMS opt-outs.")
    states = tuple(request.form.getlist("states"))
    problem = None
    if not states:
        problem = "Choose which messages to resend."
    elif "unknown" in states and not counts["unknown"] and checking.count:
        # Resend is not offered for them yet (a page opened earlier, or a crafted form).
        problem = (
            "The unknown messages are still being checked with the gateway; "
            "they cannot be resent yet."
        )
    if problem:
        return _resend_page(
            batch,
            counts,
            needing_ignore,
            checking,
            status=400,
            ignore=ignore,
            reason=reason,
            chosen=states,
            errors={"states": problem},
        )
    try:
        resent = batches.resend(
            db.session, batch, current_user, states, ignore=ignore, reason=reason
        )
    except FieldError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403, description=error.message)
        errors: dict[str, str] = {}
        field_error(errors, error)
        return _resend_page(
            batch,
            counts,
            needing_ignore,
            checking,
            status=error.status,
            ignore=ignore,
            reason=reason,
            chosen=states,
            errors=errors,
        )
    worker.wake()
    flash(
        f"{resent.queued} message{'s' if resent.queued != 1 else ''} queued again."
        if resent.queued
        else "Nothing was resent.",
        "info",
    )
    if resent.skipped:
        flash(
            f"{resent.skipped} {'was' if resent.skipped == 1 else 'were'} skipped: sent under "
            f"Ignore to {'a person who has' if resent.skipped == 1 else 'people who have'} still "
            "not ticked SMS. Resending to them needs Ignore again, with a reason, by someone "
            "allowed to ignore opt-outs.",
            "warning",
        )
    return redirect(url_for("batches.show", batch_id=batch.id), 303)


def _resend_page(
    batch,
    counts,
    needing_ignore,
    checking,
    *,
    status: int = 200,
    ignore: bool = False,
    reason: str = "",
    chosen: tuple[str, ...] = ("failed",),
    errors: dict[str, str] | None = None,
):
    """The confirmation; a refused one keeps what was ticked and typed."""
    return render(
        "batches/resend.html",
        status=status,
        batch=batch,
        counts=counts,
        chosen=chosen,
        checking=checking,
        needing_ignore=needing_ignore,
        ignore=ignore,
        reason=reason,
        errors=errors or {},
        can_ignore=current_user.can("sms.ignore_opt_out"),
        max_reason=MAX_REASON,
    )
