"""The batch page: progress that updates itself, each message's state, and Resend."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import worker
from webapp.batches import bp
from webapp.extensions import db
from webapp.sms import batches
from webapp.web.access import permission_required
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
    return render("batches/batch.html", blocks=["progress"], batch=batch, state_filter=state,
                  progress=batches.progress(db.session, batch), left_out=batches.left_out(batch),
                  messages=batches.messages(db.session, batch, state=state),
                  resendable=batches.resendable_counts(db.session, batch))


@bp.route("/batches/<id:batch_id>/resend", methods=["GET", "POST"])
@permission_required("sms.send")
def resend(batch_id: int):
    """Confirm, then queue failed (and optionally unknown) messages again as new messages."""
    batch = batch_or_404(batch_id)
    counts = batches.resendable_counts(db.session, batch)
    if request.method == "POST":
        states = tuple(request.form.getlist("states"))
        if not states:
            return render("batches/resend.html", status=400, batch=batch, counts=counts,
                          error="Choose which messages to resend.")
        queued = batches.resend(db.session, batch, current_user, states)
        worker.wake()
        flash(f"{queued} message{'s' if queued != 1 else ''} queued again." if queued
              else "Nothing to resend.", "info")
        return redirect(url_for("batches.show", batch_id=batch.id), 303)
    return render("batches/resend.html", batch=batch, counts=counts, error=None)
