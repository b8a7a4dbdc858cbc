"""/healthz, /readyz, /metrics and the home page: small routes that belong to no feature."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, url_for
from flask_login import login_required

from webapp import version
from webapp.extensions import db
from webapp.sms import status
from webapp.web import metrics

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """Say whether the app can reach its database (for load balancers and monitoring)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            connection.commit()  # not a rollback, which would clear psycopg's prepared statements
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/readyz")
def readyz():
    """Say whether SMS Desk is doing its job: database, a live worker, a moving queue, no failed
    email."""
    state = status.readiness(
        db.engine, status.Thresholds.from_config(current_app.config), version.version()
    )
    return jsonify(state.as_json()), 200 if state.ok else 503


@bp.route("/metrics", endpoint="metrics")
def prometheus_metrics():
    """The metrics for Prometheus: from loopback, or with the METRICS_TOKEN bearer token."""
    refused = metrics.allowed()
    if refused == 401:
        return (
            "A bearer token is needed.\n",
            401,
            {
                "WWW-Authenticate": 'Bearer realm="metrics"',
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
    if refused is not None:
        abort(refused)
    return metrics.exposition()


@bp.route("/", endpoint="home")
@login_required
def home():
    """Start on the dashboard: the last 30 days of sending at a glance."""
    return redirect(url_for("dashboard.index"))
