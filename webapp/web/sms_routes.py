"""Where the signed-in user's messages go: the SMS accounts and the default one, loaded once per
request, and each destination's account with what it will not serve."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from webapp.extensions import db
from webapp.sms import routing


def account_book() -> routing.AccountBook:
    """The SMS accounts and the default one, loaded once per request."""
    if "account_book" not in g:
        g.account_book = routing.load(db.session, current_app.config)
    return g.account_book


def blocked() -> routing.Routes:
    """Each destination's account for the signed-in user and what it refuses (stands where the
    gateway's blocked set did)."""
    return account_book().routes(current_user.office_id)


def region_names() -> dict[str, str]:
    return dict(account_book().region_names)
