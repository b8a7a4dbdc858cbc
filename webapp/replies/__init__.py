"""Replies no record matched, and filing them on the right person."""

from flask import Blueprint

bp = Blueprint("replies", __name__, url_prefix="/replies")

from webapp.replies import routes  # noqa: E402,F401
