"""The unmatched-reply inbox: list replies nobody could be matched to, and attach one to a
person."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import Message
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.replies import bp
from webapp.sms import replies
from webapp.web.access import permission_required
from webapp.web.rendering import render


@bp.route("/unmatched")
@permission_required("audit.view")
def unmatched():
    """List replies that matched no record, newest first."""
    return render(
        "replies/unmatched.html", replies=replies.unmatched(db.session), errors={}, kinds=KINDS
    )


@bp.route("/<id:reply_id>/attach", methods=["POST"])
@permission_required("audit.view")
def attach(reply_id: int):
    """File an unmatched reply on a candidate's or contact's record (audited)."""
    reply = db.session.get(Message, reply_id)
    if reply is None or reply.direction != "in" or reply.candidate_id or reply.contact_id:
        abort(404, description="There is no such unmatched reply.")
    kind = request.form.get("kind", "")
    raw_id = request.form.get("person_id", "").strip()
    person_id = as_id(raw_id)
    person = records.get_person(db.session, kind, person_id) if person_id else None
    if person is None:
        return render(
            "replies/unmatched.html",
            status=400,
            replies=replies.unmatched(db.session),
            errors={reply.id: "Choose candidate or contact and give the id of an existing record."},
            kinds=KINDS,
        )
    replies.attach(db.session, reply, person, current_user)
    flash(f"Reply filed on {person.full_name}'s record.", "info")
    record = KINDS.of(person).record_args(person.id)
    return redirect(url_for("records.show", **record, tab="received"), 303)
