"""The dashboard: what was sent, what got through, what failed and why, replies and opt-outs."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from webapp.dashboard import routes  # noqa: E402,F401
