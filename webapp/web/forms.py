"""The form idiom every blueprint shares: show a FieldError beside its field, a tick box posted as
"1", and the base class of the GET filter forms (people search, audit log, template and user
lists)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form

from webapp.errors import FieldError


def field_error(target: Form | MutableMapping[str, str], error: FieldError) -> str | None:
    """Show `error` beside the field it names, for the whole page and the htmx fragment alike.

    On a WTForms form the message joins that field's errors (macros/fields.html shows them); on an
    errors dict (the templates that read `errors[name]`) it is stored under the field's name.
    Returns the message when the form has no such field, for the page to show above the form.
    """
    if isinstance(target, Form):
        # The CSRF field is hidden: a message put there would never be seen.
        if error.field == "csrf_token" or error.field not in target:
            return error.message
        target[error.field].errors = [*target[error.field].errors, error.message]
        return None
    target[error.field] = error.message
    return None


class TickField(BooleanField):
    """A tick box that counts as ticked only when posted as "1" (its value), like the forms send."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] == "1"


class FilterForm(FlaskForm):
    """A GET form of filters: read from the query string, no CSRF token (it changes nothing).

    `validate()` reads the values through the domain's parse (subclasses name it in `parse`), so
    the rules and their messages live in one place; each problem is shown beside its field, and a
    wrong value is left out while the rest still filter.
    """

    class Meta:
        csrf = False

    def __init__(self, args: Mapping[str, str]):
        super().__init__(formdata=args)
        self.args = args
        self.filters: Any = None
        self.page_number = 1
        self.problems: dict[str, str] = {}

    def parse(self) -> tuple[Any, int, dict[str, str]]:
        """(filters, page number, {field: message}) from `self.args`."""
        raise NotImplementedError

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        self.filters, self.page_number, self.problems = self.parse()
        for name, message in self.problems.items():
            field_error(self, FieldError(message, name))
        return not self.problems
