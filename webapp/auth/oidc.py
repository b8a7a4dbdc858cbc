"""Single sign-on views: off to the OpenID provider, and back with a code that signs the user in."""

from __future__ import annotations

import threading

import sqlalchemy.exc
from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from webapp.auth import bp
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import User
from webapp.models.activity import audit
from webapp.users import oidc
from webapp.web import sessions
from webapp.web.access import landing, local_path
from webapp.web.rendering import render

# The session's key for the sign-ins under way (webapp.users.oidc.Pending), by state: one a tab,
# so a second tab starting one does not spoil the first. Only the last few, and for a while.
PENDING = "sso_pending"
PENDING_KEPT = 5
PENDING_SECONDS = 15 * 60
_provider_lock = threading.Lock()


def provider() -> oidc.Provider:
    """This app's provider (one per app, so discovery and keys are cached across requests);
    404 when single sign-on is not set up."""
    settings = oidc.Settings.from_config(current_app.config)
    if settings is None:
        abort(404)
    with _provider_lock:
        found = current_app.extensions.get("oidc_provider")
        if found is None or found.settings != settings:
            found = current_app.extensions["oidc_provider"] = oidc.Provider(settings)
    return found


def passwords_off() -> bool:
    """Whether passwords are switched off (LOCAL_PASSWORDS=0): single sign-on only."""
    return not current_app.config.get("LOCAL_PASSWORDS", True)


def callback_url() -> str:
    """Where the provider sends the user back: registered with it, so built from
    PUBLIC_BASE_URL when that is set (behind a proxy the request's own host may differ)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("auth.sso_callback")
    return base + path if base else url_for("auth.sso_callback", _external=True)


@bp.route("/login/sso")
def sso():
    """Send the user to the organisation's sign-in service (state, nonce and PKCE kept here)."""
    found = provider()
    next_path = local_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(landing(next_path))
    try:
        url, pending = found.start(callback_url(), next_path)
    except oidc.ProviderUnavailable as error:
        return _unavailable(found, error, next_path)
    kept = _pending_sign_ins()
    kept[pending.state] = {**pending.as_dict(), "at": sessions.now()}
    newest = sorted(kept.items(), key=lambda item: item[1]["at"])[-PENDING_KEPT:]
    session[PENDING] = dict(newest)
    return redirect(url, 303)


@bp.route("/login/sso/callback")
def sso_callback():
    """Sign in the user the provider vouches for, once every check on its ID token holds."""
    found = provider()
    # Taken first: whatever happens next, this state can never be used again. The other tabs'
    # sign-ins stay (a state that is not this browser's spoils none of them).
    kept = _pending_sign_ins()
    pending = oidc.Pending.from_dict(kept.pop(request.args.get("state") or "", None))
    session[PENDING] = kept
    # Where the sign-in was going, kept by the way back to the sign-in page when it fails.
    next_path = local_path(pending.next_path) if pending else None
    if current_user.is_authenticated:
        # Signed in meanwhile, by another tab's sign-in (or this one's callback opened again):
        # nothing to refuse, and no code spent; on to where this sign-in was going.
        return redirect(landing(next_path))
    try:
        claims = found.finish(pending, request.args, callback_url())
        user = _sign_in(found.settings, claims)
    except oidc.ProviderUnavailable as error:
        return _unavailable(found, error, next_path)
    except oidc.Refused as refusal:
        db.session.rollback()
        audit(
            db.session,
            None,
            "auth.sso_refused",
            reason=refusal.reason,
            sub=refusal.subject,
            iss=refusal.issuer or found.settings.issuer,
        )
        db.session.commit()
        current_app.logger.warning("single sign-on refused: %s", refusal.reason)
        return render(
            "auth/sso_refused.html",
            status=403,
            title="Sign-in refused",
            message=refusal.message,
            next_path=next_path,
        )
    audit(db.session, user, "auth.sso_signed_in", user, sub=claims["sub"], iss=claims["iss"])
    sessions.sign_in(user, sessions.SSO)
    if kept:
        # The other tabs' sign-ins outlive the fresh session, only to send them on when they come
        # back (signed in, a callback never finishes one).
        session[PENDING] = kept
    return redirect(landing(next_path))


def _pending_sign_ins() -> dict[str, dict]:
    """The sign-ins under way in this browser, by state: those not yet expired."""
    kept = session.get(PENDING)
    if not isinstance(kept, dict):
        return {}
    moment = sessions.now()
    return {
        state: pending
        for state, pending in kept.items()
        if isinstance(pending, dict)
        and isinstance(pending.get("at"), int | float)
        and moment - pending["at"] <= PENDING_SECONDS
    }


def _sign_in(settings: oidc.Settings, claims: dict) -> User:
    """The user the claims sign in, in a write transaction; tried twice, because one person's
    first sign-in in two tabs at once can collide on the new account's subject or username."""
    try:
        return _sign_in_once(settings, claims)
    except sqlalchemy.exc.IntegrityError:
        db.session.rollback()
        return _sign_in_once(settings, claims)


def _sign_in_once(settings: oidc.Settings, claims: dict) -> User:
    db.session.commit()  # ends the reading transaction: the sign-in writes
    begin_write(db.session)
    user = oidc.sign_in(db.session, settings, claims)
    db.session.flush()
    return user


def _unavailable(found: oidc.Provider, error: oidc.ProviderUnavailable, next_path: str | None):
    """The provider cannot be reached: said, with the way back to the sign-in page keeping where
    the sign-in was going (`next_path`, a local path only)."""
    current_app.logger.warning("single sign-on provider unavailable: %s", error.message)
    return render(
        "auth/sso_refused.html",
        status=error.status,
        title=f"{found.settings.name} is unavailable",
        message=error.message,
        next_path=next_path,
    )
