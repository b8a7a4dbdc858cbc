"""The main navigation: which pages appear in the header, and for whom."""

from __future__ import annotations

from flask import Flask, current_app

# (endpoint, label, permission needed or None); an endpoint not registered yet is left out.
MAIN_NAVIGATION = (
    ("search.candidates", "Candidates", None),
    ("search.contacts", "Client Contacts", None),
    ("templates_admin.index", "Templates", "sms.send"),
    ("replies.unmatched", "Unmatched replies", "audit.view"),
    ("admin.users", "Users", "users.manage"),
    ("admin.settings", "Settings", "settings.manage"),
    ("audit.index", "Audit log", "audit.view"),
    ("profile.index", "Profile", None),
    ("sandbox.index", "Sandbox", None),
)


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"main_navigation": _registered()})


def _registered() -> list[tuple[str, str, str | None]]:
    views = current_app.view_functions
    return [entry for entry in MAIN_NAVIGATION if entry[0] in views]
