"""The search pages: a GET form, results with tick boxes, and the Bulk SMS form around them."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import login_required

from webapp.extensions import db
from webapp.people import search as people_search
from webapp.people.kinds import KINDS
from webapp.search import bp
from webapp.search.forms import SearchForm
from webapp.sms import settings as sms_settings
from webapp.web.rendering import render


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
    form = SearchForm(segment, request.args)
    form.validate()  # a wrong value is left out and named beside its field; the rest still search
    criteria, page, errors = form.filters, form.page_number, form.problems
    region = sms_settings.default_region(db.session, current_app.config)
    results = people_search.search(db.session, criteria, page, region)

    def page_url(number: int) -> str:
        return url_for(kind.search_endpoint, page=number, **criteria.params())

    return render(
        "search/people.html",
        blocks=["results"],
        status=400 if errors else 200,
        kind=kind,
        criteria=criteria,
        results=results,
        errors=errors,
        page_url=page_url,
        sorts=people_search.SORTS,
        filter_labels=people_search.TEXT_LABELS,
        consent_choices=people_search.CONSENT_CHOICES,
    )
