"""/healthz and the home page: small routes that belong to no feature."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import login_required

from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """Say whether the app can reach its database (for load balancers and monitoring)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/", endpoint="home")
@login_required
def home():
    """Start where recruiters start: the candidate search."""
    return redirect(url_for("search.candidates"))
