"""A sent batch: its messages and how far they have got."""

from flask import Blueprint

bp = Blueprint("batches", __name__, url_prefix="/sms")

from webapp.batches import routes, schedule_routes  # noqa: E402,F401
