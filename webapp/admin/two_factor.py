"""Two-factor sign-in pages: one's own enrolment (Profile), the roles that must use it (Settings),
an administrator's reset (a user's page), and the rule that sends those roles to enrol first."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from webapp import sealing
from webapp.admin import bp, profile_bp
from webapp.admin import settings as settings_views
from webapp.admin.forms import TwoFactorResetForm, TwoFactorRolesForm
from webapp.admin.users import user_or_404
from webapp.auth.forms import CodeForm
from webapp.auth.two_factor_routes import check_code, key_material
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import AuditEvent, RecoveryCode, User, utcnow
from webapp.users import accounts, throttle, two_factor
from webapp.web import edit_merge, sessions
from webapp.web.access import local_path, permission_required
from webapp.web.forms import field_error
from webapp.web.notices import back_to_section
from webapp.web.rendering import render

# What a user who must enrol may still reach: the enrolment page, and the way out.
OPEN_WHILE_ENROLLING = frozenset({"profile.two_factor", "auth.logout", "static"})


@profile_bp.before_app_request
def require_two_factor():
    """Send a user whose role requires two-factor sign-in, not enrolled and not signed in through
    single sign-on, to enrolment, whatever they asked for."""
    if request.endpoint in OPEN_WHILE_ENROLLING:
        return None
    if not current_user.is_authenticated or current_user.two_factor_on:
        return None
    # A temporary password is changed first (require_own_password); single sign-on leaves the
    # second factor to the organisation's provider. Every other session is held to it, those
    # from before the mark existed too.
    if current_user.must_change_password or session.get(sessions.SIGNED_IN_WITH) == sessions.SSO:
        return None
    if not two_factor.is_required(db.session, current_app.config, current_user):
        return None
    return sessions.hold_on("profile.two_factor")


# New recovery codes wait in the session for the one page that shows them (Post/Redirect/Get): a
# reload of the page the POST answered sent the spent code again, counted as a failed sign-in.
# The session is a cookie, so they are sealed in it, for this user and sign-in only, and briefly.
CODES_TO_SHOW = "recovery_codes_to_show"
CODES_PURPOSE = b"sms-desk recovery codes shown once v1"
SHOW_WITHIN_SECONDS = 600
SHOWN_ALREADY = (
    "Your recovery codes were shown once, when they were made, and are not shown again. If you "
    "did not keep them, make new ones: type the current code from your app and press Make new "
    "recovery codes (the ones shown before then stop working)."
)

BOTH = ("renew", "off")  # the page's buttons once it is on and the role does not require it
ENTER_ALONE = (
    "Enter alone does nothing here: press Make new recovery codes, or Turn off two-factor, "
    "after typing the code."
)
# Turn on pressed on a page from before it was on (another tab turned it on): never taken for
# Make new recovery codes, which would void the codes that tab showed.
ALREADY_ON = (
    "Two-factor sign-in is already on: it was turned on in another tab or browser, which showed "
    "its recovery codes. Nothing was changed here."
)
NO_BUTTON = "Press one of the buttons after typing the code."
# Turn on or Make new recovery codes sent twice (Enter again on a slow network, a double click):
# the browser shows the second answer only. The first made the codes; the second is sent to the
# page that shows them, and when the first's answer (the cookie holding them) never reached the
# browser, that page says so instead of "shown once". When this browser last showed codes: a post
# after that is not the repeat of the one that made them.
SENT_TWICE = "recovery_codes_sent_twice"
CODES_SHOWN_AT = "recovery_codes_shown_at"
CODES_LOST = (
    "The form was sent twice: the first sending made your recovery codes, but its answer, which "
    "showed them, never reached this browser, and they are not shown again. Make new ones now: "
    "type the next code from your app and press Make new recovery codes."
)


# Endpoint "profile.two_factor" (the name "two_factor" is the domain module's here).
@profile_bp.route("/profile/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_page():
    """Turn two-factor sign-in on (the key as a QR code and as text, then a current code); when
    on, make new recovery codes or turn it off."""
    next_path = local_path(request.args.get("next"))
    required = two_factor.is_required(db.session, current_app.config, current_user)
    form = CodeForm()
    problem = None
    status = 200
    focus_problem = False
    # What was pressed, not what the state is now: another tab may have changed it since.
    action = request.form.get("action") or None
    if request.method == "GET" and request.args.get("codes") == "new":
        codes = _codes_to_show()
        lost = session.pop(SENT_TWICE, False)
        if codes:
            return _page(form, codes=codes, required=required, next_path=next_path)
        # A reload of that page (or its address again): the codes are not kept to show twice.
        return _page(
            form, required=required, next_path=next_path, shown_already=True, codes_lost=lost
        )
    if request.method == "POST" and current_user.two_factor_on and action in (None, "on"):
        if action == "on" and _turned_on_just_now(request.form.get("code") or ""):
            return _sent_twice(next_path)
        if action == "on":
            problem, status, focus_problem = ALREADY_ON, 409, True
        elif required:
            # One button on the page, which Enter presses: a post without it was none of them.
            problem, status = NO_BUTTON, 400
        else:
            problem, status = ENTER_ALONE, 400
    elif (
        request.method == "POST"
        and current_user.two_factor_on
        and not required
        and action not in BOTH
    ):
        # Enter in the code box (the hidden first button) with both on the page: neither is
        # guessed (new codes would void the printed ones of someone who meant Turn off). With
        # one button, Enter presses it.
        problem, status = ENTER_ALONE, 400
    elif form.validate_on_submit():
        user, code, material = current_user._get_current_object(), form.code.data, key_material()
        token = sessions.current_token()
        # Each action checks a code: under the sign-in lockout (check_code), like /login/code.
        try:
            if not user.two_factor_on:
                if action not in (None, "on"):
                    # Make new codes or Turn off, from a page left open while it was turned off.
                    raise FieldError("Two-factor sign-in is off now.", "form", 409)
                codes = check_code(
                    user,
                    lambda moment: two_factor.turn_on(
                        db.session,
                        user,
                        code,
                        moment,
                        material,
                        this_session=token,
                        not_before=_codes_shown_at(),
                    ),
                )
                return _show_once(codes, next_path)
            if action == "off":
                check_code(
                    user,
                    lambda moment: two_factor.turn_off(
                        db.session, user, code, moment, material, required=required
                    ),
                )
                flash("Two-factor sign-in is off: you sign in with your password alone.", "info")
                return redirect(url_for("profile.index"))
            if action != "renew":
                # Only Make new recovery codes makes new ones: never a button it is not.
                raise FieldError(NO_BUTTON, "form", 400)
            codes = check_code(
                user,
                lambda moment: two_factor.renew_recovery_codes(
                    db.session, user, code, moment, material, not_before=_codes_shown_at()
                ),
            )
            return _show_once(codes, next_path)
        except two_factor.SentTwice:
            return _sent_twice(next_path)
        except FieldError as error:
            problem = field_error(form, error)
            status = error.status
            focus_problem = problem is not None and error.status == 409
    elif form.is_submitted():
        status = 400
    return _page(
        form,
        required=required,
        next_path=next_path,
        problem=problem,
        status=status,
        focus_problem=focus_problem,
    )


def _sign_in_mark() -> str:
    """Which sign-in this session is, without the token itself."""
    return hashlib.sha256((sessions.current_token() or "").encode()).hexdigest()


def _codes_shown_at() -> datetime | None:
    """When this browser last showed recovery codes (CODES_SHOWN_AT), if it did."""
    shown = session.get(CODES_SHOWN_AT)
    return datetime.fromtimestamp(shown, UTC) if isinstance(shown, int | float) else None


def _turned_on_just_now(code: str) -> bool:
    """Whether Turn on, posted once it is on, is the second sending of the post that turned it
    on (a form sent twice): its codes still wait in this session, or its code is the one that
    turned it on a moment ago, and this browser has shown no codes since."""
    if _codes_to_show(keep=True):
        return True
    return two_factor.just_used(
        current_user,
        code,
        throttle.now(),
        key_material(),
        current_user.totp_enabled_at,
        not_before=_codes_shown_at(),
    )


def _sent_twice(next_path: str | None):
    """The answer to a form that made recovery codes, sent again: the page that shows them, or
    says the first sending's answer (and so the codes) never reached this browser."""
    if not _codes_to_show(keep=True):
        session[SENT_TWICE] = True
    return redirect(url_for("profile.two_factor", next=next_path, codes="new"))


def _show_once(codes: list[str], next_path: str | None):
    """Keep the new codes for one showing, and send the browser to the page that shows them."""
    note = {
        "user": current_user.id,
        "sign_in": _sign_in_mark(),
        "at": throttle.now().timestamp(),
        "codes": codes,
    }
    session[CODES_TO_SHOW] = sealing.seal(key_material(), CODES_PURPOSE, json.dumps(note).encode())
    return redirect(url_for("profile.two_factor", next=next_path, codes="new"))


def _codes_to_show(*, keep: bool = False) -> list[str] | None:
    """The codes kept by _show_once, taken out of the session (so shown once) unless `keep`;
    None when there are none, or they are not this user's and sign-in's, are stale, or were
    replaced since."""
    sealed = session.get(CODES_TO_SHOW) if keep else session.pop(CODES_TO_SHOW, None)
    if not isinstance(sealed, str):
        return None
    try:
        note = json.loads(sealing.unseal(key_material(), CODES_PURPOSE, sealed))
    except (sealing.Unreadable, ValueError):
        return None
    age = throttle.now().timestamp() - note.get("at", 0)
    if (
        note.get("user") != current_user.id
        or note.get("sign_in") != _sign_in_mark()
        or not 0 <= age <= SHOW_WITHIN_SECONDS
    ):
        return None
    codes = note.get("codes") or []
    # New codes made meanwhile (in another browser) replaced these: not shown as if they worked.
    stored = set(
        db.session.scalars(
            sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == current_user.id)
        )
    )
    material = key_material()
    if {two_factor.recovery_digest(material, code) for code in codes} != stored:
        return None
    if not keep:
        session[CODES_SHOWN_AT] = throttle.now().timestamp()
    return codes


def _page(
    form: CodeForm,
    *,
    required: bool,
    next_path: str | None,
    codes: list[str] | None = None,
    problem: str | None = None,
    status: int = 200,
    shown_already: bool = False,
    codes_lost: bool = False,
    focus_problem: bool = False,
):
    secret = svg = None
    if not current_user.two_factor_on:
        try:
            secret = two_factor.key_for_enrolment(
                db.session, current_user, key_material(), this_session=sessions.current_token()
            )
        except FieldError:
            # Turned on by another sign-in this very moment (which ends this one): no key to show.
            secret = None
        else:
            svg = two_factor.qr_svg(two_factor.provisioning_uri(secret, current_user.username))
    # Secrets on the page: like every page, it is sent with Cache-Control: no-store
    # (webapp.web.headers).
    return render(
        "admin/two_factor.html",
        status=status,
        form=form,
        user=current_user,
        required=required,
        next_path=next_path,
        codes=codes,
        shown_already=(CODES_LOST if codes_lost else SHOWN_ALREADY)
        if shown_already and current_user.two_factor_on
        else None,
        problem=problem,
        focus_problem=focus_problem,
        secret=secret,
        qr_svg=svg,
        codes_left=two_factor.recovery_codes_left(db.session, current_user)
        if current_user.two_factor_on
        else 0,
    )


@bp.route("/settings/two-factor", methods=["POST"])
@permission_required("settings.manage")
def two_factor_roles():
    """Choose the roles that must use two-factor sign-in (audited)."""
    form = TwoFactorRolesForm()
    if form.validate_on_submit():
        # A page left open does not undo another administrator's choice (webapp.web.edit_merge).
        problem = settings_views.merged(form, _stored_roles_form)
        if problem:
            form.roles.errors = [problem]
            return settings_views._page(two_factor_form=form, status=409)
        try:
            changed = two_factor.save_required_roles(
                db.session, current_user, current_app.config, form.roles.data or ()
            )
        except FieldError as error:
            field_error(form, error)
        else:
            return back_to_section(
                "admin.settings",
                "two-factor",
                "Two-factor sign-in roles saved." if changed else "Two-factor roles unchanged.",
            )
    return settings_views._page(two_factor_form=form, status=400)


def _stored_roles_form() -> TwoFactorRolesForm:
    required = two_factor.required_roles(db.session, current_app.config)
    return TwoFactorRolesForm(formdata=None, data={"roles": sorted(required.names)})


def roles_section(form: TwoFactorRolesForm | None) -> dict:
    """What the Settings page's two-factor section shows."""
    required = two_factor.required_roles(db.session, current_app.config)
    if form is None:
        form = edit_merge.stamp(_stored_roles_form())
    return {
        "two_factor_form": form,
        "two_factor_required": required,
        "two_factor_all_roles": accounts.all_roles(db.session),
        "two_factor_default": sorted(two_factor.default_roles(db.session)),
    }


@bp.app_template_global("two_factor_required_of")
def required_of(user) -> bool:
    """Whether `user`'s role requires two-factor sign-in (a user's page says so while it is
    off)."""
    return two_factor.is_required(db.session, current_app.config, user)


_NOTHING_TO_RESET = "{name} has not turned on two-factor sign-in: there is nothing to reset."


@bp.route("/users/<id:user_id>/two-factor/reset", methods=["GET", "POST"])
@permission_required("users.manage")
def reset_two_factor(user_id: int):
    """Ask to confirm, then reset a user's two-factor sign-in (audited): they enrol again."""
    user = user_or_404(user_id)
    form = TwoFactorResetForm()
    if not user.two_factor_on and user.totp_secret is None:
        # Not enrolled (nor half-way): nothing to reset, and nothing to write to the audit log.
        if request.method == "POST":
            # Pressed twice (a slow link): the first press reset it, and this answer is the one
            # the browser shows, so it says the reset worked (as a Cancel of a scheduled send
            # pressed twice does).
            done = _reset_done(user) if _reset_just_now_by_me(user) else None
            flash(done or _NOTHING_TO_RESET.format(name=user.full_name), "info")
            return redirect(url_for("admin.edit_user", user_id=user.id))
        return render("admin/two_factor_reset.html", user=user, form=form, nothing=True)
    if form.validate_on_submit():
        two_factor.reset(db.session, current_user, user, keep_session=sessions.current_token())
        flash(_reset_done(user), "info")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render(
        "admin/two_factor_reset.html",
        status=400 if form.is_submitted() else 200,
        user=user,
        form=form,
    )


def _reset_done(user: User) -> str:
    """What the page says once `user`'s two-factor sign-in is reset."""
    if user.id == current_user.id:
        return (
            "Your two-factor sign-in is reset: your key and recovery codes no longer work, "
            "your other sessions are ended, and you enrol again from your profile."
        )
    return (
        f"Two-factor sign-in of {user.full_name} is reset: their key and recovery codes no "
        "longer work, they are signed out, and they enrol again from their profile."
    )


def _reset_just_now_by_me(user: User) -> bool:
    """Whether this administrator reset `user`'s two-factor sign-in within the last
    two_factor.REPEAT_SECONDS (its audit event): a reset posted again is that one, sent twice."""
    since = utcnow() - timedelta(seconds=two_factor.REPEAT_SECONDS)
    return (
        db.session.scalar(
            sa.select(AuditEvent.id)
            .where(
                AuditEvent.action == "user.two_factor_reset",
                AuditEvent.subject_type == "user",
                AuditEvent.subject_id == user.id,
                AuditEvent.actor_id == current_user.id,
                AuditEvent.created_at >= since,
            )
            .limit(1)
        )
        is not None
    )
