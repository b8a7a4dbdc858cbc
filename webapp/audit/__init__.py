"""The audit log page: who did what, to whom, and when, filtered and paged."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from webapp.audit import routes  # noqa: E402,F401
