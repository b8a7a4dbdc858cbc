"""The unmatched-reply inbox: list replies nobody could be matched to, and attach one to a
person."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp.database import reread_for_update
from webapp.extensions import db
from webapp.filters import page_number
from webapp.ids import as_id
from webapp.models import Message, User
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.replies import bp
from webapp.sms import inbox, replies
from webapp.users import offices
from webapp.web.access import permission_required
from webapp.web.rendering import render

MAX_PAGE = 10_000


@bp.route("/unmatched")
@permission_required("audit.view")
def unmatched():
    """List replies that matched no record, newest first, a page at a time."""
    errors: dict[str, str] = {}
    page = page_number((request.args.get("page") or "").strip(), MAX_PAGE, errors)
    return _page(page, status=400 if errors else 200, page_error=errors.get("page"))


# What a keyword in a reply filed by hand did, as the record page says it.
FILED_KEYWORD = {
    replies.WITHDRAWN: "It says STOP: {name}'s SMS box is unticked, as their own opt-out.",
    replies.CHANGED_SINCE: "It says STOP, but {name}'s SMS box was changed after it came: it is "
    "left as it is. Untick SMS in their Privacy section if they still want no SMS.",
    replies.START_LEFT: "It says START, from a number not on the record: SMS stays unticked. If "
    "{name} asked for SMS again, tick SMS in their Privacy section.",
}


@bp.route("/<id:reply_id>/attach", methods=["POST"])
@permission_required("audit.view")
def attach(reply_id: int):
    """File an unmatched reply on a candidate's or contact's record (audited)."""
    reply = db.session.get(Message, reply_id)
    if reply is None or reply.direction != "in":
        abort(404, description="There is no such unmatched reply.")
    # Locked before the check: two people filing it at once both passed an unlocked one and
    # both were told "filed" (22 of 30 races), a STOP unticking both people's SMS. The second
    # now waits for the first's commit and finds it filed.
    reread_for_update(db.session, reply)
    filed = replies.person_of(db.session, reply)
    if filed is not None and _may_see_filed(reply):
        # Filed meanwhile (from another tab, or by a colleague): where it is, not a bare 404.
        flash(f"This reply was filed already, on {filed.full_name}'s record.", "info")
        record = KINDS.of(filed).record_args(filed.id)
        return redirect(url_for("records.show", **record, tab="received"), 303)
    if reply.candidate_id or reply.contact_id:
        abort(404, description="There is no such unmatched reply.")
    kind = request.form.get("kind", "")
    raw_id = request.form.get("person_id", "").strip()
    person_id = as_id(raw_id)
    person = records.get_person(db.session, kind, person_id) if person_id else None
    if person is None:
        # The list again, on the page that shows this reply now (newer ones may have moved it),
        # with what was typed kept beside the reason and the focus in the id.
        return _page(
            replies.unmatched_page_of(db.session, reply.id),
            status=400,
            refused=(reply.id, kind, raw_id[:40]),
        )
    outcome = replies.attach(db.session, reply, person, current_user)
    flash(f"Reply filed on {person.full_name}'s record.", "info")
    flash(_whose(reply), "info")
    if said := FILED_KEYWORD.get(outcome):
        flash(said.format(name=person.full_name), "warning")
    record = KINDS.of(person).record_args(person.id)
    return redirect(url_for("records.show", **record, tab="received"), 303)


def _whose(reply: Message) -> str:
    """Whose Replies a reply just filed is in (replies.attach), as the notice says it."""
    if reply.sender_id is None:
        return "Nobody has sent them an SMS, so it is in no one's Replies: it is marked read."
    if reply.sender_id == current_user.id:
        return "You sent them the latest SMS, so it is in your Replies, marked read."
    name = db.session.get(User, reply.sender_id).full_name
    return f"{name} sent them the latest SMS, so it is in their Replies, unread."


def _may_see_filed(reply: Message) -> bool:
    """Whether saying where a reply is filed tells this user nothing they may not see: one filed
    by hand (unmatched, it answered nobody: every user here saw it on Unmatched replies), or one
    their inbox shows (with Team views by office on, not another office's). One filed by hand
    answers no message, though it is given to whoever texted the person last (replies.attach)."""
    if reply.sender_id is None or reply.in_reply_to_id is None:
        return True
    team = offices.team_of(db.session, current_user)
    return inbox.visible_reply(db.session, reply.id, current_user, team) is not None


def _page(page: int, *, status: int = 200, page_error=None, refused=None):
    """The unmatched replies' page `page`; `refused`: (reply id, record type, id) as typed for a
    reply whose filing was refused."""
    return render(
        "replies/unmatched.html",
        status=status,
        results=replies.unmatched(db.session, page),
        kinds=KINDS,
        page_error=page_error,
        refused=refused,
        refusal="Choose candidate or contact and give the id of an existing record.",
        page_url=lambda number: url_for("replies.unmatched", page=number if number > 1 else None),
    )
