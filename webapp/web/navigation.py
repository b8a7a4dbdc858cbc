"""The main navigation: which pages appear in the header, and for whom."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask, current_app

from webapp.config import sandbox_enabled

# (endpoint, label, permission needed or None); an endpoint not registered yet is left out.
MAIN_NAVIGATION = (
    ("search.candidates", "Candidates", None),
    ("search.contacts", "Client Contacts", None),
    ("templates_admin.index", "Templates", "sms.send"),
    ("replies.unmatched", "Unmatched replies", "audit.view"),
    ("admin.users", "Users", "users.manage"),
    ("admin.settings", "Settings", "settings.manage"),
    ("admin.status", "Status", "settings.manage"),
    ("audit.index", "Audit log", "audit.view"),
    ("profile.index", "Profile", None),
    ("sandbox.index", "Sandbox", None),
)

# Pages that exist only in some configurations: endpoint → whether the app's config has them.
SWITCHED: dict[str, Callable[[Mapping], bool]] = {"sandbox.index": sandbox_enabled}


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"main_navigation": _registered()})


def _registered() -> list[tuple[str, str, str | None]]:
    views, config = current_app.view_functions, current_app.config
    return [
        entry
        for entry in MAIN_NAVIGATION
        if entry[0] in views and SWITCHED.get(entry[0], _always)(config)
    ]


def _always(_config: Mapping) -> bool:
    return True
