"""The `phone` template filter: every page shows a number one way, its E.164 form in a title; and
`mobile`, a person's mobile as the search results and the record show it."""

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
    app.add_template_filter(mobile, "mobile")
    app.add_template_global(phones.examples, "mobile_examples")
    app.add_template_filter(phones.stored_problem, "stored_mobile_problem")


def phone(e164: str | None) -> Markup:
    """`<span title="+61412345678">0412 345 678</span>`: national for the default region,
    international otherwise; empty for no number, and other text (an old audit entry's) as text."""
    if not e164:
        return Markup("")
    return _shown(e164, default_region())


def mobile(person, sms_url: str | None = None) -> Markup:
    """`person`'s mobile: missing, invalid or no mobile (as typed, with what it is: "landline, not
    a mobile"), or the number (see `phone`), linked to the SMS screen when `sms_url` is given.

    A filter rather than a macro: a results page shows fifty, and a Jinja macro call costs more
    than the rest of the cell (measured).
    """
    if not person.mobile_raw:
        return Markup('<span class="muted">No mobile</span>')
    if not person.mobile_valid:
        raw = escape(person.mobile_raw)
        kind = phones.what_number(person.mobile_e164)
        # "a landline" as "landline, not a mobile": a number, but not one an SMS reaches.
        badge = f"{kind.split(' ', 1)[1]}, not a mobile" if kind else "invalid number"
        return Markup(f'{raw} <span class="badge badge-bad">{badge}</span>')
    shown = phone(person.mobile_e164)
    if not sms_url:
        return shown
    link = escape(sms_url)
    return Markup(f'<a href="{link}"><span class="visually-hidden">SMS </span>{shown}</a>')


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
    # Asked once for each number shown, so `g` is looked through its proxy once, not twice.
    state = g._get_current_object()
    region = getattr(state, "phone_region", None)
    if region is None:
        reader = current_user if current_user.is_authenticated else None
        region = state.phone_region = offices.phone_region(
            reader, settings.default_region(db.session, current_app.config)
        )
    return region
