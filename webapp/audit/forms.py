"""The audit log's filters, read from the query string by webapp.audit_log's rules."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy.orm as so

from webapp import audit_log
from webapp.web.forms import FilterForm
from webapp.web.times import user_zone


class AuditFilterForm(FilterForm):
    """Who, what, whose record and when; `filters` is the audit_log.Filters the page shows."""

    labels = audit_log.TEXT_LABELS

    def __init__(self, session: so.Session, args: Mapping[str, str]):
        # The actor and action filters are checked against the users and the log itself.
        self.session = session
        super().__init__(args)

    def parse(self):
        return audit_log.parse(self.session, self.args, user_zone())
