"""Forms on the record pages: add/edit a person, the Privacy boxes, and the Quick reply."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, Length, Optional, Regexp, ValidationError

from webapp.models.people import (
    CANDIDATE_STATUSES,
    CONTACT_STATUSES,
    EMAIL_PATTERN,
    PRIVACY_FIELDS,
    name_key,
)
from webapp.phones import mobile_problem
from webapp.text import clean_multiline, is_blank, without_format_characters
from webapp.web import edit_merge
from webapp.web.edit_merge import loaded_field
from webapp.web.validators import NotBlank, PlainText, line_breaks

LOADED_VALUES = ("1", "0")
REASON_MAX = 500


class PrivacyForm(FlaskForm):
    """The Privacy boxes, each with the value it was loaded with (`was_…`, hidden): a save applies
    only the boxes the user changed, so a form opened before a STOP reply cannot undo it."""

    sms_consent = BooleanField("SMS")
    email_consent = BooleanField("Email")
    mail_consent = BooleanField("Mail")
    privacy_statement_read = BooleanField("Privacy statement read")
    was_sms_consent = HiddenField(validators=[AnyOf(LOADED_VALUES)])
    was_email_consent = HiddenField(validators=[AnyOf(LOADED_VALUES)])
    was_mail_consent = HiddenField(validators=[AnyOf(LOADED_VALUES)])
    was_privacy_statement_read = HiddenField(validators=[AnyOf(LOADED_VALUES)])
    sms_consent_reason = StringField(
        "Reason for ticking SMS again",
        validators=[
            Optional(),
            Length(max=REASON_MAX, message=f"Keep the reason to {REASON_MAX} characters or fewer."),
            PlainText(),
        ],
    )

    @classmethod
    def of(cls, person) -> PrivacyForm:
        """The form for `person` as stored now (never the posted values)."""
        form = cls(formdata=None, obj=person)
        for field in PRIVACY_FIELDS:
            form[f"was_{field}"].data = "1" if getattr(person, field) else "0"
        return form

    @property
    def incomplete(self) -> bool:
        """True when the loaded values are missing or malformed: not a form our page sent."""
        return any(self[f"was_{field}"].errors for field in PRIVACY_FIELDS)

    def loaded(self) -> dict[str, bool]:
        return {field: self[f"was_{field}"].data == "1" for field in PRIVACY_FIELDS}

    def submitted(self) -> dict[str, bool]:
        return {field: bool(self[field].data) for field in PRIVACY_FIELDS}


def blank_as_empty(value):
    """A WTForms filter for an optional text field: a value that shows nothing (a zero-width space
    alone, a Hangul filler: is_blank) as "", so none is stored, rather than a Client or Position
    that shows blank on the record and a client named with nothing."""
    return "" if isinstance(value, str) and is_blank(value) else value


def shown_only(value):
    """A WTForms filter for a searched field: the value without its invisible format characters
    (a soft hyphen, a zero-width space: webapp.text.without_format_characters), as the search box
    drops them from what is typed. "Kowal" + U+00AD + "czyk" pasted in read "Kowalczyk" on the
    record, yet a search for kowalczyk did not find it. A record stored before keeps them until an
    Edit saves it (its form shows and saves the value without them)."""
    return without_format_characters(value) if isinstance(value, str) else value


class KeyFits:
    """Refuses a value whose search key (name_key) would not fit beside it, in a column as long as
    its own: "ß" is "ss" there and "ﬃ" is "ffi", so 100 characters typed can be more (PostgreSQL
    would refuse the row; SQLite would keep it)."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, _form, field) -> None:
        written = len(name_key(field.data)) if isinstance(field.data, str) else 0
        if written > self.limit:
            raise ValidationError(
                f"Keep this to {self.limit} characters or fewer: written out for searching (ß as "
                f"ss, ligatures as their letters) it is {written:,}."
            )


class PersonForm(FlaskForm):
    first_name = StringField(
        "First name",
        filters=[shown_only],
        validators=[
            NotBlank("Enter a first name."),
            Length(max=100),
            KeyFits(100),
            PlainText(),
        ],
    )
    last_name = StringField(
        "Last name",
        filters=[shown_only],
        validators=[NotBlank("Enter a last name."), Length(max=100), KeyFits(100), PlainText()],
    )
    mobile = StringField("Mobile", validators=[Optional(), Length(max=40), PlainText()])
    email = EmailField(
        "Email",
        filters=[shown_only],
        validators=[
            Optional(),
            PlainText(),
            Regexp(EMAIL_PATTERN, message="Enter an email address like name@example.com."),
            Length(max=254),
            KeyFits(254),
        ],
    )
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)

    def __init__(
        self, *args, default_region: str = "AU", stored_mobile: str | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.default_region = default_region
        # On Edit, the record's mobile as stored ("" for none; None on Add).
        self.stored_mobile = stored_mobile.strip() if stored_mobile is not None else None

    def _untouched(self, typed: str) -> bool:
        """Whether an Edit posts the mobile as stored, or as the form was opened with (another
        tab changed it since: the merge then keeps theirs). Such a number is not read again in
        this user's region: a national number of another country's office would be refused, and
        one an import kept as invalid would block every other change."""
        if self.stored_mobile is None:
            return False
        loaded = (edit_merge.read(self.loaded.data) or {}).get("mobile")
        opened = loaded.strip() if isinstance(loaded, str) else None
        return typed in (self.stored_mobile, opened)

    def validate_mobile(self, field) -> None:
        typed = (field.data or "").strip()
        if not self._untouched(typed) and (problem := mobile_problem(typed, self.default_region)):
            raise ValidationError(problem)


class CandidateForm(PersonForm):
    status = SelectField("Status", choices=list(CANDIDATE_STATUSES), default="Active")
    job_title = StringField(
        "Job title",
        filters=[shown_only, blank_as_empty],
        validators=[Optional(), Length(max=120), PlainText()],
    )
    skills = TextAreaField(
        "Skills",
        filters=[line_breaks, shown_only, blank_as_empty],
        validators=[Optional(), Length(max=2000), PlainText(multiline=True)],
    )
    location = StringField(
        "Location",
        filters=[shown_only, blank_as_empty],
        validators=[Optional(), Length(max=120), KeyFits(120), PlainText()],
    )


class ContactForm(PersonForm):
    status = SelectField("Status", choices=list(CONTACT_STATUSES), default="Active")
    client = StringField(
        "Client",
        filters=[blank_as_empty],
        validators=[Optional(), Length(max=200), KeyFits(200), PlainText()],
    )
    position = StringField(
        "Position",
        filters=[shown_only, blank_as_empty],
        validators=[Optional(), Length(max=120), PlainText()],
    )


class AddOnce:
    """What only the Add form carries: its one-time token (a repeat of the same submission, a
    second Enter on a slow network, adds nobody new), and the Add anyway button that confirms an
    Add refused for a person already stored with the mobile or email."""

    add_token = HiddenField(default="")
    add_anyway = SubmitField("Add anyway")


class AddCandidateForm(AddOnce, CandidateForm):
    pass


class AddContactForm(AddOnce, ContactForm):
    pass


class SaveAnyway:
    """What a posted Edit form carries: the Save anyway button that confirms an Edit refused for
    giving the person a mobile or email that someone of the same kind already has."""

    save_anyway = SubmitField("Save anyway")


class EditCandidateForm(SaveAnyway, CandidateForm):
    pass


class EditContactForm(SaveAnyway, ContactForm):
    pass


class QuickReplyForm(FlaskForm):
    """The Quick reply under a record's conversation. Like the SMS screen's form it only reads the
    values (webapp.sms.quick_reply judges them, raising a FieldError that names the field); the
    token makes the form's SMS one, however often it is posted."""

    # Line breaks kept ("\r\n" as "\n"); any other control character goes, as on the SMS screen.
    message = TextAreaField("Quick reply", default="", filters=[clean_multiline])
    # Never cut here: a reason over the limit is refused with a message, not silently shortened.
    ignore_reason = StringField("Reason for ignoring opt-outs", default="")
    reply_token = HiddenField(default="")
    tab = HiddenField(default="")
