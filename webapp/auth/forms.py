"""The sign-in form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.web.validators import PlainText


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64), PlainText()])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
