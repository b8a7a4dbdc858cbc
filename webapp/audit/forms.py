"""The audit log's filters, read from the query string by webapp.audit_log's rules."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy.orm as so
from wtforms import StringField

from webapp import audit_log
from webapp.web.forms import FilterForm


class AuditFilterForm(FilterForm):
    """Who, what, whose record and when; `filters` is the audit_log.Filters the page shows."""

    actor = StringField(audit_log.TEXT_LABELS["actor"])
    action = StringField(audit_log.TEXT_LABELS["action"])
    person_kind = StringField(audit_log.TEXT_LABELS["person_kind"])
    person_id = StringField(audit_log.TEXT_LABELS["person_id"])
    person = StringField(audit_log.TEXT_LABELS["person"])
    date_from = StringField(audit_log.TEXT_LABELS["date_from"])
    date_to = StringField(audit_log.TEXT_LABELS["date_to"])
    page = StringField(audit_log.TEXT_LABELS["page"])

    def __init__(self, session: so.Session, args: Mapping[str, str]):
        # The actor and action filters are checked against the users and the log itself.
        self.session = session
        super().__init__(args)

    def parse(self):
        return audit_log.parse(self.session, self.args)
