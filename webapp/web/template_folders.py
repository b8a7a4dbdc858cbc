"""The `by_folder` template filter: SMS templates grouped under their folders, folders and names in
alphabetical order whatever the capitals, for the template list and the SMS screen's picker.

Jinja's groupby would either merge folders that differ in capitals alone (listing a template under
a folder the Folder filter does not show it in) or, told to keep them apart, sort "alpha" after
"Zeta".
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from flask import Flask

from webapp.models import SmsTemplate
from webapp.sms.templates import reading_order


def init_app(app: Flask) -> None:
    app.add_template_filter(by_folder, "by_folder")


def by_folder(templates: Iterable[SmsTemplate]) -> list[tuple[str, list[SmsTemplate]]]:
    """Each folder by its exact name with its templates, folders and the templates in each sorted
    as a reader sorts them (by the name in any case, then as written): the database's order puts
    "Zeta" before "alpha"."""
    ordered = sorted(templates, key=lambda t: reading_order(t.folder) + reading_order(t.name))
    return [(name, list(group)) for name, group in groupby(ordered, key=lambda t: t.folder)]
