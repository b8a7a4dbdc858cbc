"""SMS Desk: find Candidates and Client Contacts and send them single or bulk SMS."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from webapp import collector, logs, version
from webapp import config as settings
from webapp.folders import folder
from webapp.ids import IdConverter


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app: settings from `config` when given (tests), else from the environment."""
    # Inside the package when installed from a wheel, beside it in a checkout (webapp/folders.py).
    app = Flask(__name__, template_folder=folder("templates"), static_folder=folder("static"))
    app.url_map.converters["id"] = IdConverter
    if config is None:
        app.config.from_mapping(settings.from_environment(os.environ, Path(app.instance_path)))
    else:
        app.config.from_mapping(config)
    # Before anything else, so the lines of start-up (and of every CLI command) are kept too.
    logs.configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "text"))
    logs.init_app(app)
    app.context_processor(lambda: {"app_version": version.version()})
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    register_worker(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Behind a reverse proxy: take the client's address, scheme and host from the headers
        # of exactly that many proxies (throttling and the Twilio signature URL depend on them).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if not app.testing:
        # Last, so what start-up made is frozen out of the collector's full passes (a test run
        # builds many apps in one process and keeps Python's defaults).
        collector.settle()
    return app


def register_extensions(app: Flask) -> None:
    from webapp.extensions import csrf, db, htmx, login_manager
    from webapp.web import (
        access,
        bars,
        characters,
        compression,
        forms,
        headers,
        metrics,
        navigation,
        numbers,
        phone_numbers,
        row_urls,
        sessions,
        template_folders,
        times,
        validators,
    )

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    access.init_app(app)
    headers.init_app(app)
    navigation.init_app(app)
    numbers.init_app(app)
    characters.init_app(app)
    bars.init_app(app)
    row_urls.init_app(app)
    phone_numbers.init_app(app)
    template_folders.init_app(app)
    times.init_app(app)
    compression.init_app(app)
    sessions.init_app(app)
    validators.init_app(app)
    forms.init_app(app)
    metrics.init_app(app)
    if app.testing:
        from jinja2 import StrictUndefined

        app.jinja_env.undefined = StrictUndefined


def register_blueprints(app: Flask) -> None:
    from webapp.admin import bp as admin_bp
    from webapp.admin import profile_bp
    from webapp.audit import bp as audit_bp
    from webapp.auth import bp as auth_bp
    from webapp.batches import bp as batches_bp
    from webapp.compose import bp as compose_bp
    from webapp.dashboard import bp as dashboard_bp
    from webapp.exports import bp as exports_bp
    from webapp.health import bp as health_bp
    from webapp.inbox import bp as inbox_bp
    from webapp.records import bp as records_bp
    from webapp.replies import bp as replies_bp
    from webapp.sandbox import bp as sandbox_bp
    from webapp.search import bp as search_bp
    from webapp.sent import bp as sent_bp
    from webapp.templates_admin import bp as templates_admin_bp
    from webapp.webhooks import bp as webhooks_bp

    for blueprint in (
        auth_bp,
        health_bp,
        search_bp,
        records_bp,
        compose_bp,
        batches_bp,
        sent_bp,
        exports_bp,
        dashboard_bp,
        inbox_bp,
        webhooks_bp,
        sandbox_bp,
        replies_bp,
        templates_admin_bp,
        audit_bp,
        admin_bp,
        profile_bp,
    ):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from webapp.web import errors

    errors.init_app(app)


def register_cli(app: Flask) -> None:
    from webapp import cli

    cli.init_app(app)


def register_worker(app: Flask) -> None:
    from webapp import worker

    worker.init_embedded(app)
