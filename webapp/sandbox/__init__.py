"""The sandbox gateway's window: what it "sent", and replying as a recipient (demo only)."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__)

from webapp.sandbox import routes  # noqa: E402,F401
