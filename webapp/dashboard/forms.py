"""The dashboard's GET filter: whose figures (a user or an office), for users with audit.view."""

from __future__ import annotations

from wtforms import StringField

from webapp.ids import as_id
from webapp.web.forms import FilterForm

LABELS = {"user": "User", "office": "Office"}


class DashboardFilterForm(FilterForm):
    """`filters` is {"user": id or None, "office": id or None}; a value that is not an id is named
    beside its field and left out."""

    user = StringField(LABELS["user"])
    office = StringField(LABELS["office"])

    def parse(self):
        filters, problems = {}, {}
        for name in LABELS:
            text = (self.args.get(name) or "").strip()
            filters[name] = as_id(text)
            if text and filters[name] is None:
                problems[name] = f"Choose a{'n' if name == 'office' else ''} {name} from the list."
        return filters, 1, problems
