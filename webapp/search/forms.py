"""The search pages' filters, read from the query string by webapp.people.search's rules."""

from __future__ import annotations

from collections.abc import Mapping

from wtforms import StringField

from webapp.people import search as people_search
from webapp.web.forms import FilterForm
from webapp.web.times import user_zone


class SearchForm(FilterForm):
    """Criteria for one kind of person; `filters` is the Criteria the search runs with."""

    labels = people_search.TEXT_LABELS
    status = StringField("Status")
    consent = StringField("SMS consent")
    sort = StringField("Sort")
    created_from = StringField("Created from")
    created_to = StringField("Created to")
    page = StringField("Page")

    def __init__(self, kind: str, args: Mapping[str, str]):
        self.kind = kind
        super().__init__(args)

    def parse(self):
        return people_search.parse(self.kind, self.args, user_zone())
