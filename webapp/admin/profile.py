"""Every user's own profile and password, and the rule that a temporary password is changed
first."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from webapp.admin import profile_bp
from webapp.admin.forms import PasswordForm, ProfileForm
from webapp.admin.users import office_choices, organisation_region, read_mobile_for_office
from webapp.database import begin_write, reread_for_update
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import User, utcnow
from webapp.phones import display
from webapp.sms import limits
from webapp.users import accounts, offices, throttle, two_factor
from webapp.web import edit_merge, sessions
from webapp.web.access import local_path
from webapp.web.forms import field_error, showing
from webapp.web.rendering import render
from webapp.web.times import organisation_zone

LOCKED_OFFICE = (
    "Your office was not changed: while Team views by office is on, it decides who sees whose "
    "messages, so an administrator changes it."
)
# What a user with a temporary password may still reach: the page to change it, and the way out.
OPEN_WHILE_TEMPORARY = frozenset({"profile.password", "auth.logout", "static"})


@profile_bp.before_app_request
def require_own_password():
    """Send a user who must change their password to the password page, whatever they asked for
    (not while passwords are switched off: nobody can sign in with one, nor change it). A single
    sign-on voids the temporary password instead (webapp.users.oidc.sign_in)."""
    if request.endpoint in OPEN_WHILE_TEMPORARY:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if not current_app.config.get("LOCAL_PASSWORDS", True):
        return None
    return sessions.hold_on("profile.password")


@profile_bp.route("/profile", methods=["GET", "POST"])
@login_required
def index():
    """Show one's own account, and change one's email, mobile, office and time zone."""
    if showing():
        return _page(read_mobile_for_office(edit_merge.stamp(_filled_form())))
    form = ProfileForm(offices=office_choices())
    office_now = str(current_user.office_id or "")
    # While locked, another office posted is not taken (it would open that office's messages);
    # a locked list (disabled) posts none at all, and that keeps the office too, locked or not by
    # the time of the Save.
    office_kept = "office" in request.form and _office_locked() and form.office.data != office_now
    if "office" not in request.form or office_kept:
        form.office.data = office_now
    if read_mobile_for_office(form).validate_on_submit():
        # Read in the region of the office chosen on this form, not one merged in from another tab.
        form.mobile.data = accounts.mobile_written_out(form.mobile.data, form.default_region)
        # Saved meanwhile from another tab: only what this one changed is applied over it.
        reread_for_update(db.session, current_user._get_current_object())
        problem = edit_merge.merge(form, _filled_form())
        if problem:
            return _page(form, status=409, problem=problem)
        try:
            changes = accounts.edit_profile(
                db.session,
                current_user,
                email=form.email.data,
                mobile=form.mobile.data,
                office_id=form.office.office_id,
                timezone=form.timezone.data,
                default_region=organisation_region(),
            )
        except FieldError as error:
            field_error(form, error)
        else:
            flash("Your profile is saved." if changes else "Your profile is unchanged.", "info")
            if office_kept:
                flash(LOCKED_OFFICE, "warning")
            return redirect(url_for("profile.index"))
    return _page(form, status=400)


def _filled_form() -> ProfileForm:
    """The form as the signed-in user's record holds it now."""
    form = ProfileForm(formdata=None, obj=current_user, offices=office_choices())
    form.mobile.data = display(current_user.mobile)
    form.office.data = str(current_user.office_id or "")
    return form


def _office_locked() -> bool:
    """While "Team views by office" is on, a user's office is an administrator's to change (for
    everyone but administrators): it decides which office's messages a team leader sees, and
    which team leaders see a consultant's."""
    return offices.team_of(db.session, current_user) is not None


def _page(form: ProfileForm, status: int = 200, problem: str | None = None):
    return render(
        "admin/profile.html",
        status=status,
        form=form,
        problem=problem,
        office_locked=_office_locked(),
        user=current_user,
        organisation_zone=organisation_zone(),
        allowance=limits.allowance(
            db.session, current_user, limits.LimitSettings.from_config(current_app.config)
        ),
    )


@profile_bp.route("/profile/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password (the current one is asked for); after a temporary one, required."""
    next_path = local_path(request.args.get("next"))
    forced = current_user.must_change_password
    form = PasswordForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            was_forced = _change_password(form)
        except FieldError as error:
            field_error(form, error)
            status = error.status
        else:
            forced = forced or was_forced
            flash(
                "Your password is changed. Any other place you were signed in is signed out.",
                "info",
            )
            return redirect(next_path or url_for("health.home" if forced else "profile.index"))
    return render(
        "admin/password.html",
        status=status,
        form=form,
        forced=forced,
        next_path=next_path,
    )


def _change_password(form: PasswordForm) -> bool:
    """Change the password under the sign-in lockout, as a code is checked on the profile
    (webapp.auth.two_factor_routes.check_code): refused while the account or address is locked, a
    wrong current password counted as a failed sign-in, a right one forgiving the account's
    failures. So a session left open is no way to guess the password unthrottled.

    The form sent twice (a second Enter on a slow network) is answered as the first: see
    _changed_just_now. True when the change was from a temporary password."""
    user = current_user._get_current_object()
    attempt = throttle.Attempt(user.username, request.remote_addr or "unknown")
    moment = throttle.now()
    # Reads, checks slowly, then writes (a failure, or the new hash): on SQLite, hold the write
    # lock from the start, or an embedded worker's write meanwhile fails it ("database is
    # locked"), and guesses sent at once are counted one after another.
    begin_write(db.session)
    # On PostgreSQL, guesses sent at once take their turn too (the check commits only when right).
    with throttle.one_at_a_time(db.session, attempt):
        if (until := throttle.locked_until(db.session, attempt, moment)) is not None:
            raise FieldError(throttle.locked_text(until, moment), "current_password", 429)
        try:
            accounts.change_password(
                db.session,
                user,
                form.current_password.data,
                form.new_password.data,
                keep_session=sessions.current_token(),
            )
        except FieldError as error:
            if error.field == "current_password":
                if (repeat := _changed_just_now(user, form.new_password.data)) is not None:
                    db.session.rollback()  # nothing to write: the lock and the turn are let go
                    return repeat
                throttle.record_failure(db.session, attempt, moment)
                db.session.commit()
            raise
        throttle.record_success(db.session, attempt)
        db.session.commit()
        return False


# The form sent twice: the first sending changed the password, so the second's "current" one is
# the old, refused, and the page said "not your current password" (a failed sign-in counted) when
# the change had worked. Told apart within two_factor.REPEAT_SECONDS of the change, as a
# code form sent twice is.
def _changed_just_now(user: User, new: str) -> bool | None:
    """When the password refused as current is the second sending of the change that made `new`
    the password: whether that change was from a temporary password; None when it is not.

    That change was made within two_factor.REPEAT_SECONDS, in this session (it ended every
    other, so a live session signed in before it is the one it kept), and `new` is the password
    now: whoever typed it knows it, so nothing is guessed."""
    changed = accounts.last_password_change(db.session, user)
    signed_in_at = session.get(sessions.SIGNED_IN_AT)
    if changed is None or not isinstance(signed_in_at, int | float):
        return None
    age = (utcnow() - changed.created_at).total_seconds()
    if not 0 <= age <= two_factor.REPEAT_SECONDS or signed_in_at > changed.created_at.timestamp():
        return None
    db.session.refresh(user, ["password_hash"])
    if not user.check_password(new):
        return None
    return bool((changed.details or {}).get("forced"))


@profile_bp.route("/profile/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    """End every session of the user, this one too (POST with the CSRF token, like sign-out)."""
    accounts.sign_out_everywhere(db.session, current_user)
    sessions.forget_this_session()
    flash(
        "You are signed out everywhere, here included: every browser and device must sign in "
        "again.",
        "info",
    )
    return redirect(url_for("auth.login"))
