"""The SMS screen: recipients, template, merge fields, counter, preview and Send."""

from flask import Blueprint

bp = Blueprint("compose", __name__, url_prefix="/sms")

from webapp.compose import routes  # noqa: E402,F401
