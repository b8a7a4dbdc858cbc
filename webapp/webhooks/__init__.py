"""Gateway callbacks: delivery receipts and inbound replies, authenticated, idempotent."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from webapp.webhooks import routes  # noqa: E402,F401
