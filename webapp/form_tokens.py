"""One-time form tokens: what a form carries so that posting it twice does its work once."""

from __future__ import annotations

import re
import secrets

# What new() makes (24 random bytes, URL-safe base64); anything else was not our form's.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


def new() -> str:
    """A fresh form's token."""
    return secrets.token_urlsafe(24)


def ours(token: str | None) -> str:
    """`token` when it has the shape new() gives, else "" (no token of ours: a hand-made post)."""
    return token if token and _SHAPE.fullmatch(token) else ""
