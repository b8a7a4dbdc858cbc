"""The Replies inbox: list replies, open one (read, then its person's record), mark read or
unread, and the unread count the navigation refreshes."""

from __future__ import annotations

import hmac

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from webapp.database import begin_write
from webapp.extensions import db
from webapp.filters import page_number
from webapp.inbox import bp
from webapp.sms import history, inbox, replies
from webapp.users import offices
from webapp.web import navigation
from webapp.web.access import permission_required
from webapp.web.rendering import render, wants_fragment

EVERYONE = "everyone"


def reply_or_404(reply_id: int, team: offices.Team | None):
    """The reply, if it exists and this user may see it (it answers their message, or
    audit.view); `team` is the user's, from offices.team_of."""
    reply = inbox.visible_reply(db.session, reply_id, current_user, team)
    if reply is None:
        abort(404, description="There is no such reply, or it is not yours to see.")
    return reply


def _listing(errors: dict[str, str] | None = None) -> tuple[bool, int]:
    """Whose replies (everyone's or mine) and which page, from the query string or the form; a
    page that is not 1 to inbox.MAX_PAGE is page 1, named in `errors`."""
    values = request.values
    everyone = values.get("who") == EVERYONE
    if everyone and not current_user.can("audit.view"):
        abort(403, description="You need the permission “audit.view” to see everyone’s replies.")
    page = page_number(
        (values.get("page") or "").strip(), inbox.MAX_PAGE, {} if errors is None else errors
    )
    return everyone, page


def _list_url(everyone: bool, page: int) -> str:
    return url_for(
        "inbox.index", who=EVERYONE if everyone else None, page=page if page > 1 else None
    )


@bp.route("/replies")
@permission_required(*inbox.PAGE_PERMISSIONS)
def index():
    """List replies to my messages (or everyone's, with audit.view), newest first; unread in
    bold."""
    # A page typed wrong is said, as on Sent and Unmatched replies, not shown as page 1 unsaid.
    errors: dict[str, str] = {}
    everyone, page = _listing(errors)
    team = offices.team_of(db.session, current_user)
    results = inbox.search(db.session, None if everyone else current_user.id, page, team=team)
    return render(
        "replies/inbox.html",
        blocks=["results"],
        status=400 if errors else 200,
        page_error=errors.get("page"),
        results=results,
        everyone=everyone,
        may_see_everyone=current_user.can("audit.view"),
        # A team leader limited to their office sees only its replies as "everyone's" (as on Sent).
        team_only=team is not None,
        list_url=_list_url,
        page_url=lambda number: _list_url(everyone, number),
        unread=navigation.unread_replies(errors_raised=True),
    )


@bp.route("/replies/unread")
@permission_required(*inbox.PAGE_PERMISSIONS)
def unread():
    """The unread count beside the Replies link, for the navigation's poll (htmx only)."""
    if not wants_fragment():
        return redirect(url_for("inbox.index"))
    return render(
        "replies/inbox.html",
        blocks=["unread"],
        unread=navigation.unread_replies(errors_raised=True),
    )


# GET too: the reply email's link opens the reply as Open does (signing in first if need be).
# A GET marks it read only with the email's key (replies.open_key): the session cookie is
# SameSite=Lax, so another site's link or GET form would come with it, guessing reply ids.
@bp.route("/replies/<id:reply_id>/open", methods=["GET", "POST"])
@permission_required(*inbox.PAGE_PERMISSIONS)
def open_reply(reply_id: int):
    """Open a reply: read (when it is mine), then the conversation on its person's record."""
    reply = reply_or_404(reply_id, offices.team_of(db.session, current_user))
    if request.method == "POST" or _emails_key(reply):
        begin_write(db.session)  # a GET's session does not take SQLite's write lock by itself
        inbox.opened(db.session, reply, current_user)
    kind = inbox.kind_of(reply)
    if kind is None:
        # Its record was removed since: the list is all there is to go back to.
        return redirect(_list_url(*_listing()), 303)
    record = kind.record_args(getattr(reply, kind.person_column))
    # On All while the reply is among the latest messages it shows, else on Received: the anchor
    # must find it.
    tab = history.tab_showing(db.session, kind.person_column, reply)
    shown = {} if tab == history.ALL else {"tab": tab}
    return redirect(url_for("records.show", **record, **shown, _anchor=f"message-{reply.id}"), 303)


def _emails_key(reply) -> bool:
    """Whether this GET carries the key the reply's email gave its link."""
    key = replies.open_key(reply.id, reply.sender_id, current_app.config.get("SECRET_KEY") or "")
    # As bytes: compare_digest raises TypeError for a str holding a non-ASCII character (a 500
    # for ?key=%C3%A9); such a key is merely wrong.
    return hmac.compare_digest(request.args.get("key", "").encode(), key.encode())


@bp.route("/replies/<id:reply_id>/read", methods=["POST"])
@permission_required(*inbox.PAGE_PERMISSIONS)
def mark_read(reply_id: int):
    """Mark a reply read, then back to the list where it was."""
    return _mark(reply_id, True)


@bp.route("/replies/<id:reply_id>/unread", methods=["POST"])
@permission_required(*inbox.PAGE_PERMISSIONS)
def mark_unread(reply_id: int):
    """Mark a reply unread again, then back to the list where it was."""
    return _mark(reply_id, False)


def _mark(reply_id: int, read: bool):
    team = offices.team_of(db.session, current_user)
    reply = reply_or_404(reply_id, team)
    everyone, page = _listing()
    inbox.mark(db.session, reply, read)
    # Back to the page that holds the reply now, not the one the form came from: replies that came
    # in since push it onto later pages, and the anchor (and, with htmx, the focus kept by its
    # button's id) found nothing there. Still the posted page when this list no longer holds it.
    page = (
        inbox.page_of(
            db.session,
            reply,
            None if everyone else current_user.id,
            team=team,
        )
        or page
    )
    # With htmx the redirect is followed by the same request: the list comes back as a fragment.
    return redirect(_list_url(everyone, page) + f"#reply-{reply.id}", 303)
