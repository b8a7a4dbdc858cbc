"""Send later on the batch pages: cancel a scheduled send (after a confirmation) and edit its text
until it goes; the work is webapp.sms.schedule's, these views read the form and render."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.batches import bp
from webapp.batches.forms import ScheduledTextForm
from webapp.batches.routes import batch_or_404, sender_only
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import Batch
from webapp.models.base import utcnow
from webapp.sms import compose, opt_out_line, schedule, segments, sent_log
from webapp.web.access import local_path
from webapp.web.forms import refused, showing
from webapp.web.rendering import render, wants_fragment
from webapp.web.times import when


def no_longer_scheduled(batch: Batch) -> str:
    """Why a batch can no longer be cancelled or edited: it went, or someone cancelled it."""
    if batch.cancelled_at is not None:
        name = sent_log.cancellers(db.session, [batch]).get(batch.id, "someone")
        return (
            f"This SMS is no longer scheduled: {name} cancelled it at "
            f"{when(batch.cancelled_at)}, and nothing was sent."
        )
    if batch.released_at is not None and schedule.refused_at_release(db.session, batch):
        return (
            f"This SMS is no longer scheduled: it was released at {when(batch.released_at)} and "
            "refused then, so nothing was sent (the batch page says why)."
        )
    if batch.released_at is not None:
        return f"This SMS is no longer scheduled: it went at {when(batch.released_at)}."
    return "This SMS was not scheduled: it went when it was sent."


# A cancel that finds the batch cancelled by this user this recently is the same press again (a
# slow connection, or the question open in two tabs): answered as the first was.
CANCELLED_JUST_NOW = timedelta(minutes=2)


def sent_list_back() -> str | None:
    """The Sent list the cancel was opened from, with its filters and page (the row's form and
    the question carry it as `back`): only a page of this site's Sent list, never elsewhere."""
    back = local_path(request.values.get("back"))
    return back if back and urlsplit(back).path == url_for("sent.index") else None


@bp.route("/batches/<id:batch_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(batch_id: int):
    """Ask, then cancel a scheduled send: its messages are withdrawn before any of them goes."""
    batch = batch_or_404(batch_id)
    sender_only(batch, "cancel its send", "scheduled it")
    back = sent_list_back()
    if showing():
        if not batch.scheduled:
            return _cancel_page(batch, back, problem=no_longer_scheduled(batch), status=409)
        return _cancel_page(batch, back)
    try:
        withdrawn = schedule.cancel(db.session, batch, current_user)
    except FieldError as error:
        refused(error)  # rolled back; a 403 ends here
        db.session.refresh(batch)
        if error.status == 409 and _cancelled_just_now_by_me(batch):
            # Pressed twice: the first press's answer never showed, and this one is what the user
            # sees. Their cancel worked (as a second Save of Edit text does).
            return _cancelled(batch.message_count, back)
        # 409: it went, or another tab cancelled it, meanwhile.
        problem = no_longer_scheduled(batch) if error.status == 409 else error.message
        return _cancel_page(batch, back, problem=problem, status=error.status)
    return _cancelled(withdrawn, back)


def _cancelled_just_now_by_me(batch: Batch) -> bool:
    return (
        batch.cancelled_at is not None
        and batch.cancelled_by_id == current_user.id
        and batch.cancelled_at >= utcnow() - CANCELLED_JUST_NOW
    )


def _cancelled(withdrawn: int, back: str | None):
    flash(
        f"Scheduled send cancelled: {withdrawn:,} message{'' if withdrawn == 1 else 's'} "
        "withdrawn; nothing was sent.",
        "info",
    )
    return redirect(back or url_for("sent.index"), 303)


def _cancel_page(batch: Batch, back: str | None, *, problem: str | None = None, status: int = 200):
    return render("batches/cancel.html", status=status, batch=batch, problem=problem, back=back)


@bp.route("/batches/<id:batch_id>/edit", methods=["GET", "POST"])
@login_required
def edit(batch_id: int):
    """Change a scheduled send's text until it goes; each person's message is made again."""
    batch = batch_or_404(batch_id)
    sender_only(batch, "edit its text", "scheduled it")
    form = ScheduledTextForm()
    if showing():
        form.message.data = form.shown.data = schedule.editable_text(batch)
        if not batch.scheduled:
            return _edit_page(batch, form, {"form": no_longer_scheduled(batch)}, status=409)
        return _edit_page(batch, form)
    if request.form.get("action") == "counter":
        # The live counter as one types (htmx only): nothing is saved.
        if not wants_fragment():
            return redirect(url_for("batches.edit", batch_id=batch.id), 303)
        return _edit_page(batch, form, blocks=["counter"])
    # The text the form was opened with (none from a script's post: saved as posted).
    shown = form.shown.data if "shown" in request.form else None
    try:
        schedule.edit_text(db.session, batch, current_user, form.message.data or "", shown)
    except schedule.ChangedMeanwhile as error:
        # What was typed stays in the box; the form now holds the stored text, so a second Save
        # replaces it on purpose.
        db.session.refresh(batch)
        form.shown.data = error.stored
        return _edit_page(batch, form, {"form": error.message}, status=409)
    except FieldError as error:
        errors = refused(error)  # rolled back; a 403 ends here
        db.session.refresh(batch)
        if error.status == 409:
            errors = {"form": no_longer_scheduled(batch)}
        # What was typed stays in the box, to be copied when it can no longer be saved.
        return _edit_page(batch, form, errors, status=error.status)
    flash(
        f"Text saved: the {batch.message_count:,} "
        f"{'message goes' if batch.message_count == 1 else 'messages go'} with it at "
        f"{when(batch.send_at)}.",
        "info",
    )
    return redirect(url_for("batches.show", batch_id=batch.id), 303)


def _edit_page(
    batch: Batch,
    form: ScheduledTextForm,
    errors: dict[str, str] | None = None,
    status: int = 200,
    blocks: list[str] | None = None,
):
    text = form.message.data or ""
    return render(
        "batches/edit.html",
        blocks=blocks or (),
        status=status,
        batch=batch,
        form=form,
        errors=errors or {},
        # The typed text's own count: merge fields change it per person, as on the SMS screen.
        count=segments.count(opt_out_line.with_line(text, batch.commercial, batch.opt_out_line)),
        line=batch.opt_out_line if batch.commercial else None,
        max_characters=compose.MAX_CHARACTERS,
    )
