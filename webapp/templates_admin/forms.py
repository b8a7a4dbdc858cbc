"""The SMS template form (name, folder, message, record type, shared, active and commercial), and
the list's filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from webapp.models.messaging import RECORD_TYPES
from webapp.sms.templates import (
    DEFAULT_FOLDER,
    MAX_BODY,
    MAX_FOLDER,
    MAX_NAME,
    MAX_QUERY,
    Listing,
    TemplateData,
)
from webapp.text import filter_value
from webapp.web.edit_merge import loaded_field
from webapp.web.forms import FilterForm, TickField
from webapp.web.validators import PlainText, line_breaks

try:
    from wtforms.fields.choices import SelectChoice
except (
    ImportError
):  # WTForms < 3.3 takes (value, label) pairs; 3.3 deprecates them for SelectChoice.

    def SelectChoice(value: str, label: str):  # type: ignore[no-redef]  # noqa: N802
        return (value, label)


class TemplateForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name for the template."),
            Length(max=MAX_NAME, message=f"The name can be at most {MAX_NAME} characters."),
            PlainText(),
        ],
    )
    folder = StringField(
        "Folder",
        default=DEFAULT_FOLDER,
        validators=[
            Optional(),
            Length(max=MAX_FOLDER, message=f"The folder can be at most {MAX_FOLDER} characters."),
            PlainText(),
        ],
    )
    body = TextAreaField(
        "Message",
        filters=[line_breaks],
        validators=[
            DataRequired("Enter the text of the template."),
            Length(max=MAX_BODY, message=f"The message can be at most {MAX_BODY:,} characters."),
            PlainText(multiline=True),
        ],
    )
    # Checked by AnyOf rather than the field's own choice check, whose message names no field.
    record_type = SelectField(
        "For",
        default="both",
        validate_choice=False,
        choices=[SelectChoice(value, label) for value, label in RECORD_TYPES.items()],
        validators=[
            AnyOf(list(RECORD_TYPES), message="Choose candidates, client contacts, or both.")
        ],
    )
    shared = BooleanField("Shared with everyone who sends SMS")
    active = BooleanField("Active (offered on the SMS screen)", default=True)
    commercial = BooleanField(
        "Commercial", description="job alerts and marketing: adds the opt-out line"
    )
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)

    def data_for_save(self) -> TemplateData:
        return TemplateData(
            name=self.name.data or "",
            folder=self.folder.data or "",
            body=self.body.data or "",
            record_type=self.record_type.data or "",
            shared=bool(self.shared.data),
            active=bool(self.active.data),
            commercial=bool(self.commercial.data),
        )


class ListingForm(FilterForm):
    """The template list's filters; one left out (too long, control characters) is named."""

    q = StringField("Search")
    folder = StringField("Folder")
    inactive = TickField("Show inactive")

    def parse(self) -> tuple[Listing, int, dict[str, str]]:
        q, q_error = filter_value("Search", self.args.get("q"), MAX_QUERY)
        folder, folder_error = filter_value(
            "Folder", self.args.get("folder"), MAX_FOLDER, words=False
        )
        errors = {
            name: error for name, error in (("q", q_error), ("folder", folder_error)) if error
        }
        return Listing(q=q, folder=folder, inactive=self.inactive.data), 1, errors
