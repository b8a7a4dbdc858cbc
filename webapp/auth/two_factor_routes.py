"""The second step of a password sign-in for a user with two-factor sign-in on (the code), and
the lockout every code check shares with passwords."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from webapp import sealing
from webapp.auth import bp
from webapp.auth.forms import CodeForm
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import User, UserSession
from webapp.users import throttle, two_factor
from webapp.web import sessions
from webapp.web.access import landing, local_path
from webapp.web.rendering import render

# In the (signed) session cookie between the password and the code: who, since when, going where.
PENDING = "two_factor_pending"
# Long enough to find the phone and type a code; a stolen half-done sign-in soon expires.
PENDING_SECONDS = 5 * 60
EXPIRED = "Please sign in again: the sign-in waited too long for the authentication code."
# Switched off, removed, or its two-factor reset by an administrator between password and code.
CHANGED = "Please sign in again: your account changed meanwhile."
# The code form sent twice (Enter again on a slow network, a double click): the first sending
# signed in, but its answer (the signed-in cookie) never reached the browser, which shows the
# second's. Signing in again on the spent code would let anyone replay one, so the next is asked
# for; the repeat is not a failed sign-in.
SIGNED_IN_ALREADY = (
    "That code was used a moment ago to sign in to your account: if you sent it twice, the first "
    "sending did it, but its answer never reached this browser. Enter the next code from your app "
    "to sign in here."
)


def ask_for_code(user: User, next_path: str | None) -> Response:
    """After a right password: hold the sign-in and ask for the code (nobody is signed in yet)."""
    # A fresh session here too, so nothing planted before the sign-in outlives it.
    session.clear()
    session[PENDING] = {"user": user.id, "at": sessions.now(), "next": next_path}
    return redirect(url_for("auth.two_factor"))


T = TypeVar("T")


def key_material() -> str:
    """What two-factor keys and recovery codes are sealed under (ACCOUNTS_KEY, else SECRET_KEY)."""
    return sealing.key_material(current_app.config, "two-factor keys")


def check_code(user: User, check: Callable[[datetime], T]) -> T:
    """Run a code check for `user` (`check(moment)`, raising two_factor.WrongCode on a wrong
    code) under the password lockout, wherever a code is typed: refused while the account or
    address is locked, a wrong code counted as a failed sign-in, a right one forgiving the
    account's failures. So the profile page is no side door for guessing codes."""
    attempt = throttle.Attempt(user.username, request.remote_addr or "unknown")
    # Codes sent in parallel wait their turn, and each is counted as failed before it is checked:
    # a check commits its own steps (letting the turn go), and the next guess must see this one.
    with throttle.one_at_a_time(db.session, attempt):
        moment = throttle.now()
        if (until := throttle.locked_until(db.session, attempt, moment)) is not None:
            db.session.rollback()
            raise FieldError(throttle.locked_text(until, moment), "code", 429)
        counted = throttle.count_attempt(db.session, attempt, moment)
        try:
            result = check(moment)
        except two_factor.WrongCode:
            throttle.audit_failure(db.session, attempt, moment)
            db.session.commit()
            raise
        except Exception:
            # Refused for another reason (already on, a stale page): no guess was made.
            db.session.rollback()
            throttle.forget(db.session, counted)
            db.session.commit()
            raise
        throttle.forget(db.session, counted)
        throttle.record_success(db.session, attempt)
        db.session.commit()
        return result


def _pending() -> tuple[User | None, str | None, str | None]:
    """The user whose sign-in waits for a code, where to go after, and when it cannot go on, why:
    EXPIRED (it waited too long) or CHANGED (the account changed meanwhile); the reason is None
    too when no sign-in waits at all."""
    pending = session.get(PENDING)
    if pending is None:
        return None, None, None
    if not isinstance(pending, dict):
        return None, None, EXPIRED
    next_path = local_path(pending.get("next"))
    started = pending.get("at")
    if not isinstance(started, int | float) or sessions.now() - started > PENDING_SECONDS:
        return None, next_path, EXPIRED
    user_id = pending.get("user")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or not user.two_factor_on:
        return None, next_path, CHANGED
    return user, next_path, None


@bp.route("/login/code", methods=["GET", "POST"], endpoint="two_factor")
def second_step():
    """Ask for the authentication code (or a recovery code) and finish a password sign-in."""
    if current_user.is_authenticated:
        return redirect(url_for("health.home"))
    user, next_path, refusal = _pending()
    if user is None:
        session.pop(PENDING, None)
        if refusal is not None:
            flash(refusal, "info")
        # Where the sign-in was going, kept: a page whose typed text waits to come back.
        return redirect(url_for("auth.login", next=next_path))
    form = CodeForm()
    if form.validate_on_submit():
        material = key_material()
        started = session[PENDING]["at"]

        def check(moment: datetime) -> str:
            # Read again: the first sending may have spent the code while this one waited.
            db.session.refresh(user, ["totp_last_step"])
            repeat = two_factor.spent_last(user, form.code.data, moment, material)
            if repeat and _signed_in_since(user, started):
                raise two_factor.SentTwice()
            return two_factor.require(db.session, user, form.code.data, moment, material)

        try:
            how = check_code(user, check)
        except two_factor.SentTwice:
            form.code.errors.append(SIGNED_IN_ALREADY)
            return _page(form, next_path, 409)
        except FieldError as error:
            # Not signed in, locked or not: 401, as for a wrong password.
            form.code.errors.append(error.message)
            return _page(form, next_path, 401)
        sessions.sign_in(user, sessions.PASSWORD)
        if how == "recovery":
            flash(_recovery_code_used(user), "warning")
        return redirect(landing(next_path))
    return _page(form, next_path, 400 if form.is_submitted() else 200)


def _signed_in_since(user: User, started: float) -> bool:
    """Whether `user` signed in (a session was opened) since `started`, this sign-in's password
    step."""
    opened = sa.select(UserSession.id).where(
        UserSession.user_id == user.id,
        UserSession.created_at >= datetime.fromtimestamp(started, UTC),
    )
    return db.session.scalar(opened.limit(1)) is not None


def _recovery_code_used(user: User) -> str:
    """What a sign-in with a recovery code says: how many are left, and what to do about the lost
    phone. A role that requires two-factor sign-in cannot turn it off to enrol again on the
    profile: an administrator resets it first."""
    left = two_factor.recovery_codes_left(db.session, user)
    if two_factor.is_required(db.session, current_app.config, user):
        advice = (
            "Make new recovery codes on your profile, or ask an administrator to reset your "
            "two-factor sign-in, then enrol again."
        )
    else:
        advice = "Make new recovery codes or enrol again on your profile."
    return (
        f"You signed in with a recovery code, which cannot be used again; {left} left. "
        f"Lost your phone? {advice}"
    )


def _page(form: CodeForm, next_path: str | None, status: int):
    return render("auth/two_factor.html", form=form, next_path=next_path, status=status)
