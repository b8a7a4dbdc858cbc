"""The Replies inbox: replies to the messages a user sent (or everyone's), read and unread."""

from flask import Blueprint

bp = Blueprint("inbox", __name__, url_prefix="/sms")

from webapp.inbox import routes  # noqa: E402,F401
