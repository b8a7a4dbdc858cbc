"""The one error for "this form field is wrong": raised by the domain, shown beside the field."""

from __future__ import annotations


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
