"""The sign-in form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.users.accounts import MAX_PASSWORD, MAX_USERNAME
from webapp.web.validators import PlainText


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(max=MAX_USERNAME, message=f"A username is at most {MAX_USERNAME} characters."),
            PlainText(),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(max=MAX_PASSWORD, message=f"A password is at most {MAX_PASSWORD} characters."),
        ],
    )


class CodeForm(FlaskForm):
    """A two-factor code: six digits from the app, or a recovery code (sign-in, profile)."""

    code = StringField(
        "Authentication code",
        validators=[DataRequired("Enter the code."), Length(max=32), PlainText()],
    )
