"""The batch page: what was sent, to whom, and each message's state."""

from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required

from webapp.batches import bp
from webapp.extensions import db
from webapp.sms import batches
from webapp.web.rendering import render


def batch_or_404(batch_id: int):
    batch = batches.visible_batch(db.session, batch_id, current_user)
    if batch is None:
        abort(404, description="There is no such batch, or it is not yours to see.")
    return batch


@bp.route("/batches/<int:batch_id>")
@login_required
def show(batch_id: int):
    """Show a batch's messages and how many are in each state."""
    batch = batch_or_404(batch_id)
    return render("batches/batch.html", blocks=["progress"], batch=batch,
                  progress=batches.progress(db.session, batch), left_out=batches.left_out(batch),
                  messages=batches.messages(db.session, batch))
