"""SMS template management: personal templates for everyone who sends, shared ones for managers."""

from flask import Blueprint

bp = Blueprint("templates_admin", __name__)

from webapp.templates_admin import routes  # noqa: E402,F401
