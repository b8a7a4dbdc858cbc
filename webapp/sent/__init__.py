"""The Sent page: a user's SMS batches (or everyone's), newest first, each linking to its batch."""

from flask import Blueprint

bp = Blueprint("sent", __name__, url_prefix="/sms")

from webapp.sent import routes  # noqa: E402,F401
