"""Session lifetime: sign the user out after SESSION_IDLE_MINUTES idle or SESSION_ABSOLUTE_HOURS in all."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user, user_logged_in

from webapp import config as settings
from webapp.web.access import local_path

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"
EXPIRED_MESSAGE = "Your session has expired. Please sign in again."
POLLING = frozenset({"progress"})  # ids of elements that poll with hx-trigger="every …"


def now() -> float:
    """Seconds since the epoch; tests replace this to move the clock."""
    return time.time()


def init_app(app: Flask) -> None:
    settings.warn_if_insecure(app.config, app.logger)
    user_logged_in.connect(stamp_sign_in, app)
    app.before_request(enforce_lifetime)


def stamp_sign_in(_app: Flask, **_extra) -> None:
    moment = now()
    session[SIGNED_IN_AT] = moment
    session[LAST_SEEN_AT] = moment


def expired(signed_in_at: float, last_seen_at: float, moment: float, idle_minutes: int,
            absolute_hours: int) -> bool:
    """Whether a session signed in and last seen at these times has run out at `moment`."""
    return (moment - last_seen_at > idle_minutes * 60
            or moment - signed_in_at > absolute_hours * 3600)


def enforce_lifetime() -> ResponseReturnValue | None:
    """Sign out an expired session before the view runs; otherwise note that the user was here."""
    if "_user_id" not in session or not current_user.is_authenticated:
        return None
    moment = now()
    # A session from before these stamps existed starts its clocks now rather than being cut off.
    signed_in_at = float(session.setdefault(SIGNED_IN_AT, moment))
    last_seen_at = float(session.get(LAST_SEEN_AT, moment))
    config = current_app.config
    if not expired(signed_in_at, last_seen_at, moment, config["SESSION_IDLE_MINUTES"],
                   config["SESSION_ABSOLUTE_HOURS"]):
        # A page polling by itself (the batch progress) is not the user being active.
        if request.headers.get("HX-Trigger") not in POLLING:
            session[LAST_SEEN_AT] = moment
        return None
    logout_user()
    session.clear()
    flash(EXPIRED_MESSAGE, "info")
    target = request.full_path if request.method == "GET" else request.referrer or "/"
    if request.htmx:
        # Like Flask-Login's unauthorized handler: the whole page moves, never a login form in a panel.
        current = request.htmx.current_url or target
        return "", 401, {"HX-Redirect": url_for("auth.login", next=local_path(current) or None)}
    return redirect(url_for("auth.login", next=local_path(target) or None))
