"""Who is signed in and what they may do: Flask-Login wiring and the permission decorator."""

from __future__ import annotations

from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import AnonymousUserMixin, current_user, login_required
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from webapp.extensions import db, login_manager
from webapp.ids import as_id
from webapp.models import PERMISSIONS, User
from webapp.users import sessions as user_sessions

SESSION_TOKEN = "session_token"  # the cookie's key for the token of the server-side session


class Anonymous(AnonymousUserMixin):
    """The visitor who has not signed in: may do nothing."""

    permissions = frozenset()

    def can(self, _permission: str) -> bool:
        return False


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a live server-side session whose token the cookie holds, else nobody.

    Every way Flask-Login finds a user (the session, a remember cookie) comes through here, so a
    cookie signed with our key but naming no live session opens nothing.
    """
    number = as_id(user_id)
    if number is None:
        return None
    live = user_sessions.find(db.session, session.get(SESSION_TOKEN), number)
    if live is None:
        return None
    g.live_session = live  # for the session's lifetime (webapp.web.sessions)
    return live[1]


@login_manager.unauthorized_handler
def unauthorized():
    """Send the visitor to sign in; an htmx request gets 401 and HX-Redirect, never a swapped
    page."""
    return to_sign_in()


def to_sign_in():
    """The way to the sign-in page, with next= back to the page asked for: for an htmx request,
    the page it was made from (the whole page moves, never a login form in a panel), or the page
    a filter form asks for (its GET of the same path, with what was typed)."""
    target = request.full_path if request.method == "GET" else request.referrer or "/"
    if request.htmx:
        current = request.htmx.current_url or target
        if request.method == "GET" and _path_of(current) == request.path:
            current = request.full_path
        return "", 401, {"HX-Redirect": url_for("auth.login", next=local_path(current) or None)}
    return redirect(url_for("auth.login", next=local_path(target) or None))


def local_path(url: str | None) -> str | None:
    """The path-and-query of `url` when it stays on this site, else None (no open redirects)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x/": the browser sends what it was given; no page of ours
        return None
    if parts.scheme or parts.netloc:
        if parts.netloc != request.host:
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _path_of(url: str) -> str | None:
    """The path of `url`, or None when it cannot be read ("http://[x/")."""
    try:
        return urlsplit(url).path
    except ValueError:
        return None


def landing(next_path: str | None) -> str:
    """Where a sign-in goes: `next_path` when it is a page, else the home page. A CSV download
    asked for when the session had ended goes to the page with its link instead, saying to press it
    again: the file would save while the tab stayed on the sign-in form, signed in but not looking
    it."""
    from webapp.exports.routes import page_of_download  # the exports know their pages

    if next_path and (page := page_of_download(next_path)) is not None:
        flash("You are signed in: press Download CSV again to save the file.", "info")
        return page
    return next_path if next_path and _is_a_page(next_path) else url_for("health.home")


def _is_a_page(path: str) -> bool:
    """Whether a GET of `path` would find a page. The sign-in after a session ends goes back to
    the address the browser showed, and a form refused with a 400 leaves its POST-only action
    there (/admin/settings/quiet-hours): followed, it would be a dead-end 405."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    path = unquote(urlsplit(path).path)
    root = request.script_root  # url_for's addresses start with it; the map's rules do not
    if root and (path == root or path.startswith(f"{root}/")):
        path = path[len(root) :] or "/"
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:  # the same page with or without its trailing slash
        return True
    except HTTPException:
        return False
    return True


def permission_required(*permissions: str):
    """Require a signed-in user holding `permission` (of several, any one); anyone else gets 403."""
    for permission in permissions:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
    needed = " or ".join(f"“{permission}”" for permission in permissions)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(current_user.can(permission) for permission in permissions):
                abort(403, description=f"You need the permission {needed} for this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
