"""The search pages: a GET form, results with tick boxes, and the Bulk SMS form around them."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import login_required

from webapp.extensions import db
from webapp.models import people_search
from webapp.sms import settings as sms_settings
from webapp.search import bp
from webapp.web.rendering import render

TITLES = {"candidates": "Candidates", "contacts": "Client Contacts"}


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


def _search(kind: str):
    criteria, page, errors = people_search.parse(kind, request.args)
    region = sms_settings.default_region(db.session, current_app.config)
    results = people_search.search(db.session, criteria, page, region)
    endpoint = f"search.{kind}"

    def page_url(number: int) -> str:
        return url_for(endpoint, page=number, **criteria.params())

    return render(
        "search/people.html", blocks=["results"], status=400 if errors else 200,
        kind=kind, title=TITLES[kind], endpoint=endpoint,
        person_param="candidate" if kind == "candidates" else "contact",
        noun="candidate" if kind == "candidates" else "client contact", criteria=criteria, results=results,
        errors=errors, page_url=page_url, sorts=people_search.SORTS,
        consent_choices=people_search.CONSENT_CHOICES,
    )
