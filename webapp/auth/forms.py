"""The sign-in form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.web.validators import PlainText


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64), PlainText()])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    """A two-factor code: six digits from the app, or a recovery code (sign-in, profile)."""

    code = StringField(
        "Authentication code",
        validators=[DataRequired("Enter the code."), Length(max=32), PlainText()],
    )
