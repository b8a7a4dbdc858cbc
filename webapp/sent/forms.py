"""The Sent page's filters, read from the query string by webapp.sms.sent_log's rules."""

from __future__ import annotations

from wtforms import StringField

from webapp.sms import sent_log
from webapp.web.forms import FilterForm
from webapp.web.times import user_zone


class SentFilterForm(FilterForm):
    """When, which state, which words; `filters` is the sent_log.Filters the page shows."""

    date_from = StringField(sent_log.LABELS["date_from"])
    date_to = StringField(sent_log.LABELS["date_to"])
    state = StringField(sent_log.LABELS["state"])
    text = StringField(sent_log.LABELS["text"])
    page = StringField(sent_log.LABELS["page"])

    def parse(self):
        return sent_log.parse(self.args, user_zone())
