"""CSV downloads: a batch's messages and the Sent log, as spreadsheets open them."""

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/sms")

from webapp.exports import routes  # noqa: E402,F401
