"""The form idiom every blueprint shares: show a FieldError beside its field (and roll back the
write it refused), a tick box posted as "1", and the base class of the GET filter forms (people
search, audit log, template and user lists)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Self

from flask import Flask, abort, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, StringField

from webapp.errors import FieldError, FieldErrors
from webapp.extensions import db
from webapp.filters import is_iso_day


def showing() -> bool:
    """Whether a form's page is only being shown: a GET, or a HEAD (a link checker's, a prefetch's),
    which answers as its GET. Only a POST acts; a HEAD past CSRF's check once deactivated a user."""
    return request.method in ("GET", "HEAD")


def as_typed(errors: Mapping[str, str], name: str, value: Any) -> Any:
    """A GET filter box's value: as parsed, or as typed when it was left out (too long, a control
    character), so it comes back to be corrected rather than empty to be typed again."""
    if errors.get(name):
        return request.args.get(name, "")
    return "" if value is None else value


def date_box_type(errors: Mapping[str, str], name: str) -> str:
    """The type of a GET filter's date box: "text" when its value was refused and what was typed is
    no day a browser's date box can hold (2026-02-30, 31/01/2026), which that box would show empty
    and send back as no filter at all; otherwise "date"."""
    if not errors.get(name):
        return "date"
    typed = request.args.get(name, "")
    return "date" if not typed or is_iso_day(typed) else "text"


def init_app(app: Flask) -> None:
    app.add_template_global(as_typed)
    app.add_template_global(date_box_type)


def field_error(target: Form | MutableMapping[str, str], error: FieldError) -> str | None:
    """Show `error` beside the field it names, for the whole page and the htmx fragment alike.

    On a WTForms form the message joins that field's errors (macros/fields.html shows them); on an
    errors dict (the templates that read `errors[name]`) it is stored under the field's name.
    Returns the message when the form has no such field, for the page to show above the form.
    FieldErrors (several fields wrong at once) shows each beside its own field.
    """
    if isinstance(error, FieldErrors):
        said = [message for each in error.errors if (message := field_error(target, each))]
        return " ".join(said) or None
    if isinstance(target, Form):
        # The CSRF field is hidden: a message put there would never be seen.
        if error.field == "csrf_token" or error.field not in target:
            return error.message
        target[error.field].errors = [*target[error.field].errors, error.message]
        return None
    target[error.field] = error.message
    return None


def refused(error: FieldError) -> dict[str, str]:
    """The domain refused a write: roll it back, answer 403 when it was not this user's to do, and
    otherwise return the {field: message} for a page that reads `errors[name]`."""
    db.session.rollback()
    if error.status == 403:
        abort(403, description=error.message)
    errors: dict[str, str] = {}
    field_error(errors, error)
    return errors


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

    # Text filters named by the domain's own labels ({name: label}): a field each, added below.
    labels: Mapping[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, label in cls.__dict__.get("labels", {}).items():
            setattr(cls, name, StringField(label))

    def __init__(self, args: Mapping[str, str]):
        super().__init__(formdata=args)
        # A plain dict of each name's first value for the domain's parse: Werkzeug's MultiDict
        # builds and catches a BadRequestKeyError for every name missing from the query string
        # (about 9 µs each, and a search reads fourteen names).
        self.args = dict(args.items())
        self.filters: Any = None
        self.page_number = 1
        self.problems: dict[str, str] = {}

    @classmethod
    def read(cls, *args) -> Self:
        """The form over these arguments, validated: a wrong value is named beside its field and
        left out, and the rest still filter."""
        form = cls(*args)
        form.validate()
        return form

    def parse(self) -> tuple[Any, int, dict[str, str]]:
        """(filters, page number, {field: message}) from `self.args`."""
        raise NotImplementedError

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        self.filters, self.page_number, self.problems = self.parse()
        for name, message in self.problems.items():
            field_error(self, FieldError(message, name))
        return not self.problems

    def page_url(self, endpoint: str) -> Callable[[int], str]:
        """The link to another page of these results, the filters kept (after `validate()`)."""
        params = self.filters.params()
        return lambda number: url_for(endpoint, page=number, **params)
