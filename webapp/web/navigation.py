"""The page header: which pages its main navigation shows, and for whom, and the URLs it links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import sqlalchemy.exc
from flask import Flask, current_app, g, request, url_for
from flask_login import current_user

from webapp.config import sandbox_enabled
from webapp.extensions import db
from webapp.sms import inbox

# (endpoint, label, who sees it: None for everyone signed in, else a permission or a tuple of which
# any one will do); an endpoint not registered yet is left out.
MAIN_NAVIGATION = (
    ("dashboard.index", "Dashboard", None),
    ("search.candidates", "Candidates", None),
    ("search.contacts", "Client Contacts", None),
    ("sent.index", "Sent", inbox.PAGE_PERMISSIONS),
    ("inbox.index", "Replies", inbox.PAGE_PERMISSIONS),
    ("templates_admin.index", "Templates", "sms.send"),
    ("replies.unmatched", "Unmatched replies", "audit.view"),
    ("admin.users", "Users", "users.manage"),
    ("admin.settings", "Settings", "settings.manage"),
    ("admin.sms_accounts", "SMS accounts", "settings.manage"),
    ("admin.status", "Status", "settings.manage"),
    ("audit.index", "Audit log", "audit.view"),
    ("profile.index", "Profile", None),
    ("sandbox.index", "Sandbox", None),
)

# Pages that exist only in some configurations: endpoint → whether the app's config has them.
SWITCHED: dict[str, Callable[[Mapping], bool]] = {"sandbox.index": sandbox_enabled}


# Script roots whose header URLs are kept (see header_urls).
MAX_ROOTS = 8

# The header's other links, by the name base.html uses: (endpoint, its values).
HEADER_LINKS = {
    "home": ("health.home", {}),
    "logout": ("auth.logout", {}),
    "favicon": ("static", {"filename": "favicon.svg"}),
    "stylesheet": ("static", {"filename": "css/app.css"}),
    "htmx": ("static", {"filename": "vendor/htmx-2.0.11.min.js"}),
    "shortcuts": ("static", {"filename": "js/shortcuts.js"}),
    "compose": ("static", {"filename": "js/compose.js"}),
}


def init_app(app: Flask) -> None:
    app.context_processor(_header)


def _header() -> dict:
    urls = header_urls()
    return {
        "main_navigation": _shown(urls),
        "header_urls": urls,
        "unread_replies": unread_replies,
    }


def header_urls() -> Mapping[str, str]:
    """The header's URLs, each navigation link's by its endpoint and the others by their
    HEADER_LINKS name: built once per script root (the one part of them a request can change).

    Every page links the same twenty or so; url_for costs more per link than drawing it. A site
    has a root or two; past MAX_ROOTS (a proxy that passes a client's SCRIPT_NAME header on could
    send any number) they are built for the request and not kept."""
    cache = current_app.extensions.setdefault("header_urls", {})
    root = request.script_root
    if root in cache:
        return cache[root]
    views = current_app.view_functions
    built = {name: url_for(endpoint, **values) for name, (endpoint, values) in HEADER_LINKS.items()}
    built |= {endpoint: url_for(endpoint) for endpoint, *_ in MAIN_NAVIGATION if endpoint in views}
    urls = MappingProxyType(built)  # shared by every request: read-only
    if len(cache) < MAX_ROOTS:
        cache[root] = urls
    return urls


def _shown(urls: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(endpoint, label, URL) of each link the signed-in user sees."""
    views, config = current_app.view_functions, current_app.config
    return [
        (endpoint, label, urls[endpoint])
        for endpoint, label, permission in MAIN_NAVIGATION
        if endpoint in views and SWITCHED.get(endpoint, _always)(config) and _may(permission)
    ]


def _may(permission: str | tuple[str, ...] | None) -> bool:
    if permission is None:
        return True
    wanted = (permission,) if isinstance(permission, str) else permission
    return any(current_user.can(name) for name in wanted)


def unread_replies(*, errors_raised: bool = False) -> int | None:
    """The signed-in user's unread replies, for the Replies link (None where there is no link):
    asked once per page, and only by a page that shows it. `errors_raised`: for a page that
    shows the count itself (Replies), whose own error a database error then is; otherwise an
    error page drawn after the database failed must still be drawn, without the count."""
    if "unread_replies" not in g:
        g.unread_replies = None
        if current_user.is_authenticated and _may(inbox.PAGE_PERMISSIONS):
            try:
                g.unread_replies = inbox.unread_count(db.session, current_user.id)
            except sqlalchemy.exc.SQLAlchemyError:
                if errors_raised:
                    raise
                current_app.logger.warning("could not count unread replies", exc_info=True)
    return g.unread_replies


def _always(_config: Mapping) -> bool:
    return True
