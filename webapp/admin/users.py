"""Users and roles pages: find, add and edit users, switch them off and on, set temporary passwords,
and grant permissions to roles."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from webapp import form_tokens
from webapp.admin import bp
from webapp.admin.forms import (
    NewUserForm,
    ProfileForm,
    RolesForm,
    TemporaryPasswordForm,
    UserForm,
    UserSearchForm,
)
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import Office, Role, User
from webapp.phones import display
from webapp.sms import limits as sending_limits
from webapp.sms import schedule
from webapp.sms import settings as sms_settings
from webapp.users import accounts, offices, oidc
from webapp.users.accounts import UserDetails
from webapp.web import edit_merge, sessions
from webapp.web.access import permission_required
from webapp.web.forms import field_error, showing
from webapp.web.rendering import render, render_list

RETYPE_PASSWORD = "Type the temporary password again: it is not kept when the form is refused."
WithOffice = TypeVar("WithOffice", UserForm, ProfileForm)  # a form with Office and Mobile


def organisation_region() -> str:
    """The organisation's phone region (the admin setting, else SMS_DEFAULT_REGION)."""
    return sms_settings.default_region(db.session, current_app.config)


def read_mobile_for_office(form: WithOffice) -> WithOffice:
    """Check the form's Mobile in the region of the office chosen on it, else the organisation's:
    the region accounts.create_user, edit_user and edit_profile read it in, not the reader's."""
    office_id = form.office.office_id
    office = db.session.get(Office, office_id) if office_id is not None else None
    form.default_region = offices.office_region(office, organisation_region())
    return form


def office_choices() -> list[tuple[int, str]]:
    """(id, name) of every office, for an Office choice."""
    return [(office.id, office.name) for office in offices.all_offices(db.session)]


@bp.route("/users")
@permission_required("users.manage")
def users():
    """List the users, searched by name, username or email."""
    form = UserSearchForm.read(request.args)
    q = form.filters
    return render_list("admin/users.html", form, q=q, users=accounts.find_users(db.session, q))


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("users.manage")
def new_user():
    """Add a user with a temporary password, which they must change when they first sign in."""
    roles = accounts.all_roles(db.session)
    form = NewUserForm(role_names=[role.name for role in roles], offices=office_choices())
    token = form.add_token.data  # none on a post from no page of ours: added as before
    form.add_token.data = token or form_tokens.new()  # what the page shown carries
    problem = None
    if read_mobile_for_office(form).validate_on_submit():
        try:
            limit = sending_limits.parse_limit(form.daily_limit.data)  # refused before adding
            added = accounts.add_user_once(
                db.session,
                current_user,
                _details(form),
                form.password.data,
                organisation_region(),
                token=token,
            )
            if not added.repeated:  # a repeat's limit was set by its first sending
                sending_limits.set_user_limit(db.session, current_user, added.user, limit)
        except FieldError as error:
            problem = field_error(form, error)
        else:
            name = added.user.full_name
            if added.repeated:
                flash(
                    f"{name} was already added (the form was sent twice): not added again.", "info"
                )
            else:
                flash(
                    f"{name} added. Give them the temporary password: they must choose "
                    "their own when they first sign in.",
                    "info",
                )
            return redirect(url_for("admin.users"))
    if form.is_submitted() and form.password.data and not form.password.errors:
        # A password is never written back into the page (it would sit in its HTML and the
        # browser's cache), so the box comes back empty: say so, or the next Add is refused again.
        form.password.errors = [*form.password.errors, RETYPE_PASSWORD]
    return _user_page(
        form, None, roles, problem=problem, status=400 if form.is_submitted() else 200
    )


def user_or_404(user_id: int) -> User:
    """The user, or 404: the one place that decides whether an account exists."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description="There is no such user.")
    return user


@bp.route("/users/<id:user_id>/edit", methods=["GET", "POST"])
@permission_required("users.manage")
def edit_user(user_id: int):
    """Edit a user's details and roles."""
    user = user_or_404(user_id)
    roles = accounts.all_roles(db.session)
    if showing():
        # Read for the office's region on the page too: the Mobile's hint gives its example.
        form = read_mobile_for_office(edit_merge.stamp(_filled_form(user, roles)))
        return _user_page(form, user, roles)
    form = UserForm(role_names=[role.name for role in roles], offices=office_choices())
    problem = None
    if read_mobile_for_office(form).validate_on_submit():
        # The Mobile is read in the region of the office this form showed: the merge may take
        # another tab's office instead, which would read a national number as another one.
        form.mobile.data = accounts.mobile_written_out(form.mobile.data, form.default_region)
        # A form opened before someone else's save (roles taken away, say) applies only what
        # its user changed.
        accounts.lock_to_edit(db.session, user)
        typed_email = form.email.data
        # A limit is compared as a number: "1,000" here is the 1000 saved from another tab.
        problem = edit_merge.merge(
            form, _filled_form(user, roles), {"daily_limit": sending_limits.parse_limit}
        )
        if problem:
            return _user_page(form, user, roles, problem=problem, status=409)
        try:
            # Read before anything is saved: a limit refused must not leave the rest half saved.
            limit = sending_limits.parse_limit(form.daily_limit.data)
            changes = accounts.edit_user(
                db.session,
                current_user,
                user,
                _details(form),
                organisation_region(),
                keep_session=sessions.current_token(),
                # Saving confirms the address this page showed or its user typed; not one the
                # user changed on their Profile after it was opened (taken over as it is stored).
                email_shown=form.email.data == typed_email,
            )
            changes = (
                sending_limits.set_user_limit(db.session, current_user, user, limit) or changes
            )
        except FieldError as error:
            problem = field_error(form, error)
        else:
            flash(
                f"{user.full_name} saved." if changes else f"{user.full_name}: nothing changed.",
                "info",
            )
            return redirect(url_for("admin.users"))
    return _user_page(form, user, roles, problem=problem, status=400)


@bp.route("/users/<id:user_id>/deactivate", methods=["GET", "POST"])
@permission_required("users.manage")
def deactivate_user(user_id: int):
    """Ask, then switch a user off (never delete: their messages and audit entries keep their
    name). It ends their sessions at once, so it is confirmed first, on a page of its own."""
    user = user_or_404(user_id)
    if showing():
        return render(
            "admin/deactivate.html",
            user=user,
            own=user.id == current_user.id,
            scheduled=schedule.waiting_of(db.session, user.id),
        )
    try:
        accounts.deactivate_user(db.session, current_user, user)
    except FieldError as error:
        return _status_refused(user, error.message, 400)
    return _back_to(user, f"{user.full_name} is deactivated and can no longer sign in.")


@bp.route("/users/<id:user_id>/reactivate", methods=["POST"])
@permission_required("users.manage")
def reactivate_user(user_id: int):
    """Let a deactivated user sign in again."""
    user = user_or_404(user_id)
    try:
        accounts.reactivate_user(db.session, current_user, user)
    except FieldError as error:
        return _status_refused(user, f"Not reactivated: {error.message}", 409)
    return _back_to(user, f"{user.full_name} is active again and can sign in.")


@bp.route("/users/<id:user_id>/password", methods=["POST"])
@permission_required("users.manage")
def temporary_password(user_id: int):
    """Give a user a new temporary password, to be changed when they next sign in."""
    user = user_or_404(user_id)
    password_form = TemporaryPasswordForm()
    if password_form.validate_on_submit():
        try:
            accounts.set_temporary_password(
                db.session,
                current_user,
                user,
                password_form.password.data,
                keep_session=sessions.current_token(),
            )
        except FieldError as error:
            field_error(password_form, error)
        else:
            return _back_to(
                user,
                f"{user.full_name} has a new temporary password and must change it when they "
                "next sign in.",
            )
    roles = accounts.all_roles(db.session)
    # Stamped, as on the page's GET: its Save must still apply only what is changed there.
    return _user_page(
        edit_merge.stamp(_filled_form(user, roles)),
        user,
        roles,
        password_form=password_form,
        status=400,
    )


def _status_refused(user: User, problem: str, status: int):
    """The user's page again, `problem` beside its Deactivate or Reactivate button."""
    roles = accounts.all_roles(db.session)
    form = edit_merge.stamp(_filled_form(user, roles))
    return _user_page(form, user, roles, status_problem=problem, status=status)


def _back_to(user: User, message: str):
    """Back to the user's page (post/redirect/get), saying what was done."""
    flash(message, "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


def _limit_hint(user: User | None) -> str:
    """The hint under Daily SMS limit: what an empty field means for this user now."""
    if user is None:
        return "Messages in any 24 hours. Empty: the default of the user’s roles; 0: no limit."
    default = sending_limits.role_default(
        db.session, user, sending_limits.LimitSettings.from_config(current_app.config)
    )
    shown = f"{default.limit:,} a day" if default.limit is not None else "no limit"
    return f"Messages in any 24 hours. Empty: the default of their roles ({shown}); 0: no limit."


def _details(form: UserForm) -> UserDetails:
    return UserDetails(
        username=form.username.data,
        full_name=form.full_name.data,
        email=form.email.data,
        mobile=form.mobile.data,
        office_id=form.office.office_id,
        roles=tuple(form.roles.data or ()),
    )


def _filled_form(user: User, roles: list[Role]) -> UserForm:
    form = UserForm(
        formdata=None,
        obj=user,
        role_names=[role.name for role in roles],
        offices=office_choices(),
    )
    form.roles.data = [role.name for role in user.roles]
    form.office.data = str(user.office_id or "")
    form.mobile.data = display(user.mobile)
    # As the field holds it, typed: a text (another admin's limit, merged in, is read again).
    form.daily_limit.data = "" if user.daily_limit is None else str(user.daily_limit)
    return form


def _user_page(
    form: UserForm,
    user: User | None,
    roles: list[Role],
    *,
    problem: str | None = None,
    status_problem: str | None = None,
    password_form: TemporaryPasswordForm | None = None,
    status: int = 200,
):
    return render(
        "admin/user.html",
        status=status,
        form=form,
        password_form=password_form or TemporaryPasswordForm(formdata=None),
        user=user,
        roles=roles,
        problem=problem,
        status_problem=status_problem,
        daily_limit_hint=_limit_hint(user),
        email_hint=_email_hint(user),
    )


def _email_hint(user: User | None) -> str | None:
    """The hint under Email while the address is one the user typed on their profile and single
    sign-on is set up: it matches no sign-in until saved here, so the administrator checks it."""
    settings = oidc.Settings.from_config(current_app.config)
    if user is None or not user.email_self_set or settings is None:
        return None
    return (
        f"{user.full_name} typed this address on their profile, so {settings.name} does not "
        "sign anyone in to this account by it. Saving here confirms it: first check it is "
        f"{user.full_name}'s own address, and if it is not (a colleague's or a newcomer's), "
        "change it to theirs."
    )


@bp.route("/roles", methods=["GET", "POST"])
@permission_required("users.manage")
def roles():
    """Show which permissions each role grants (a box per role and permission) and change them."""
    roles = accounts.all_roles(db.session)
    permissions = accounts.all_permissions(db.session)
    granted = {(role.name, permission.name) for role in roles for permission in role.permissions}
    form = RolesForm()
    loaded = _grants(granted)  # the boxes as this page shows them now
    problem = None
    if form.validate_on_submit():
        submitted = {_grant(value) for value in request.form.getlist("grant")}
        opened = _loaded_grants(request.form.get("loaded"))
        try:
            if opened is None:
                # A post from no page of ours: every role is in the form, so a role with no box
                # ticked is asked to have no permissions.
                wanted: dict[str, set[str]] = {role.name: set() for role in roles}
                for role_name, permission in submitted:
                    wanted.setdefault(role_name, set()).add(permission)
                changed = accounts.set_role_permissions(db.session, current_user, wanted)
            else:
                # Only the boxes changed on this page: one left open undoes nobody's change.
                changed = accounts.change_role_permissions(
                    db.session, current_user, opened, submitted
                )
        except FieldError as error:
            problem = field_error(form, error)
            granted, loaded = submitted, request.form.get("loaded", "")
        else:
            flash(_roles_message(changed), "info")
            return redirect(url_for("admin.roles"))
    return render(
        "admin/roles.html",
        status=400 if problem else 200,
        roles=roles,
        permissions=permissions,
        granted=granted,
        loaded=loaded,
        problem=problem,
    )


def _grant(value: str) -> accounts.Grant:
    role_name, _, permission = value.partition(":")
    return role_name, permission


def _grants(granted: set[accounts.Grant]) -> str:
    """The boxes ticked, as the page carries them (`loaded`): JSON, "role:permission" each."""
    return json.dumps(sorted(f"{role}:{permission}" for role, permission in granted))


def _loaded_grants(text: str | None) -> set[accounts.Grant] | None:
    """The boxes the page was opened with; None when the post carries none (or not a list)."""
    try:
        values = json.loads(text or "")
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" posted by hand
        return None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return None
    return {_grant(value) for value in values}


def _roles_message(changed: dict[str, dict[str, list[str]]]) -> str:
    if not changed:
        return "Roles unchanged."
    parts = []
    for role_name, change in changed.items():
        words = [f"+{name}" for name in change["added"]] + [
            f"−{name}" for name in change["removed"]
        ]
        parts.append(f"{role_name} ({', '.join(words)})")
    return "Roles saved: " + "; ".join(parts) + "."
