"""Where the templates, static files and migrations are: inside the package when installed,
beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    """The app's `name` folder (templates, static or migrations) wherever this copy keeps it."""
    # Inside first: an installed wheel carries its own copy (setup.py puts it there), and a
    # site-packages folder beside the package may hold another distribution's "templates".
    inside = PACKAGE / name
    if inside.is_dir():
        return inside
    return PACKAGE.parent / name
