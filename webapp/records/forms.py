"""Forms on the record pages: add/edit a person, and the Privacy boxes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from webapp.models.people import CANDIDATE_STATUSES, CONTACT_STATUSES, EMAIL_PATTERN
from webapp.sms.numbers import normalise


class PrivacyForm(FlaskForm):
    sms_consent = BooleanField("SMS")
    email_consent = BooleanField("Email")
    mail_consent = BooleanField("Mail")
    privacy_statement_read = BooleanField("Privacy statement read")


class PersonForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired("Enter a first name."), Length(max=100)])
    last_name = StringField("Last name", validators=[DataRequired("Enter a last name."), Length(max=100)])
    mobile = StringField("Mobile", validators=[Optional(), Length(max=40)])
    email = EmailField("Email", validators=[
        Optional(), Regexp(EMAIL_PATTERN, message="Enter an email address like name@example.com."),
        Length(max=254)])
    sms_consent = BooleanField("SMS", default=True)
    email_consent = BooleanField("Email", default=True)
    mail_consent = BooleanField("Mail", default=True)
    privacy_statement_read = BooleanField("Privacy statement read")

    def __init__(self, *args, default_region: str = "AU", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_region = default_region

    def validate_mobile(self, field) -> None:
        if field.data and field.data.strip():
            parsed = normalise(field.data, self.default_region)
            if not parsed.valid:
                raise ValidationError(
                    f"“{field.data.strip()}” is not a valid mobile number. Use a national number "
                    f"for {self.default_region} (like 0412 345 678) or an international one "
                    "starting with + (like +64 21 123 4567).")


class CandidateForm(PersonForm):
    status = SelectField("Status", choices=list(CANDIDATE_STATUSES), default="Active")
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)])
    skills = TextAreaField("Skills", validators=[Optional(), Length(max=2000)])
    location = StringField("Location", validators=[Optional(), Length(max=120)])


class ContactForm(PersonForm):
    status = SelectField("Status", choices=list(CONTACT_STATUSES), default="Active")
    client = StringField("Client", validators=[Optional(), Length(max=200)])
    position = StringField("Position", validators=[Optional(), Length(max=120)])
