"""The forms of a scheduled batch's pages: its text, edited until it goes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField

from webapp.text import clean_multiline


class ScheduledTextForm(FlaskForm):
    """The Message of a scheduled batch, as its sender types it (the domain judges it:
    schedule.edit_text raises a FieldError naming the field, so this form is never validated)."""

    # Line breaks kept ("\r\n" as "\n"); other control characters go, as on the SMS screen.
    message = TextAreaField("Message", default="", filters=[clean_multiline])
    # The text as the form showed it: a save over a text changed since (in another tab) is refused.
    shown = HiddenField(filters=[clean_multiline])
