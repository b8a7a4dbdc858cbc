"""The search pages: a GET form, results with tick boxes, and the Bulk SMS form around them."""

from __future__ import annotations

from flask import request
from flask_login import login_required

from webapp.extensions import db
from webapp.people import search as people_search
from webapp.people.kinds import KINDS
from webapp.search import bp
from webapp.search.forms import SearchForm
from webapp.web import phone_numbers
from webapp.web.rendering import render_list

# The filters always in view; the others fold under "More filters".
UNFOLDED = {"q", "status"}


@bp.route("/candidates")
@login_required
def candidates():
    """Find candidates and tick them for an SMS."""
    return _search("candidates")


@bp.route("/contacts")
@login_required
def contacts():
    """Find client contacts and tick them for an SMS."""
    return _search("contacts")


def _search(segment: str):
    kind = KINDS.by_segment(segment)
    form = SearchForm.read(segment, request.args)
    criteria = form.filters
    region = phone_numbers.default_region()
    # "More filters" folds everything but Search and Status, so Tab reaches the list quickly; it
    # is open whenever one of its fields holds a value or a problem, so nothing set is hidden.
    # A problem with the other kind's filter has no box here: the summary above the list names it.
    elsewhere = {name for other in KINDS for name in other.filters} - set(kind.filters)
    folded = (set(criteria.params()) | set(form.problems)) - UNFOLDED - {"page"} - elsewhere
    return render_list(
        "search/people.html",
        form,
        kind=kind,
        criteria=criteria,
        results=people_search.search(db.session, criteria, form.page_number, region),
        page_url=form.page_url(kind.search_endpoint),
        more_filters_open=bool(folded),
        sorts=people_search.SORTS,
        filter_labels=people_search.TEXT_LABELS,
        consent_choices=people_search.CONSENT_CHOICES,
    )
