"""The one error for "this form field is wrong": raised by the domain, shown beside the field."""

from __future__ import annotations

from collections.abc import Sequence


class FieldError(Exception):
    """A problem the user can fix, named for the form field it belongs to.

    `field` is the name of the form field ("form" when it belongs to none: the page says it above
    the form); `status` is the HTTP status a view answers with (400; 403 when not theirs to do;
    409 when the data moved under the form).
    """

    def __init__(self, message: str, field: str = "form", status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class FieldErrors(FieldError):
    """Several fields wrong at once, each a FieldError: a form checked whole names every wrong
    field, not only the first. As a FieldError it says all their messages, for the first field
    (what a caller that shows one message, like the command line, prints)."""

    def __init__(self, errors: Sequence[FieldError]):
        super().__init__(" ".join(e.message for e in errors), errors[0].field, errors[0].status)
        self.errors = tuple(errors)

    @classmethod
    def raise_any(cls, errors: Sequence[FieldError]) -> None:
        """Raise the one error, or all of them together; nothing when there are none."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise cls(errors)
