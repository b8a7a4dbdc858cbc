"""Administration (users, roles, SMS settings) and every signed-in user's own profile and
password."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The profile is for everyone signed in, not only administrators, so it lives outside /admin.
profile_bp = Blueprint("profile", __name__)

from webapp.admin import routes  # noqa: E402,F401
