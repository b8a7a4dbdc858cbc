"""The `phone` template filter: every page shows a number one way, its E.164 form in a title."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app, g
from flask_login import current_user
from markupsafe import Markup, escape

from webapp import phones
from webapp.extensions import db
from webapp.sms import settings
from webapp.users import offices


def init_app(app: Flask) -> None:
    app.add_template_filter(phone, "phone")


def phone(e164: str | None) -> Markup:
    """`<span title="+61412345678">0412 345 678</span>`: national for the default region,
    international otherwise; empty for no number, and other text (an old audit entry's) as text."""
    if not e164:
        return Markup("")
    return _shown(e164, default_region())


# A results page shows fifty numbers and formatting one costs about 55 µs (measured), so a number
# shown again (the next page, the same record) is not formatted again.
@lru_cache(maxsize=4096)
def _shown(e164: str, region: str) -> Markup:
    text = phones.display(e164, region)
    if text == e164:
        return escape(e164)
    return Markup(f'<span title="{escape(e164)}">{escape(text)}</span>')


def default_region() -> str:
    """The reader's phone region: their office's, else the admin's (else SMS_DEFAULT_REGION); read
    once per request and only by a page that shows or reads a number."""
    if "phone_region" not in g:
        reader = current_user if current_user.is_authenticated else None
        g.phone_region = offices.phone_region(
            reader, settings.default_region(db.session, current_app.config)
        )
    return g.phone_region
