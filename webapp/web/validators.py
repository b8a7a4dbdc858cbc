"""Control characters in web input: the WTForms validator every text field uses, and a guard that
refuses a NUL anywhere in a request before it can reach the database."""

from __future__ import annotations

from flask import Flask, abort, request
from wtforms import Field
from wtforms.validators import StopValidation

from webapp.text import is_blank, normalise_newlines, plain_text_problem, without_reordering

NUL_MESSAGE = (
    "The request held a NUL character (a zero byte, never part of real text), which "
    "cannot be stored. Remove it (retype the value rather than pasting it) and try again."
)
# Gateways push replies we must keep whatever they hold: these views drop the byte and store.
UNGUARDED_BLUEPRINTS = frozenset({"webhooks"})


class PlainText:
    """Refuses control characters, naming them beside the field (and no other problem of it).

    A single-line field (names, email, sender ID…) may hold none, not even a tab: each of them
    would break an email header or a CSV line later. Its invisible bidirectional controls that
    reorder the text after it (a right-to-left override) are dropped: kept, they scramble the
    record page and every SMS the value is merged into, and a number or name pasted from a
    contact card or chat often comes wrapped in them. A multi-line field (message, skills) may
    hold line breaks; give it the `line_breaks` filter too, so the browser's "\\r\\n" becomes
    "\\n".
    """

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, _form, field: Field) -> None:
        if not self.multiline and isinstance(field.data, str):
            field.data = without_reordering(field.data)
        label = field.label.text if field.label else "This field"
        problem = plain_text_problem(
            label, field.data if isinstance(field.data, str) else "", multiline=self.multiline
        )
        if problem:
            raise StopValidation(problem)


class NotBlank:
    """DataRequired for text people read: refuses a value that shows nothing, which str.strip()
    lets through when it is a zero-width space or another invisible character (a record would be
    saved with an empty heading and an invisible link)."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, _form, field: Field) -> None:
        if not isinstance(field.data, str) or is_blank(field.data):
            field.errors[:] = []
            raise StopValidation(self.message)


def line_breaks(value):
    """A WTForms filter: a textarea's "\\r\\n" (and a lone "\\r") stored as "\\n"."""
    return normalise_newlines(value) if isinstance(value, str) else value


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)


def refuse_nul() -> None:
    """400 for a NUL in the path, a query argument or a form field: PostgreSQL refuses it in text,
    so without this check it would surface as a 500 wherever the value reached a query."""
    if request.blueprint in UNGUARDED_BLUEPRINTS:
        return
    pairs = list(request.args.items(multi=True))
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        pairs += request.form.items(multi=True)
    if "\x00" in request.path or any("\x00" in key + value for key, value in pairs):
        abort(400, description=NUL_MESSAGE)
