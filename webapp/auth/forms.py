"""The sign-in form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.users.accounts import (
    MAX_PASSWORD,
    MAX_USERNAME,
    PASSWORD_TOO_LONG,
    USERNAME_TOO_LONG,
)
from webapp.web.validators import PlainText


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(max=MAX_USERNAME, message=USERNAME_TOO_LONG),
            PlainText(),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(max=MAX_PASSWORD, message=PASSWORD_TOO_LONG),
        ],
    )


class CodeForm(FlaskForm):
    """A two-factor code: six digits from the app, or a recovery code (sign-in, profile)."""

    code = StringField(
        "Authentication code",
        validators=[DataRequired("Enter the code."), Length(max=32), PlainText()],
    )
