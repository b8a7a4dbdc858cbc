"""Two-factor sign-in: TOTP keys (RFC 6238), one-time recovery codes, and which roles must use
them.

Both are kept so that a copy of the database alone is no use: the keys sealed (webapp.sealing),
the recovery codes as keyed digests. The key material (ACCOUNTS_KEY, else SECRET_KEY) is passed
in as `material` by the views.
"""

from __future__ import annotations

import hmac
import io
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import sealing, settings_store
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Permission, RecoveryCode, Role, User, audit
from webapp.models.base import utcnow
from webapp.models.users import role_permissions
from webapp.users import sessions as user_sessions

ISSUER = "SMS Desk"
STEP_SECONDS = 30
# A code of the step before or after the current one is accepted too (pyotp's valid_window=1):
# a phone's clock a few seconds off, or a code typed as it rolled over, still works.
VALID_WINDOW = 1
RECOVERY_CODES = 10
# Letters and digits nobody misreads (no 0/o, 1/l/i): 31 symbols, 8 of them ≈ 40 bits a code.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 8
# Part of the keys, not settings: changing one makes every stored key (or code) unreadable.
KEY_PURPOSE = b"sms-desk two-factor keys v1"
RECOVERY_PURPOSE = b"sms-desk two-factor recovery codes v1"
SETTING_KEY = "two_factor_roles"
# Without a setting: the roles that can override opt-outs or manage users must use it (issue 19).
DEFAULT_PERMISSIONS = ("sms.ignore_opt_out", "users.manage")
WRONG_CODE = (
    "That code is not right, or it was used already. Enter the current code from your "
    "authenticator app, or one of your recovery codes."
)
WRONG_TOTP = (
    "That code is not right, or it was used already. Enter the current six-digit code from your "
    "authenticator app."
)


class WrongCode(FieldError):
    """A code refused (wrong, used, or unreadable key): what counts as a failed sign-in."""

    def __init__(self, message: str = WRONG_CODE):
        super().__init__(message, "code")


# A form sent twice (Enter again on a slow network, a double click) posts the code the first
# sending spent. Within this long of the change that sending made, the same code is told apart
# from a guess (nobody guesses the one code just accepted) and is not a failed sign-in.
REPEAT_SECONDS = 60


class SentTwice(FieldError):
    """The code that made this very change a moment ago, sent again: the change is done, nothing
    is changed again, and no failed sign-in is counted."""

    def __init__(self):
        super().__init__("That code made this change a moment ago.", "code", 409)


def just_used(
    user: User,
    code: str,
    moment: datetime,
    material: str,
    done_at: datetime | None,
    *,
    not_before: datetime | None = None,
) -> bool:
    """True when `code` is of the step accepted last for `user`, and the change it made (at
    `done_at`) is under REPEAT_SECONDS old and later than `not_before` (when the asking browser
    last saw such a change through: a post after that is no repeat of it)."""
    if done_at is None or user.totp_last_step is None:
        return False
    if not 0 <= (moment - done_at).total_seconds() <= REPEAT_SECONDS:
        return False
    if not_before is not None and done_at <= not_before:
        return False
    return spent_last(user, code, moment, material)


def spent_last(user: User, code: str, moment: datetime, material: str) -> bool:
    """True when `code` is of the step accepted last for `user` (so refused from now on)."""
    secret = secret_of(user, material)
    if secret is None or user.totp_last_step is None:
        return False
    return _matching_step(secret, code, moment) == user.totp_last_step


def codes_made_at(session: so.Session, user: User) -> datetime | None:
    """When the user's recovery codes were made (None without any)."""
    return session.scalar(
        sa.select(sa.func.max(RecoveryCode.created_at)).where(RecoveryCode.user_id == user.id)
    )


# --- keys and codes ------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh random TOTP key, base32 (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code: paths and presentation attributes only, no style, so it
    passes a Content-Security-Policy without 'unsafe-inline'."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr",
        lineclass=None,
        title="QR code of your two-factor key",
    )
    return out.getvalue().decode()


def seal_secret(material: str, secret: str, *, owner: str | None = None) -> str:
    """The TOTP key as stored in users.totp_secret: sealed (a 32-character key takes 140). A key
    not yet confirmed is sealed with its `owner`, the sign-in that made it (_owner)."""
    text = secret if owner is None else f"{secret}{_OWNER_MARK}{owner}"
    return sealing.seal(material, KEY_PURPOSE, text.encode())


# Between a key and the sign-in it was made for, in an unconfirmed key's sealed text (base32 has
# no space).
_OWNER_MARK = " "


def _unsealed(user: User, material: str) -> tuple[str, str | None] | None:
    """The user's key and, while it is not confirmed, the sign-in it was made for; None without a
    key, or when it was sealed under another key."""
    if not user.totp_secret:
        return None
    try:
        text = sealing.unseal(material, KEY_PURPOSE, user.totp_secret).decode()
    except sealing.Unreadable:
        return None
    secret, _mark, owner = text.partition(_OWNER_MARK)
    return secret, owner or None


def secret_of(user: User, material: str) -> str | None:
    """The user's TOTP key in the clear; None without one, or when it was sealed under another
    key (ACCOUNTS_KEY or SECRET_KEY changed: the user enrols again)."""
    found = _unsealed(user, material)
    return None if found is None else found[0]


def _owner(this_session: str | None) -> str:
    """The sign-in an enrolment key is made for: its session's id in the sessions table (the
    digest of its token), so every tab of one sign-in shares the key and no other sign-in does."""
    return user_sessions.digest(this_session or "")


def _unconfirmed_key(user: User, material: str, owner: str) -> str | None:
    """The key not yet confirmed that this sign-in made, else None (none, or another's)."""
    found = _unsealed(user, material)
    if user.two_factor_on or found is None or found[1] != owner:
        return None
    return found[0]


def step_at(moment: datetime) -> int:
    """The TOTP time step (30-second interval since the epoch) `moment` falls in."""
    return int(moment.timestamp()) // STEP_SECONDS


# Dashes as apps and web pages write them between a code's halves (a recovery code's too).
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def _normal(code: str | None) -> str:
    """The code as typed, without spaces or dashes and in lower case: ASCII only, since other
    scripts' digits pass isdigit() but are not what any authenticator shows ("" for those). Any
    space, dash or invisible character goes first (a no-break or thin space, a zero-width one, a
    soft hyphen): a code copied from an app or a page has them."""
    text = "".join(
        ch
        for ch in code or ""
        if not ch.isspace() and ch not in _DASHES and unicodedata.category(ch) != "Cf"
    )
    if not text.isascii():
        return ""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The time step within the window whose code `code` is, or None.

    The same check as pyotp's verify(code, valid_window=1), but saying which step matched, so
    that step and every earlier one can be refused from then on.
    """
    code = _normal(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = step_at(moment)
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _spend_code(
    session: so.Session, user: User, code: str, moment: datetime, material: str
) -> bool:
    """Accept a TOTP code once: True, and its step remembered, when it is current and of a later
    step than any accepted before (so the same code never works twice, even within its 30 s)."""
    secret = secret_of(user, material)
    if secret is None:
        return False
    step = _matching_step(secret, code, moment)
    if step is None:
        return False
    # One conditional UPDATE, so two requests racing with one code cannot both win.
    result = session.execute(
        sa.update(User)
        .where(
            User.id == user.id,
            sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def recovery_digest(material: str, code: str) -> str | None:
    """What is stored of a recovery code: HMAC-SHA256 under a key derived from `material`, since
    ~40 bits would fall to a plain hash's guesses. None when `code` cannot be a recovery code."""
    normal = _normal(code)
    if len(normal) != RECOVERY_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in normal):
        return None
    return sealing.digest(material, RECOVERY_PURPOSE, normal)


def _new_recovery_code() -> str:
    letters = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def _spend_recovery_code(
    session: so.Session, user: User, code: str, moment: datetime, material: str
) -> bool:
    """Use up a recovery code: True when it is one of the user's and was not used before."""
    digest = recovery_digest(material, code)
    if digest is None:
        return False
    result = session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def recovery_codes_left(session: so.Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def _write_recovery_codes(
    session: so.Session, user: User, moment: datetime, material: str
) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (only their digests are
    kept)."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=recovery_digest(material, code), created_at=moment)
        for code in codes
    )
    return codes


# --- enrolment and sign-in ------------------------------------------------------------------------


def key_for_enrolment(
    session: so.Session, user: User, material: str, *, this_session: str | None = None
) -> str:
    """The key the user is to enrol in this sign-in (`this_session`, its token): the one it made
    earlier (so a reload, or another tab, shows the same QR code), else a new one, stored but not
    on until a code from it is entered.

    A key made in another sign-in is never shown here but replaced: whoever signed in there (with
    a stolen password, say) has seen it, and must not learn the key the user is to enrol.
    """
    if user.two_factor_on:
        raise FieldError("Two-factor sign-in is already on.", "form", 409)
    owner = _owner(this_session)
    secret = _unconfirmed_key(user, material, owner)
    if secret is None:
        # Read, then written (on a GET): on SQLite a write by another connection since the read
        # would fail this at once, so take the write lock first and read the user again under it;
        # a key another tab of this sign-in stored meanwhile is kept.
        begin_write(session)
        session.refresh(user)
        if user.two_factor_on:
            session.rollback()
            raise FieldError("Two-factor sign-in is already on.", "form", 409)
        secret = _unconfirmed_key(user, material, owner)
    if secret is None:
        secret = new_secret()
        user.totp_secret = seal_secret(material, secret, owner=owner)
        user.totp_last_step = None
        session.commit()
    return secret


KEY_REPLACED = (
    "The key this page showed is no longer the one to enrol (enrolment was started in another "
    "sign-in, or your password changed). Add the key shown now to your app, then enter its code."
)


def turn_on(
    session: so.Session,
    user: User,
    code: str,
    moment: datetime,
    material: str,
    *,
    this_session: str | None = None,
    not_before: datetime | None = None,
) -> list[str]:
    """Turn two-factor sign-in on with a current code from the key this sign-in (`this_session`,
    its token) was given; returns the ten recovery codes, to be shown once. The code that turned
    it on a moment ago, sent again, raises SentTwice (see just_used for `not_before`).

    Every other session of the user ends: each signed in with the password alone, and one that
    was held to enrolment would otherwise pass as having given a code.
    """
    # Read again: a post sent twice waited for the first, which may have turned it on meanwhile.
    session.refresh(user, ["totp_enabled_at", "totp_secret", "totp_last_step"])
    if user.two_factor_on:
        if just_used(user, code, moment, material, user.totp_enabled_at, not_before=not_before):
            raise SentTwice()
        raise FieldError("Two-factor sign-in is already on.", "form", 409)
    if not user.totp_secret:
        raise FieldError("Load the page again to get a key, then enter its code.", "code", 409)
    secret = _unconfirmed_key(user, material, _owner(this_session))
    if secret is None:
        raise FieldError(KEY_REPLACED, "code", 409)
    if not _spend_code(session, user, code, moment, material):
        audit(session, user, "user.two_factor_failed", user, step="enrol")
        session.commit()
        raise WrongCode(WRONG_TOTP)
    user.totp_secret = seal_secret(material, secret)  # confirmed: no sign-in's own any more
    user.totp_enabled_at = moment
    codes = _write_recovery_codes(session, user, moment, material)
    audit(session, user, "user.two_factor_on", user)
    user_sessions.end_all(session, user.id, moment, keep=this_session)
    session.commit()
    return codes


def verify(
    session: so.Session,
    user: User,
    code: str,
    moment: datetime,
    material: str,
    *,
    step: str = "sign-in",
) -> str | None:
    """Check the second factor: "code" or "recovery" when accepted (and used up), None when
    refused (audited as at `step`: at sign-in by nobody yet, on the profile by the user signed
    in). The caller commits."""
    if not user.two_factor_on:
        return None
    if _spend_code(session, user, code, moment, material):
        return "code"
    if _spend_recovery_code(session, user, code, moment, material):
        audit(
            session,
            user,
            "user.recovery_code_used",
            user,
            left=recovery_codes_left(session, user),
        )
        return "recovery"
    actor = None if step == "sign-in" else user
    if secret_of(user, material) is None:
        # Sealed under another key: no code can match until an administrator resets it.
        audit(session, actor, "user.two_factor_failed", user, step=step, key="unreadable")
    else:
        audit(session, actor, "user.two_factor_failed", user, step=step)
    return None


def require(
    session: so.Session,
    user: User,
    code: str,
    moment: datetime,
    material: str,
    *,
    step: str = "sign-in",
) -> str:
    """As verify, but a refusal is committed (its audit event) and raised as WrongCode."""
    how = verify(session, user, code, moment, material, step=step)
    if how is None:
        session.commit()
        raise WrongCode()
    return how


def renew_recovery_codes(
    session: so.Session,
    user: User,
    code: str,
    moment: datetime,
    material: str,
    *,
    not_before: datetime | None = None,
) -> list[str]:
    """Replace the recovery codes, after a current code (or a recovery code); returns the new
    ones. The code that made the present ones a moment ago, sent again, raises SentTwice rather
    than counting as a wrong code (see just_used for `not_before`)."""
    if not user.two_factor_on:
        raise FieldError("Two-factor sign-in is off.", "form", 409)
    session.refresh(user, ["totp_last_step"])
    made_at = codes_made_at(session, user)
    if just_used(user, code, moment, material, made_at, not_before=not_before):
        raise SentTwice()
    require(session, user, code, moment, material, step="renew codes")
    codes = _write_recovery_codes(session, user, moment, material)
    audit(session, user, "user.recovery_codes_renewed", user)
    session.commit()
    return codes


def turn_off(
    session: so.Session, user: User, code: str, moment: datetime, material: str, *, required: bool
) -> None:
    """Turn two-factor sign-in off, after a current code (or a recovery code); refused for a user
    whose role requires it."""
    if not user.two_factor_on:
        raise FieldError("Two-factor sign-in is already off.", "form", 409)
    if required:
        raise FieldError(
            "Your role requires two-factor sign-in, so it cannot be turned off. Lost your phone? "
            "Sign in with a recovery code and enrol again, or ask an administrator to reset it.",
            "form",
            403,
        )
    require(session, user, code, moment, material, step="turn off")
    _clear(session, user)
    audit(session, user, "user.two_factor_off", user)
    session.commit()


def reset(
    session: so.Session, admin: User | None, user: User, *, keep_session: str | None = None
) -> None:
    """An administrator's reset: the key and recovery codes are gone, the user enrols again.

    Their sessions end too (but `keep_session`, the administrator's own when they reset
    themselves): a reset is for a lost phone, and whoever holds it may hold a session as well.
    """
    had = user.two_factor_on
    _clear(session, user)
    audit(session, admin, "user.two_factor_reset", user, was_on=had)
    user_sessions.end_all(session, user.id, utcnow(), keep=keep_session)
    session.commit()


def forget_unconfirmed_key(user: User) -> None:
    """Drop a key made for an enrolment not finished (the caller commits): on a password change or
    sign-out everywhere, whoever signed in with the old password may have seen it."""
    if not user.two_factor_on:
        user.totp_secret = None
        user.totp_last_step = None


def _clear(session: so.Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- who must use it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredRoles:
    """The roles that must use two-factor sign-in, and where that choice comes from."""

    names: frozenset[str]
    source: str  # "setting" (the admin page), "environment" (TWO_FACTOR_ROLES) or "default"


def default_roles(session: so.Session) -> frozenset[str]:
    """The roles holding a permission in DEFAULT_PERMISSIONS."""
    return frozenset(
        session.scalars(
            sa.select(Role.name)
            .join(role_permissions, role_permissions.c.role_id == Role.id)
            .join(Permission, Permission.id == role_permissions.c.permission_id)
            .where(Permission.name.in_(DEFAULT_PERMISSIONS))
        )
    )


def _chosen_roles(session: so.Session, config: Mapping[str, Any]) -> RequiredRoles | None:
    """The admin's setting, else TWO_FACTOR_ROLES from the environment; None when neither is."""
    value = settings_store.value(session, SETTING_KEY)
    if value is not None:
        return RequiredRoles(frozenset(value), "setting")
    configured = config.get("TWO_FACTOR_ROLES")
    if configured is not None:
        return RequiredRoles(frozenset(configured), "environment")
    return None


def required_roles(session: so.Session, config: Mapping[str, Any]) -> RequiredRoles:
    """The admin's setting, else TWO_FACTOR_ROLES from the environment, else the default."""
    chosen = _chosen_roles(session, config)
    return chosen if chosen is not None else RequiredRoles(default_roles(session), "default")


def is_required(session: so.Session, config: Mapping[str, Any], user: User) -> bool:
    """True when one of the user's roles must use two-factor sign-in.

    Asked before every page, so the default is answered from the user's own permissions, which
    the request has loaded already: a role of theirs is a default role exactly when it grants
    them a permission in DEFAULT_PERMISSIONS. That spares a query a page.
    """
    chosen = _chosen_roles(session, config)
    if chosen is None:
        return not user.permissions.isdisjoint(DEFAULT_PERMISSIONS)
    return not chosen.names.isdisjoint(user.role_names)


def save_required_roles(
    session: so.Session, actor: User | None, config: Mapping[str, Any], names: Iterable[str]
) -> bool:
    """Store the roles that must use two-factor sign-in (audited); True when that changed."""
    known = set(session.scalars(sa.select(Role.name)))
    wanted = sorted(set(names))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise FieldError(f"There is no role called “{unknown[0]}”.", "roles")
    # Compared with the roles in force: saving what applies already changes nothing, once saved
    # here. Until then it is stored all the same (from "not set"): the page promises that the
    # default, or TWO_FACTOR_ROLES, applies only until this is saved, and a default that moves
    # with the permissions must then stop moving. An empty list is kept: no role must use it.
    in_force = required_roles(session, config)
    before = sorted(in_force.names)
    if in_force.source != "setting" and before == wanted:
        before = None  # audited as set from "not set"
    return bool(settings_store.save(session, actor, {SETTING_KEY: wanted}, {SETTING_KEY: before}))
