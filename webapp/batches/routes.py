"""The batch page: progress that updates itself (htmx, or a reload without JS), each message's
state, and Resend."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import worker
from webapp.batches import bp
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.ids import as_id
from webapp.models.base import utcnow
from webapp.people.kinds import KINDS
from webapp.sms import batches, sent_log
from webapp.sms.alerts import AlertSettings
from webapp.sms.compose import MAX_REASON
from webapp.sms.limits import LimitSettings
from webapp.sms.quiet_hours import QuietSettings, waiting_in_batch
from webapp.users import offices
from webapp.web.access import permission_required
from webapp.web.forms import refused, showing
from webapp.web.rendering import render
from webapp.web.sessions import AUTO_RELOAD

# Without JavaScript the page reloads itself (a <noscript> meta refresh) while htmx would poll:
# seconds between reloads while messages are on their way, then while only unknown ones are still
# being checked. Slower than htmx's 2 s and 10 s, since each reload is the whole page.
RELOAD_SECONDS = (5, 15)
# The links that stop the updates and put them back: each swaps the other in (batch.html).
TOGGLES = frozenset({"stop-reloading", "reload-by-itself"})
# A Resend that finds nothing left to queue, after this user's copies of the same messages made
# this recently, is the same press again (a slow connection): answered as the first was.
RESENT_JUST_NOW = timedelta(minutes=2)


def batch_or_404(batch_id: int):
    """The batch, if it exists and this user may see it (its sender, or audit.view: their office's
    only, with Team views by office on)."""
    batch = batches.visible_batch(
        db.session, batch_id, current_user, offices.team_of(db.session, current_user)
    )
    if batch is None:
        abort(404, description="There is no such batch, or it is not yours to see.")
    return batch


def sender_only(batch, doing: str, who: str = "sent it") -> None:
    """403 for anyone but the batch's sender: audit.view may see the batch, not act on it (a
    team leader's Resend made the copies theirs: their limit, their replies)."""
    if batch.sender_id != current_user.id:
        abort(403, description=f"Only {batch.sender.full_name}, who {who}, can {doing}.")


@bp.route("/batches/<id:batch_id>")
@login_required
def show(batch_id: int):
    """Show a batch's progress and messages; htmx polls the progress block until it is done."""
    batch = batch_or_404(batch_id)
    state = request.args.get("state")
    # A batch waiting for its time (or cancelled then) offers no state to filter by: its page
    # lists every recipient.
    if state not in batches.STATE_ORDER or batch.scheduled or batch.cancelled_at:
        state = None
    progress = batches.progress(db.session, batch)
    # A reader may stop the reloads and updates (WCAG 2.2.1, 2.2.2): each reload moves focus and
    # speech to the top, and each update redraws the message list under the reader.
    stopped = request.args.get("refresh") == "off"
    reload_after = None
    if progress.polling and not stopped and not batch.scheduled:
        # Only waiting messages left (quiet hours, a back-off): as slowly as htmx then polls.
        waiting = progress.poll_seconds == batches.WAITING_POLL
        reload_after = batches.WAITING_POLL if waiting else RELOAD_SECONDS[progress.done]
    now = utcnow()
    page = as_id(request.args.get("page")) or 1
    return render(
        "batches/batch.html",
        blocks=["progress"],
        batch=batch,
        state_filter=state,
        refresh="off" if stopped else None,
        reload_after=reload_after,
        # Stop reloading (or reload by itself) pressed with JavaScript: its answer's counterpart
        # takes the focus, which the swap took from the link pressed (htmx names it).
        focus_toggle=request.headers.get("HX-Trigger") in TOGGLES,
        # Asked for as a reload by itself, so it does not keep an idle session alive.
        reload_url=url_for(
            "batches.show",
            batch_id=batch.id,
            state=state,
            page=page if page > 1 else None,
            **AUTO_RELOAD,
        ),
        kind=KINDS.by_segment(batch.kind),
        progress=progress,
        bar_labels=batches.BAR_LABELS,
        receipt_wait_hours=int(batches.RECEIPT_WAIT.total_seconds() // 3600),
        left_out=batches.left_out(batch),
        per_page=batches.MESSAGES_PAGE,
        messages=batches.message_page(db.session, batch, state, page),
        resendable=batches.resendable_counts(db.session, batch),
        checking=batches.checking(db.session, batch),
        cancelled_by=sent_log.cancellers(db.session, [batch]).get(batch.id),
        # Messages queued for the end of their recipient's quiet hours (webapp.sms.quiet_hours).
        quiet_waiting=waiting_in_batch(db.session, batch.id, now),
        quiet_now=now,
    )


@bp.route("/batches/<id:batch_id>/resend", methods=["GET", "POST"])
@permission_required("sms.send")
def resend(batch_id: int):
    """Confirm, then queue failed (and optionally unknown) messages again as new messages: only
    those the confirmation offered."""
    batch = batch_or_404(batch_id)
    sender_only(batch, "resend its messages")
    if batch.scheduled:
        abort(409, description="This SMS is scheduled and nothing has gone yet: nothing to resend.")
    offer = batches.resend_offer(db.session, batch)
    if showing():
        return _resend_page(batch, offer)
    ignore = request.form.get("ignore") == "1"
    reason = request.form.get("ignore_reason", "")
    if ignore and not current_user.can("sms.ignore_opt_out"):
        abort(403, description="You do not have permission to ignore SMS opt-outs.")
    # Only states the page can offer: a form naming none of them (made by hand, or from an older
    # page) chose nothing, rather than finding nothing left to resend.
    states = tuple(s for s in request.form.getlist("states") if s in batches.RESENDABLE)

    def refused_page(status: int, errors: dict[str, str], shown=offer):
        return _resend_page(
            batch, shown, status=status, ignore=ignore, reason=reason, chosen=states, errors=errors
        )

    problem = None
    if not states:
        problem = "Choose which messages to resend."
    elif "unknown" in states and not offer.counts["unknown"] and offer.checking.count:
        # Resend is not offered for them yet (a page opened earlier, or a crafted form).
        problem = (
            "The unknown messages are still being checked with the gateway; "
            "they cannot be resent yet."
        )
    if problem:
        return refused_page(400, {"states": problem})
    try:
        resent = batches.resend(
            db.session,
            batch,
            current_user,
            states,
            ignore=ignore,
            reason=reason,
            limit_settings=LimitSettings.from_config(current_app.config),
            alert_settings=AlertSettings.from_config(current_app.config),
            quiet=QuietSettings.from_config(current_app.config),
            upto=as_id(request.form.get("upto")),
            # The page always posts these; a form without them (a script's) is not checked.
            offered={
                state: request.form[f"offered_{state}"]
                for state in batches.RESENDABLE
                if f"offered_{state}" in request.form
            }
            or None,
        )
    except FieldError as error:
        db.session.rollback()  # the messages' locks (SQLite's write lock) go with it
        if error.status == 409:
            # What changed is shown as it is now, to be confirmed again.
            return refused_page(409, refused(error), batches.resend_offer(db.session, batch))
        return refused_page(error.status, refused(error))
    worker.wake()
    if resent.queued:
        done = f"{resent.queued} message{'s' if resent.queued != 1 else ''} queued again."
    elif resent.skipped or resent.no_mobile:
        done = "Nothing was resent."  # the warnings below say why
    elif made := batches.copies_just_made(
        db.session, batch, current_user, as_id(request.form.get("upto")), states, RESENT_JUST_NOW
    ):
        # Resend pressed twice on a slow connection: the first press's answer never showed, and
        # this one is what the user sees. It did what they asked.
        done = (
            f"Already resent: {made} message{'s were' if made != 1 else ' was'} queued again "
            "(by your first press)."
        )
    else:
        done = (
            "Nothing was resent: the messages this page offered were resent or settled meanwhile "
            "(a second press of Resend, or another tab)."
        )
    flash(done, "info")
    if resent.skipped:
        flash(
            f"{resent.skipped} {'was' if resent.skipped == 1 else 'were'} skipped: sent under "
            f"Ignore to {'a person who has' if resent.skipped == 1 else 'people who have'} still "
            "not ticked SMS. Resending to them needs Ignore again, with a reason, by someone "
            "allowed to ignore opt-outs.",
            "warning",
        )
    if resent.no_mobile:
        flash(
            f"{resent.no_mobile} {'was' if resent.no_mobile == 1 else 'were'} skipped: "
            f"{'the record has' if resent.no_mobile == 1 else 'their records have'} no valid "
            "mobile number now. Correct the mobile on the record, then resend.",
            "warning",
        )
    return redirect(url_for("batches.show", batch_id=batch.id), 303)


def _resend_page(
    batch,
    offer: batches.ResendOffer,
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
        counts=offer.counts,
        checking=offer.checking,
        needing_ignore=offer.needing_ignore,
        no_mobile=offer.no_mobile,
        upto=offer.upto,
        offered=offer.offered,
        chosen=chosen,
        ignore=ignore,
        reason=reason,
        errors=errors or {},
        can_ignore=current_user.can("sms.ignore_opt_out"),
        max_reason=MAX_REASON,
    )
