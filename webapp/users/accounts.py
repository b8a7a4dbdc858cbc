"""Users, roles and each user's own profile: added, edited, switched off, re-granted; every change
audited."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import form_tokens
from webapp.database import begin_write, reread_for_update
from webapp.errors import FieldError
from webapp.models.activity import AuditEvent, audit
from webapp.models.base import utcnow
from webapp.models.people import EMAIL_PATTERN
from webapp.models.users import PERMISSIONS, Permission, Role, User
from webapp.phones import display, mobile_problem, normalise
from webapp.text import is_blank, visible
from webapp.times import check_zone
from webapp.users import offices, two_factor
from webapp.users import sessions as user_sessions

MANAGE = "users.manage"
USERNAME_PATTERN = r"^[A-Za-z0-9._@-]+$"
OWN_MANAGE = (
    f"You cannot take “{MANAGE}” away from yourself: ask another administrator to do it, "
    "so someone who can manage users always remains."
)
LAST_MANAGE = (
    f"At least one active user must keep “{MANAGE}”, or nobody could manage users "
    "any more. Give it to someone else first."
)

MIN_PASSWORD_LENGTH = 12

# Long enough to pass the length rule, yet near the top of every cracking list.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "password123!",
        "passw0rd1234",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwerty123456",
        "qwertyuiop1!",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "123456789012",
        "1234567890ab",
        "abcdefghijkl",
        "abc123456789",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "welcome123456",
        "admin1234567",
        "administrator",
        "changeme1234",
        "trustno12345",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "monkey123456",
        "dragon123456",
        "superman1234",
        "starwars1234",
        "masterkey123",
        "qazwsxedcrfv",
        "zaq12wsxcde3",
    }
)


MAX_PASSWORD = 256  # hashing a longer one would only cost time; no one types more
MAX_USERNAME = User.__table__.c.username.type.length
PASSWORD_TOO_LONG = f"The password can be at most {MAX_PASSWORD} characters."
USERNAME_TOO_LONG = f"The username can be at most {MAX_USERNAME} characters."


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD:
        # The sign-in form takes no longer one: an account given it could never be opened.
        return PASSWORD_TOO_LONG
    if len(set(password)) < 4:
        return "The password must not repeat the same few characters."
    if password.casefold() in COMMON_PASSWORDS:
        return "That password is one of the most common ones; choose another."
    return None


@dataclass(frozen=True)
class UserDetails:
    """What the user form submits: the mobile as typed, roles by name."""

    username: str
    full_name: str
    email: str
    mobile: str | None
    office_id: int | None
    roles: tuple[str, ...]


# --- reading -------------------------------------------------------------------------------------


def find_users(session: so.Session, q: str = "") -> list[User]:
    """Users whose name, username or email contains `q` (any case), active ones first."""
    query = sa.select(User).order_by(User.active.desc(), sa.func.lower(User.full_name), User.id)
    text = q.strip().lower()
    if text:
        # The search box is free text: % and _ are letters there, not wildcards.
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
        query = query.where(
            sa.or_(
                *(
                    sa.func.lower(column).like(pattern, escape="\\")
                    for column in (User.full_name, User.username, User.email)
                )
            )
        )
    return list(session.scalars(query))


def all_roles(session: so.Session) -> list[Role]:
    """Every role in the order they were created (administrator first, as seeded)."""
    return list(session.scalars(sa.select(Role).order_by(Role.id)))


def all_permissions(session: so.Session) -> list[Permission]:
    """Every permission, in the order of PERMISSIONS (the order the design lists them)."""
    order = {name: n for n, name in enumerate(PERMISSIONS)}
    found = session.scalars(sa.select(Permission))
    return sorted(found, key=lambda p: (order.get(p.name, len(order)), p.name))


def managers(session: so.Session) -> set[int]:
    """Ids of the active users who hold users.manage through any of their roles."""
    return set(
        session.scalars(
            sa.select(User.id)
            .join(User.roles)
            .join(Role.permissions)
            .where(User.active.is_(True), Permission.name == MANAGE)
            .distinct()
        )
    )


# --- administrators' changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Added:
    """What an Add user did: the user it added, or the one this form's token added before
    (`repeated`: the same submission sent again, nothing new written)."""

    user: User
    repeated: bool = False


def add_user_once(
    session: so.Session,
    actor: User,
    details: UserDetails,
    password: str,
    default_region: str,
    *,
    token: str = "",
) -> Added:
    """Add a user from the Add user form, once per form: a repeat of a submission (its `token`,
    kept in the creation's audit event, already added the user of the username typed) returns
    that user instead of refusing the username as taken.

    The token is looked up and the user added under one lock (SQLite's write lock; on PostgreSQL
    the actor's row, FOR UPDATE), so two posts of one form racing add one user."""
    user, repeated = form_tokens.add_once(
        session,
        actor,
        token,
        "user.created",
        User,
        lambda before: before.username.lower() == details.username.strip().lower(),
        lambda token: create_user(
            session, actor, details, password, default_region, form_token=token
        ),
    )
    return Added(user, repeated)


def create_user(
    session: so.Session,
    actor: User | None,
    details: UserDetails,
    password: str,
    default_region: str,
    *,
    form_token: str = "",
) -> User:
    """Add a user with a temporary password they must change at their first sign-in (its audit
    event keeps the Add user form's `form_token`: see add_user_once)."""
    problem = password_problem(password)
    if problem:
        raise FieldError(problem, "password")
    user = User(must_change_password=True, active=True)
    _apply(session, user, details, default_region)
    user.set_password(password)
    session.add(user)
    audit_created(session, actor, user, form_token=form_token)
    session.commit()
    return user


def audit_created(
    session: so.Session, actor: User | None, user: User, *, form_token: str = ""
) -> None:
    """Audit a new user ("user.created", with who they are): flushed first, for its id."""
    session.flush()
    once = {form_tokens.AUDITED_AS: form_token} if form_token else {}
    audit(session, actor, "user.created", user, **_snapshot(user), **once)


def edit_user(
    session: so.Session,
    actor: User | None,
    user: User,
    details: UserDetails,
    default_region: str,
    *,
    keep_session: str | None = None,
    email_shown: bool = True,
) -> dict[str, list[Any]]:
    """Change a user's details and roles; returns {field: [old, new]} (audited when not empty).

    The email saved is the administrator's: an address the user typed on their Profile is
    confirmed ("email_confirmed" in the changes), so single sign-on may match it from then on.
    Not when `email_shown` is False and it is unchanged: their form showed another address (the
    user changed it since), which is saved as it is and stays the user's own.

    A change of roles ends the user's sessions (but the one with token `keep_session`, the
    administrator's own when they edit themselves): what they may do is decided at a new sign-in.
    """
    _lock_managers(session)
    before_managers = managers(session)
    before = _snapshot(user)
    self_set = user.email_self_set
    _apply(session, user, details, default_region)
    if email_shown or user.email != before["email"]:
        if self_set and user.email.lower() == before["email"].lower():
            # Confirmed now, single sign-on would match the address the user typed on their
            # Profile (it ignores it until then): it must not be another active user's.
            _refuse_shared_email(session, user.email, user.id)
        user.email_self_set = False
    _refuse_losing_managers(session, actor, before_managers, "roles")
    after = _snapshot(user)
    changes = {key: [before[key], value] for key, value in after.items() if before[key] != value}
    if self_set and not user.email_self_set:
        changes["email_confirmed"] = [False, True]
    if changes:
        audit(session, actor, "user.edited", user, changes=changes)
    if "roles" in changes:
        user_sessions.end_all(session, user.id, utcnow(), keep=keep_session)
    session.commit()
    return changes


def deactivate_user(session: so.Session, actor: User | None, user: User) -> None:
    """Switch a user off: they cannot sign in, and every session they have open is ended.

    Users are never deleted: their messages, comments and audit entries keep pointing at them.
    """
    if actor is not None and actor.id == user.id:
        raise FieldError("You cannot deactivate your own account; ask another administrator.")
    if not user.active:
        return
    _lock_managers(session)
    before_managers = managers(session)
    user.active = False
    _refuse_losing_managers(session, actor, before_managers)
    audit(session, actor, "user.deactivated", user, username=user.username)
    user_sessions.end_all(session, user.id, utcnow())
    session.commit()


def reactivate_user(session: so.Session, actor: User | None, user: User) -> None:
    """Let a deactivated user sign in again (with the roles and password they had)."""
    if user.active:
        return
    # Given to an active user meanwhile (only they counted), the address would be two active
    # accounts' again.
    _refuse_shared_email(session, user.email, user.id)
    user.active = True
    audit(session, actor, "user.reactivated", user, username=user.username)
    session.commit()


def set_temporary_password(
    session: so.Session,
    actor: User | None,
    user: User,
    password: str,
    *,
    keep_session: str | None = None,
) -> None:
    """Give a user a new password that they must replace when they next sign in.

    Every session of the user ends (but the one with token `keep_session`, the administrator's
    own): whoever knew the old password is signed out too.
    """
    problem = password_problem(password)
    if problem:
        raise FieldError(problem, "password")
    user.set_password(password)
    user.must_change_password = True
    two_factor.forget_unconfirmed_key(user)
    audit(session, actor, "user.password_reset", user, username=user.username)
    user_sessions.end_all(session, user.id, utcnow(), keep=keep_session)
    session.commit()


def set_role_permissions(
    session: so.Session, actor: User | None, grants: Mapping[str, Collection[str]]
) -> dict[str, dict[str, list[str]]]:
    """Give each role named in `grants` exactly those permissions
    (roles not named stay as they are).

    Returns {role: {"added": [...], "removed": [...]}} for the roles that changed, each audited.
    """
    by_name = {p.name: p for p in session.scalars(sa.select(Permission))}
    roles = {role.name: role for role in all_roles(session)}
    for role_name, wanted in grants.items():
        if role_name not in roles:
            raise FieldError(f"There is no role “{role_name}”.")
        unknown = sorted(set(wanted) - set(by_name))
        if unknown:
            raise FieldError(f"There is no permission “{unknown[0]}”.")
    _lock_managers(session)
    before_managers = managers(session)
    changed: dict[str, dict[str, list[str]]] = {}
    for role_name, wanted in grants.items():
        role = roles[role_name]
        held = {p.name for p in role.permissions}
        added, removed = sorted(set(wanted) - held), sorted(held - set(wanted))
        if added or removed:
            role.permissions = [by_name[name] for name in sorted(set(wanted))]
            changed[role_name] = {"added": added, "removed": removed}
    _refuse_losing_managers(session, actor, before_managers)
    for role_name, change in changed.items():
        audit(
            session, actor, "role.permissions_changed", roles[role_name], role=role_name, **change
        )
    session.commit()
    return changed


Grant = tuple[str, str]  # (role name, permission name)


def change_role_permissions(
    session: so.Session, actor: User | None, loaded: Collection[Grant], submitted: Collection[Grant]
) -> dict[str, dict[str, list[str]]]:
    """Apply the boxes the user changed on the roles page (`submitted` differs from `loaded`, the
    grants it was opened with) to the grants as stored now, through set_role_permissions.

    A box left as loaded is never written, so a page left open cannot give back a permission
    another administrator took away meanwhile (nor take back one they gave). A box is on or off:
    two administrators who both changed it agree, so nothing here can clash.
    """
    begin_write(session)
    _lock_managers(session)  # the lock set_role_permissions takes: no save lands in between
    session.expire_all()  # the grants read before the lock may be older than the ones stored
    roles = all_roles(session)
    held = {(role.name, permission.name) for role in roles for permission in role.permissions}
    ticked, unticked = set(submitted) - set(loaded), set(loaded) - set(submitted)
    wanted = (held | ticked) - unticked
    grants: dict[str, set[str]] = {role.name: set() for role in roles}
    for role_name, permission in wanted:
        grants.setdefault(role_name, set()).add(permission)
    return set_role_permissions(session, actor, grants)


# --- a user's own profile ------------------------------------------------------------------------


def edit_profile(
    session: so.Session,
    user: User,
    *,
    email: str,
    mobile: str | None,
    office_id: int | None,
    default_region: str,
    timezone: str | None = None,
) -> dict[str, list[Any]]:
    """Change one's own email, mobile, office (by id; None: no office) and time zone (empty: the
    organisation's); returns {field: [old, new]}, the office by name (audited when not empty).

    An email changed here is marked as typed by its holder (User.email_self_set): single sign-on
    matches no account by it until an administrator saves it on the user form. A change of case
    alone keeps the mark as it was: addresses are matched in any case.
    """
    before = {
        "email": user.email,
        "mobile": user.mobile,
        "office": user.office_name or None,
        "timezone": user.timezone,
    }
    office = offices.chosen(session, office_id)
    after = {
        "email": _email(email),
        "mobile": _mobile(mobile, offices.office_region(office, default_region)),  # as _apply
        "office": office.name if office is not None else None,
        "timezone": check_zone(timezone) or None,
    }
    if after["email"].lower() != user.email.lower():
        # Only on a change: an address shared before this check existed must not stop the user
        # saving their mobile. Whose it is stays unsaid: anyone may open this page.
        if email_holder(session, after["email"], user.id) is not None:
            raise FieldError(
                "Another active account has this email address. Use your own, or ask an "
                "administrator if this one is yours.",
                "email",
            )
        user.email_self_set = True
    user.email, user.mobile, user.office = after["email"], after["mobile"], office
    user.timezone = after["timezone"]
    changes = {key: [before[key], value] for key, value in after.items() if before[key] != value}
    if changes:
        audit(session, user, "profile.edited", user, changes=changes)
    session.commit()
    return changes


def change_password(
    session: so.Session, user: User, current: str, new: str, *, keep_session: str | None = None
) -> None:
    """Replace one's own password: the current one must be right, the new one good and different.

    The user's other sessions end; the one with token `keep_session` (where they changed it) stays.
    """
    if not user.check_password(current):
        raise FieldError("That is not your current password.", "current_password")
    problem = password_problem(new)
    if problem:
        raise FieldError(problem, "new_password")
    if new == current:
        raise FieldError("The new password must be different from the current one.", "new_password")
    forced = user.must_change_password
    user.set_password(new)
    user.must_change_password = False
    two_factor.forget_unconfirmed_key(user)
    audit(session, user, "profile.password_changed", user, forced=forced)
    user_sessions.end_all(session, user.id, utcnow(), keep=keep_session)
    session.commit()


def last_password_change(session: so.Session, user: User) -> AuditEvent | None:
    """The audit event of `user`'s latest change of their own password (None if they never made
    one): when it was, and whether it was from a temporary password (its `forced`)."""
    return session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action == "profile.password_changed",
            AuditEvent.subject_type == "user",
            AuditEvent.subject_id == user.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def sign_out_everywhere(session: so.Session, user: User) -> int:
    """End every session of the user, this one included; returns how many were live (audited)."""
    ended = user_sessions.end_all(session, user.id, utcnow())
    two_factor.forget_unconfirmed_key(user)
    audit(session, user, "profile.signed_out_everywhere", user, sessions=ended)
    session.commit()
    return ended


# --- helpers -------------------------------------------------------------------------------------


def _apply(session: so.Session, user: User, details: UserDetails, default_region: str) -> None:
    """Check every field first and only then change the user, so a refusal leaves them untouched."""
    username = details.username.strip()
    if not username or not re.fullmatch(USERNAME_PATTERN, username):
        raise FieldError("Use letters, digits and . _ @ - only, with no spaces.", "username")
    # Case-insensitively, so "Admin" and "admin" cannot be two people.
    taken = session.scalar(
        sa.select(User.id).where(
            sa.func.lower(User.username) == username.lower(), User.id != (user.id or 0)
        )
    )
    if taken is not None:
        raise FieldError(f"The username “{username}” is taken; choose another.", "username")
    # As it shows (webapp.text.visible), as the user form cleans it: a zero-width space or soft
    # hyphen in it shows nowhere, yet a search for the name typed would not find it.
    full_name = visible(details.full_name)
    if is_blank(full_name):  # zero-width characters alone name nobody, on any page or log
        raise FieldError("Enter the full name.", "full_name")
    email = _email(details.email)
    # On a new address only, as on the Profile: one shared before this check must not stop an
    # administrator changing the user's roles or office.
    if email.lower() != (user.email or "").lower():
        _refuse_shared_email(session, email, user.id)
    office = offices.chosen(session, details.office_id)
    # A national number is the user's own: read in their office's region, else `default_region`
    # (the organisation's), as `flask create-user` reads it; never in the reader's.
    mobile = _mobile(details.mobile, offices.office_region(office, default_region))
    wanted = set(details.roles)
    roles = list(session.scalars(sa.select(Role).where(Role.name.in_(wanted)).order_by(Role.name)))
    if not roles or len(roles) != len(wanted):
        raise FieldError("Choose at least one role from the list.", "roles")
    user.username = username
    user.full_name = full_name
    user.email = email
    user.mobile = mobile
    user.office = office
    user.roles = roles


def _email(text: str) -> str:
    email = (text or "").strip()
    if not re.fullmatch(EMAIL_PATTERN, email):
        raise FieldError("Enter an email address like name@example.com.", "email")
    return email


def _refuse_shared_email(session: so.Session, email: str, user_id: int | None) -> None:
    """FieldError when another active user has `email` (email_holder), naming them: for an
    administrator, who may see every user."""
    if (holder := email_holder(session, email, user_id)) is not None:
        raise FieldError(
            f"The user “{holder}” already has this email address, and single sign-on cannot "
            "tell two active accounts with one address apart. Use another address, or change "
            f"{holder}’s first (switched-off accounts do not count).",
            "email",
        )


def email_holder(session: so.Session, email: str, user_id: int | None) -> str | None:
    """The username of another active user with `email`, compared as single sign-on compares it
    (webapp.users.oidc._match_by_email), or None: two active accounts with one address refuse
    everyone's sign-in by it (`ambiguous_email`)."""
    return session.scalar(
        sa.select(User.username)
        .where(
            sa.func.lower(User.email) == email.lower(),
            User.active.is_(True),
            User.id != (user_id or 0),
        )
        .order_by(User.id)
        .limit(1)
    )


def mobile_written_out(text: str | None, region: str) -> str | None:
    """A mobile as typed, read in `region` and written out in full as forms show a stored one
    ("+64 21 234 5678"), so any region reads it as the same number; text that is no number comes
    back as it is, for _mobile to refuse."""
    number = normalise(text, region)
    return display(number.e164) if number.e164 else text


def _mobile(text: str | None, default_region: str) -> str | None:
    # Shown in messages as the sender's mobile ({{sender_mobile}}), never texted: any real number.
    problem = mobile_problem(text, default_region, for_sms=False)
    if problem:
        raise FieldError(problem, "mobile")
    return normalise(text, default_region).e164


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "mobile": user.mobile,
        "office": user.office_name or None,
        "roles": sorted(r.name for r in user.roles),
    }


def lock_to_edit(session: so.Session, user: User) -> None:
    """Read `user` afresh under the locks edit_user takes, in its order (the users.manage row's,
    then the user's; SQLite's write lock), so no other save lands before this one."""
    begin_write(session)
    _lock_managers(session)
    reread_for_update(session, user)


def _lock_managers(session: so.Session) -> None:
    """Take the users.manage row's lock before counting who holds it.

    Two administrators demoting each other at the same moment would each still see the other as
    a manager; on PostgreSQL this lock makes the second wait and count again. SQLite has one
    writer at a time anyway (FOR UPDATE is left out there).
    """
    session.execute(sa.select(Permission.id).where(Permission.name == MANAGE).with_for_update())


def _refuse_losing_managers(
    session: so.Session, actor: User | None, before: set[int], field: str = "form"
) -> None:
    """Undo the pending change when it would take users.manage from the actor or from everyone."""
    session.flush()
    after = managers(session)
    problem = None
    if actor is not None and actor.id in before and actor.id not in after:
        problem = OWN_MANAGE
    elif not after:
        problem = LAST_MANAGE
    if problem:
        session.rollback()
        raise FieldError(problem, field)
