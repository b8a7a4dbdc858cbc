"""Session lifetime: each sign-in is a session held in the database, ended by sign-out, by an
account change, or after SESSION_IDLE_MINUTES idle or SESSION_ABSOLUTE_HOURS in all."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy.exc
from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user, user_logged_in

from webapp import config as settings
from webapp.database import begin_write
from webapp.extensions import db
from webapp.users import sessions as user_sessions
from webapp.web.access import SESSION_TOKEN, local_path, to_sign_in

SIGNED_IN_AT = "signed_in_at"
# How this session signed in. Only single sign-on is spared our two-factor enrolment
# (webapp.admin.two_factor), so a session without the mark (older than it, or from any other
# way in) is held to it.
SIGNED_IN_WITH = "signed_in_with"
SSO = "sso"
PASSWORD = "password"
LAST_SEEN_AT = "last_seen_at"
TOKEN = SESSION_TOKEN
EXPIRED_MESSAGE = "Your session has expired. Please sign in again."
ENDED_MESSAGE = (
    "You are signed out: this session was ended (by signing out, signing out everywhere, "
    "or a change to your password or account). Please sign in again."
)
# Said besides when a form was sent (not with htmx, whose pages keep what was typed) and not done:
# the page it came back to shows the form empty.
NOT_SENT_SIGNED_OUT = (
    "What you sent from that page was not done: send it again once you are signed in."
)
NOT_SENT_HELD = "What you sent from that page was not done: finish here first, then send it again."
# Sent while signed out, these are not lost: signing in, and signing out.
NOTHING_LOST = frozenset({"auth.login", "auth.logout", "static"})
# Ids of elements that poll with hx-trigger="every …": the batch progress, the unread count, a
# record's thread while a message in it is on its way (which may wait all night in quiet hours).
POLLING = frozenset({"progress", "unread-poll", "conversation"})
# Nor is a page reloading itself without JavaScript (the batch page's <noscript> refresh), which
# asks for its address with this argument.
AUTO_RELOAD = {"refresh": "auto"}
# The cookie's last-seen time is written again only once it is this many seconds old, and read as
# up to that much later (as the row's is, webapp.users.sessions.TOUCH_EVERY). A cookie that has not
# changed is not signed and sent again: a search typed a letter at a time is many requests.
LAST_SEEN_STEP = 15.0


def now() -> float:
    """Seconds since the epoch; tests replace this to move the clock."""
    return time.time()


def _as_datetime(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def init_app(app: Flask) -> None:
    settings.warn_if_insecure(app.config, app.logger)
    user_logged_in.connect(stamp_sign_in, app)
    app.before_request(enforce_lifetime)


def stamp_sign_in(_app: Flask, user, **_extra) -> None:
    """Open the server-side session of a sign-in; the login view commits it with the sign-in."""
    moment = now()
    forget_before = _as_datetime(moment) - timedelta(
        hours=current_app.config["SESSION_ABSOLUTE_HOURS"]
    )
    session[TOKEN] = user_sessions.start(
        db.session, user.id, _as_datetime(moment), forget_before=forget_before
    )
    session[SIGNED_IN_AT] = moment
    session[LAST_SEEN_AT] = moment


def sign_in(user, how: str) -> None:
    """Sign `user` in on a fresh session (so a session id planted before it is worthless), note
    `how` (SSO or PASSWORD), and commit it with the server-side session it opens."""
    session.clear()
    login_user(user)  # also opens the server-side session (stamp_sign_in)
    session[SIGNED_IN_WITH] = how
    db.session.commit()


def current_token() -> str | None:
    """The token of this request's session (to keep it when the user's other sessions end)."""
    return session.get(TOKEN)


def end_this_session() -> None:
    """Sign out here: the session is revoked on the server, so a copy of the cookie opens
    nothing."""
    user_sessions.end(db.session, session.get(TOKEN), _as_datetime(now()))
    db.session.commit()
    forget_this_session()


def forget_this_session() -> None:
    """Drop the sign-in from this browser's cookie (the server-side session is ended separately)."""
    logout_user()
    session.clear()


def expired(
    signed_in_at: float, last_seen_at: float, moment: float, idle_minutes: int, absolute_hours: int
) -> bool:
    """Whether a session signed in and last seen at these times has run out at `moment`."""
    return (
        moment - last_seen_at > idle_minutes * 60 or moment - signed_in_at > absolute_hours * 3600
    )


def enforce_lifetime() -> ResponseReturnValue | None:
    """Sign out an ended or expired session before the view runs; otherwise note that the user
    was here."""
    if "_user_id" not in session:
        return None
    if not current_user.is_authenticated:
        # The user loader found no live session for this cookie: revoked, another user's, from
        # before sessions were kept on the server, or the account is switched off.
        return _signed_out(ENDED_MESSAGE)
    live = g.get("live_session")  # set by the user loader (webapp.web.access)
    moment = now()
    # Both are stamped at sign-in; a cookie missing one starts that clock now rather than failing.
    signed_in_at = float(session.setdefault(SIGNED_IN_AT, moment))
    stored = session.get(LAST_SEEN_AT)
    cookie_seen_at = None if stored is None else float(stored)
    last_seen_at = moment if cookie_seen_at is None else cookie_seen_at + LAST_SEEN_STEP
    if live is not None:
        # The server's row is the authority: a copied cookie carries (and refreshes) its own clock,
        # the row does not. The earlier of the two counts; the row's last_seen_at is written at
        # most once a minute, so it may lag the user's last request by up to that.
        signed_in_at = min(signed_in_at, live[0].created_at.timestamp())
        last_seen_at = min(
            last_seen_at, (live[0].last_seen_at + user_sessions.TOUCH_EVERY).timestamp()
        )
    config = current_app.config
    if expired(
        signed_in_at,
        last_seen_at,
        moment,
        config["SESSION_IDLE_MINUTES"],
        config["SESSION_ABSOLUTE_HOURS"],
    ):
        token = session.get(TOKEN)
        _write_apart(
            lambda: user_sessions.end(db.session, token, _as_datetime(moment)),
            "end an expired session",  # expired either way: its cookie is forgotten below
        )
        return _signed_out(EXPIRED_MESSAGE)
    # A page polling by itself (the batch progress) is not the user being active.
    if not _by_itself():
        if cookie_seen_at is None or moment - cookie_seen_at >= LAST_SEEN_STEP:
            session[LAST_SEEN_AT] = moment
        if live is not None and user_sessions.touch_due(live[0], _as_datetime(moment)):
            _touch(live[0], _as_datetime(moment))
    return None


def _by_itself() -> bool:
    """Whether the page asks by itself (a poll, a reload without JavaScript), not its user."""
    return request.headers.get("HX-Trigger") in POLLING or all(
        request.args.get(key) == value for key, value in AUTO_RELOAD.items()
    )


def _touch(user_session: user_sessions.UserSession, moment: datetime) -> None:
    """Write last_seen_at (at most once a minute)."""
    _write_apart(
        lambda: user_sessions.touch(db.session, user_session, moment),
        "note activity of a session",
    )


def _write_apart(write: Callable[[], None], doing: str) -> None:
    """Write a session's row in a transaction of its own, as a writer from its start: on SQLite
    the request's reading transaction, overtaken by another writer (the worker), failed the write
    at once ("database is locked", a 500). A busy database must not fail the request over it."""
    try:
        db.session.commit()  # nothing written yet: ends the reading transaction
        begin_write(db.session)
        write()
        db.session.commit()
    except sqlalchemy.exc.SQLAlchemyError:
        current_app.logger.warning("could not %s", doing, exc_info=True)
        db.session.rollback()


def hold_on(endpoint: str) -> ResponseReturnValue:
    """Send the user to the page at `endpoint` (enrolment, a forced password change) whatever they
    asked for, with next= back to where they were.

    An htmx request moves the whole page, as an expired session does (401 and HX-Redirect), never
    a page swapped into a panel; but a page polling by itself (the unread count, on the held page
    too) stays put: moving it reloaded the page every minute, wiping what was being typed there.
    """
    if request.htmx:
        if request.headers.get("HX-Trigger") in POLLING:
            return "", 204
        page = local_path(request.htmx.current_url)
        # What was typed on the page left comes back there afterwards (static/js/compose.js).
        return "", 401, {"HX-Redirect": url_for(endpoint, next=page if page != "/" else None)}
    if request.method == "GET":
        wanted = local_path(request.full_path)
    else:
        # A form sent (JavaScript off): back to the page it came from, saying it was not done.
        wanted = local_path(request.referrer)
        flash(NOT_SENT_HELD, "info")
    return redirect(url_for(endpoint, next=wanted if wanted != "/" else None))


def _signed_out(message: str) -> ResponseReturnValue:
    forget_this_session()
    if request.method != "GET" and not request.htmx and request.endpoint not in NOTHING_LOST:
        message = f"{message} {NOT_SENT_SIGNED_OUT}"
    flash(message, "info")
    if request.endpoint in {"auth.login", "static"}:
        return None  # already where the user is sent (or a stylesheet): no redirect to itself
    return to_sign_in()
