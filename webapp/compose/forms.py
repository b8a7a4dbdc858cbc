"""The SMS screen's form: what the consultant typed and ticked (nothing here is trusted about who
receives it: the recipients come from the draft)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from webapp.ids import as_id
from webapp.text import clean_multiline
from webapp.web.forms import TickField


def _page_index(value) -> int:
    return as_id(value) or 0


class ComposeForm(FlaskForm):
    """The field names are the contract with compose.html, shortcuts.js and the tests.

    The domain (webapp.sms.compose) judges the values and raises a FieldError naming the field;
    this form only reads them, so it is never `validate()`d (CSRFProtect checks every POST).
    """

    # The message and the comment keep their line breaks ("\r\n" as "\n"); any other control
    # character goes: a stray escape or tab pasted from elsewhere is never meant to be sent.
    message = TextAreaField("Message", default="", filters=[clean_multiline])
    template_id = StringField("Template", default="")
    merge_field = StringField("Insert merge field", default="")
    ignore = TickField("Ignore")
    # Never cut here: a reason over the limit is refused with a message, not silently shortened.
    ignore_reason = StringField("Reason for ignoring opt-outs", default="")
    comment = TickField("Comment")
    comment_type = StringField("Comment type", default="")
    comment_text = TextAreaField("Comment text", default="", filters=[clean_multiline])
    preview_index = HiddenField(default=0, filters=[_page_index])
