"""The `when` template filter: every page shows a time in the reader's zone with its abbreviation,
"2 Dec 2026, 9:05 am AEDT"; and the reader's zone, for reading the dates they type in filters."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_login import current_user

from webapp import times
from webapp.extensions import db
from webapp.sms import settings


def init_app(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_global(zone_name, "time_zone")
    app.add_template_global(times.zone_names, "time_zone_names")


def when(moment: datetime | date | str | None, *, day: bool = False, seconds: bool = False) -> str:
    """`moment` in the reader's zone: "2 Dec 2026, 9:05 am AEDT", with `seconds` "9:05:07 am",
    with `day` only "2 Dec 2026"; "" for no moment, and text (an audit detail's) as it is."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        return moment
    if not isinstance(moment, datetime):
        return times.day(moment)
    if day:
        return times.day(moment, user_zone())
    return times.when(moment, user_zone(), seconds=seconds)


def zone_name() -> str:
    """The reader's zone as its IANA name, for a page that says which zone its times are in."""
    return user_zone().key


def organisation_zone() -> str:
    """The organisation's zone name (the Settings page's, else TIMEZONE), read once per request."""
    if "organisation_zone" not in g:
        g.organisation_zone = settings.organisation_zone(db.session, current_app.config)
    return g.organisation_zone


def user_zone() -> ZoneInfo:
    """The signed-in user's zone, else their office's, else the organisation's."""
    if "user_zone" not in g:
        reader = current_user if current_user.is_authenticated else None
        g.user_zone = times.user_zone(reader, organisation_zone())
    return g.user_zone
