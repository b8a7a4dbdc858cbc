"""Forms of the admin and profile pages: users, passwords, roles, SMS settings, blocked
countries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from webapp.errors import FieldError
from webapp.ids import as_id
from webapp.models.people import EMAIL_PATTERN
from webapp.phones import mobile_problem
from webapp.sms import confirmation, limits, quiet_hours
from webapp.sms import opt_out_line as opt_out
from webapp.sms import settings as sms_settings
from webapp.text import filter_value, visible
from webapp.times import check_zone
from webapp.users.accounts import (
    MAX_PASSWORD,
    MAX_USERNAME,
    PASSWORD_TOO_LONG,
    USERNAME_PATTERN,
    USERNAME_TOO_LONG,
    password_problem,
)
from webapp.web.edit_merge import loaded_field
from webapp.web.forms import FilterForm
from webapp.web.validators import PlainText, line_breaks

MAX_QUERY = 200  # as every search box (webapp.text.filter_value)
EMAIL_MESSAGE = "Enter an email address like name@example.com."
MAX_COMMENT_TYPES = 2_000  # the whole list; each type is at most sms_settings.MAX_COMMENT_TYPE
PASSWORD_LENGTH = Length(max=MAX_PASSWORD, message=PASSWORD_TOO_LONG)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _visible(_form: FlaskForm, field: Field) -> None:
    """The value as it is stored (webapp.text.visible): its invisible format characters dropped
    and its spaces single. After PlainText, which names a tab or a line break rather than letting
    it pass as a space. A soft hyphen in a full name showed nowhere, yet made every SMS with
    {{sender_full_name}} in it Unicode, and its sender could not see what to remove."""
    if isinstance(field.data, str):
        field.data = visible(field.data)


def _good_password(_form: FlaskForm, field: Field) -> None:
    """The rules of webapp.users.accounts.password_problem, its length at most among them."""
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class MobileRegionMixin:
    """Checks the Mobile field against the phone region, so its error shows with the others."""

    def __init__(self, *args, default_region: str = "AU", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_region = default_region

    def validate_mobile(self, field: Field) -> None:
        # A user's own number: shown in messages as the sender's mobile, never texted.
        problem = mobile_problem(field.data, self.default_region, for_sms=False)
        if problem:
            raise ValidationError(problem)


def _setting_rule(check: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """A field validator from one of webapp.sms.settings' checks, so the rules live in one place."""

    def validate(_form: FlaskForm, field: Field) -> None:
        try:
            check(field.data or "")
        except FieldError as error:
            raise ValidationError(error.message) from None

    return validate


def _email_field(missing: str) -> EmailField:
    return EmailField(
        "Email",
        filters=[_strip],
        validators=[
            DataRequired(missing),
            Length(max=254),
            PlainText(),
            Regexp(EMAIL_PATTERN, message=EMAIL_MESSAGE),
        ],
    )


def _mobile_field() -> StringField:
    return StringField(
        "Mobile", filters=[_strip], validators=[Optional(), Length(max=40), PlainText()]
    )


NO_OFFICE = "No office"


class OfficeField(SelectField):
    """The Office choice: "No office" (posted as "") or an office's id. An id that is no longer
    in the list is left for the domain to refuse (webapp.users.offices.chosen), with the field
    named."""

    def __init__(self, label: str = "Office", **kwargs):
        super().__init__(label, validate_choice=False, **kwargs)

    def set_offices(self, offices: Sequence[tuple[int, str]]) -> None:
        """The choices: "No office", then each office (id, name) in the order given."""
        self.choices = [("", NO_OFFICE), *((str(ident), name) for ident, name in offices)]

    def pre_validate(self, form: FlaskForm) -> None:
        if (self.data or "") and as_id(str(self.data)) is None:
            raise ValidationError("Choose an office from the list.")

    @property
    def office_id(self) -> int | None:
        """The chosen office's id, None for "No office"."""
        return as_id(str(self.data)) if self.data else None


def _office_field() -> OfficeField:
    return OfficeField("Office", default="")


class UserForm(MobileRegionMixin, FlaskForm):
    username = StringField(
        "Username",
        filters=[_strip],
        validators=[
            DataRequired("Enter a username."),
            Length(max=MAX_USERNAME, message=USERNAME_TOO_LONG),
            PlainText(),
            Regexp(
                USERNAME_PATTERN, message="Use letters, digits and . _ @ - only, with no spaces."
            ),
        ],
    )
    full_name = StringField(
        "Full name",
        filters=[_strip],
        validators=[
            DataRequired("Enter the full name."),
            PlainText(),
            _visible,
            Length(max=120),
        ],
    )
    email = _email_field("Enter an email address.")
    mobile = _mobile_field()
    office = _office_field()
    # Empty: the user's roles' default (webapp.sms.limits); 0: no limit of their own.
    daily_limit = StringField(
        "Daily SMS limit", filters=[_strip], validators=[_setting_rule(limits.parse_limit)]
    )
    roles = SelectMultipleField("Roles", validators=[DataRequired("Choose at least one role.")])
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)

    def __init__(
        self,
        *args,
        role_names: Sequence[str] = (),
        offices: Sequence[tuple[int, str]] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.roles.choices = list(role_names)
        self.office.set_offices(offices)


class NewUserForm(UserForm):
    # A repeat of the same submission (a second Enter on a slow network) adds nobody new.
    add_token = HiddenField(default="")
    password = PasswordField(
        "Temporary password",
        validators=[DataRequired("Enter a temporary password."), _good_password],
    )


class TemporaryPasswordForm(FlaskForm):
    password = PasswordField(
        "New temporary password",
        validators=[DataRequired("Enter a temporary password."), _good_password],
    )


def _zone_field() -> StringField:
    return StringField(
        "Time zone",
        filters=[_strip],
        validators=[Length(max=64), PlainText(), _setting_rule(check_zone)],
    )


class ProfileForm(MobileRegionMixin, FlaskForm):
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)
    email = _email_field("Enter your email address.")
    mobile = _mobile_field()
    office = _office_field()
    timezone = _zone_field()

    def __init__(self, *args, offices: Sequence[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.office.set_offices(offices)


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), PASSWORD_LENGTH],
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), _good_password],
    )
    repeat_password = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired("Type the new password again."),
            EqualTo("new_password", message="The two new passwords are not the same."),
        ],
    )


class SettingsForm(FlaskForm):
    suppress_add_comment = BooleanField("Suppress Add Comment")
    comment_types = TextAreaField(
        "Comment types",
        filters=[line_breaks],
        validators=[
            Length(
                max=MAX_COMMENT_TYPES, message=f"Keep the list to {MAX_COMMENT_TYPES:,} characters."
            ),
            PlainText(multiline=True),
            _setting_rule(sms_settings.parse_comment_types),
        ],
    )
    default_region = StringField(
        "Default phone region",
        filters=[_strip],
        validators=[PlainText(), _setting_rule(sms_settings.check_region)],
    )
    originator = StringField(
        "Sender ID (originator)",
        filters=[_strip],
        validators=[PlainText(), _setting_rule(sms_settings.check_originator)],
    )
    unmatched_reply_address = EmailField(
        "Address for unmatched replies",
        filters=[_strip],
        validators=[Length(max=254), PlainText(), _setting_rule(sms_settings.check_reply_address)],
    )
    timezone = _zone_field()
    opt_out_line = StringField(
        "Opt-out line",
        filters=[_strip],
        validators=[PlainText(), _setting_rule(opt_out.check_line)],
        description=(
            "Added on its own line to every commercial SMS (job alerts, marketing): plain letters, "
            f"at most {opt_out.MAX_LINE} characters, naming a reply that opts out (STOP, "
            f"UNSUBSCRIBE…). Empty: “{opt_out.DEFAULT_LINE}”."
        ),
    )
    team_views_by_office = BooleanField("Team views by office")
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)


def _reason_field(label: str, missing: str) -> StringField:
    """The reason a change to a blocked list needs, as the audit log keeps it."""
    return StringField(
        label,
        filters=[_strip],
        validators=[DataRequired(missing), Length(max=sms_settings.MAX_REASON), PlainText()],
    )


class BlockedRegionForm(FlaskForm):
    # Plain values: the template writes the options with the gateways' names.
    provider = SelectField("Gateway", choices=list(sms_settings.BLOCKLIST_PROVIDERS))
    region = StringField(
        "Region code",
        filters=[_strip],
        validators=[DataRequired("Enter a two-letter region code like FI."), PlainText()],
    )
    name = StringField(
        "Country name", filters=[_strip], validators=[Optional(), Length(max=120), PlainText()]
    )
    reason = _reason_field("Reason", "Say why this country is blocked.")


class RemoveBlockedRegionForm(FlaskForm):
    reason = _reason_field("Reason for removing", "Say why this country is no longer blocked.")


class LimitsForm(FlaskForm):
    """The sending limits (Settings page): the organisation's cap here; each role's default is
    read as `role-<name>` (webapp.sms.limits.save_limits judges them all)."""

    org_daily_limit = StringField("Organisation daily SMS limit", filters=[_strip])


class ConfirmationSettingsForm(FlaskForm):
    """Confirmation before big sends (Settings page): how many people make a send big, and the
    price of one SMS part per country for its estimated cost (webapp.sms.confirmation)."""

    confirm_over = StringField(
        "Confirm a send to more than",
        filters=[_strip],
        validators=[PlainText(), _setting_rule(confirmation.check_confirm_over)],
    )
    part_prices = TextAreaField(
        "Price per SMS part",
        filters=[line_breaks],
        validators=[
            Length(max=4_000, message="Keep the prices to 4,000 characters."),
            PlainText(multiline=True),
            _setting_rule(confirmation.parse_part_prices),
        ],
    )
    price_currency = StringField(
        "Currency",
        filters=[_strip],
        validators=[PlainText(), _setting_rule(confirmation.check_currency)],
    )
    loaded = loaded_field()


class QuietHoursForm(FlaskForm):
    """Quiet hours (Settings page): the window, "off", or empty for the server's QUIET_HOURS
    (webapp.sms.quiet_hours)."""

    quiet_hours = StringField(
        "Quiet hours",
        filters=[_strip],
        validators=[
            Length(max=40, message="Enter two times like 20:00-08:00, or off."),
            PlainText(),
            _setting_rule(quiet_hours.check_setting),
        ],
    )
    loaded = loaded_field()


class RolesForm(FlaskForm):
    """Only the token: the matrix's boxes are read as `grant` = "role:permission" pairs."""


class TwoFactorRolesForm(FlaskForm):
    """The roles that must use two-factor sign-in (Settings page); no box ticked: none."""

    roles = SelectMultipleField("Roles that must use two-factor sign-in", validate_choice=False)
    loaded = loaded_field()  # the roles ticked when the page was opened (webapp.web.edit_merge)


class TwoFactorResetForm(FlaskForm):
    """Only the token: the confirmation page's button resets a user's two-factor sign-in."""


class UserSearchForm(FilterForm):
    """The users list's search box (free text: name, username or email)."""

    q = StringField("Search")

    def parse(self) -> tuple[str, int, dict[str, str]]:
        q, error = filter_value("Search", self.args.get("q"), MAX_QUERY)
        return q, 1, {"q": error} if error else {}
