"""Sign-in and sign-out views."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.auth import bp, two_factor_routes
from webapp.auth.forms import LoginForm
from webapp.auth.oidc import passwords_off
from webapp.extensions import db
from webapp.models import User
from webapp.models.users import spend_hash_time
from webapp.users import throttle
from webapp.web import sessions
from webapp.web.access import landing, local_path
from webapp.web.rendering import render

BAD_CREDENTIALS = "Wrong username or password, or the account is switched off."
EXPIRED_FORM = (
    "This sign-in form had expired: someone signed in or out in this browser (perhaps in another "
    "tab) after it was opened. Enter your password again and press Sign in. If this happens every "
    "time, check that your browser accepts cookies from this site."
)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign the user in."""
    next_path = local_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(landing(next_path))
    form = LoginForm()
    if passwords_off():
        # LOCAL_PASSWORDS=0: only the single sign-on button; a posted password is not even read.
        return render("auth/login.html", form=form, status=403 if request.method == "POST" else 200)
    if form.validate_on_submit():
        attempt = throttle.Attempt(form.username.data, request.remote_addr or "unknown")
        with throttle.one_at_a_time(db.session, attempt):
            moment = throttle.now()
            until = throttle.locked_until(db.session, attempt, moment)
            user = _user_named(form.username.data)
            if user is None or until is not None:
                # As long as a wrong password (User.check_password, whatever the stored hash).
                spend_hash_time(form.password.data)
            elif user.check_password(form.password.data) and user.active:
                if user.two_factor_on:
                    # Not signed in yet, and the failures not forgiven: the code comes first.
                    return two_factor_routes.ask_for_code(user, next_path)
                throttle.record_success(db.session, attempt)
                sessions.sign_in(user, sessions.PASSWORD)
                return redirect(landing(next_path))
            if until is None:
                throttle.record_failure(db.session, attempt, moment)
            db.session.commit()  # the failure counted; the account's lock let go
        if until is not None:
            # Said as it is, so someone who typed the right password is not told it is wrong: the
            # password was not checked, and an unknown username locks exactly like a real one, so
            # the answer tells nothing about either.
            form.password.errors.append(throttle.locked_text(until, moment))
            return render("auth/login.html", form=form, status=429)
        form.password.errors.append(BAD_CREDENTIALS)
        return render("auth/login.html", form=form, status=401)
    status = 400 if form.is_submitted() else 200
    return render("auth/login.html", form=form, status=status)


def expired_sign_in():
    """The sign-in form posted with a token this browser's session did not give (a CSRFError):
    nothing is checked or counted, and the form comes back with its username and a fresh token;
    one signed in meanwhile (in another tab) is told so."""
    if current_user.is_authenticated:
        return render(
            "errors/error.html",
            status=400,
            title="You are signed in",
            message="This sign-in form had expired: you signed in (perhaps in another tab) after "
            "it was opened, and you still are.",
            as_alert=False,
        )
    form = LoginForm()  # as posted: the username comes back, never the password
    form.password.errors = [EXPIRED_FORM]
    return render("auth/login.html", form=form, status=400)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST only, so a link or image cannot sign anyone out), ending the session on the
    server."""
    return signed_out()


def signed_out():
    """End this browser's session and say so on the sign-in page. Also the answer to a Sign out
    whose form token had expired (a tab opened before signing out and in again elsewhere): on a
    shared computer, refusing it would leave the next person signed in as this user."""
    sessions.end_this_session()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def _user_named(typed: str) -> User | None:
    """The account a typed username names: exactly, else in any case. Usernames are unique in any
    case, and a phone's keyboard may have capitalised the first letter ("Consultant")."""
    name = typed.strip()
    user = db.session.scalar(sa.select(User).where(User.username == name))
    if user is None:
        found = db.session.scalars(
            sa.select(User).where(sa.func.lower(User.username) == name.lower()).limit(2)
        ).all()
        user = found[0] if len(found) == 1 else None
    return user
