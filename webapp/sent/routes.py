"""The Sent page: a GET form of filters and a page of batches, newest first."""

from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user

from webapp.extensions import db
from webapp.sent import bp
from webapp.sent.forms import SentFilterForm
from webapp.sms import inbox, sent_log
from webapp.sms.batches import STATE_ORDER
from webapp.users import offices
from webapp.web.access import permission_required
from webapp.web.rendering import render


@bp.route("/sent")
@permission_required(*inbox.PAGE_PERMISSIONS)
def index():
    """Show my batches (or everyone's, with audit.view), newest first, filtered by date, state
    and text."""
    form = SentFilterForm(request.args)
    form.validate()  # a wrong value is left out and named beside its field; the rest still filter
    filters, page, errors = form.filters, form.page_number, form.problems
    may_see_everyone = current_user.can("audit.view")
    if filters.everyone and not may_see_everyone:
        abort(403, description="You need the permission “audit.view” to see everyone’s batches.")
    team = offices.team_of(db.session, current_user)
    results = sent_log.search(
        db.session, None if filters.everyone else current_user.id, filters, page, team=team
    )

    def page_url(number: int) -> str:
        return url_for("sent.index", page=number, **filters.params())

    return render(
        "sent/index.html",
        blocks=["results"],
        status=400 if errors else 200,
        filters=filters,
        results=results,
        errors=errors,
        page_url=page_url,
        page_size=sent_log.PAGE_SIZE,  # for the batches a page holds, said to a screen reader
        # This page of the list as shown: where a row's Cancel scheduled send comes back to.
        this_page=page_url(page) if page > 1 else url_for("sent.index", **filters.params()),
        states=STATE_ORDER,
        may_see_everyone=may_see_everyone,
        # A team leader limited to their office sees only its batches as "everyone's".
        team_only=team is not None,
    )
