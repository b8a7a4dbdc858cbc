"""Users, roles and the permissions that roles grant; users' sessions and failed sign-ins."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.models.base import Base, UTCDateTime, utcnow
from webapp.models.offices import Office

# scrypt, werkzeug's default; the test suite swaps in a cheap method to keep thousands of sign-ins
# fast.
PASSWORD_HASH_METHOD = "scrypt"
# How a stored password hash no password may match begins: single sign-on's accounts have one
# (webapp.users.oidc.UNUSABLE_PASSWORD_PREFIX, "!sso:…").
UNUSABLE_PASSWORD_MARK = "!"

PERMISSIONS: dict[str, str] = {
    "sms.send": "Send SMS to candidates and client contacts",
    "sms.ignore_opt_out": "Ignore a person's SMS opt-out (audited)",
    "templates.manage": "Manage shared SMS templates",
    "records.edit": "Add and edit candidates and client contacts",
    "users.manage": "Manage users and roles",
    "settings.manage": "Change SMS settings",
    "audit.view": "View the audit log",
}

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "administrator": ("Everything", tuple(PERMISSIONS)),
    "team-leader": (
        "Sends, overrides opt-outs, manages templates",
        ("sms.send", "sms.ignore_opt_out", "templates.manage", "records.edit", "audit.view"),
    ),
    "consultant": ("Sends SMS and edits records", ("sms.send", "records.edit")),
    "viewer": ("Looks only", ()),
}

role_permissions = sa.Table(
    "role_permissions",
    Base.metadata,
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "permission_id", sa.ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True
    ),
)

user_roles = sa.Table(
    "user_roles",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Permission(Base):
    __tablename__ = "permissions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    description: so.Mapped[str] = so.mapped_column(sa.String(200), default="")


class Role(Base):
    __tablename__ = "roles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    description: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    permissions: so.Mapped[list[Permission]] = so.relationship(
        secondary=role_permissions, lazy="selectin", order_by=Permission.name
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.Index("ux_users_oidc_subject", "oidc_subject", unique=True),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    # True once the user typed the email on their own Profile; an administrator saving it on the
    # user form (or adding the account) makes it False. Single sign-on matches no account by an
    # address its holder typed (webapp.users.oidc): anyone could type anyone's.
    email_self_set: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    mobile: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    office_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("offices.id", ondelete="SET NULL"), index=True
    )
    # An IANA zone name; None: the organisation's (webapp.times shows every time in one).
    timezone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    must_change_password: so.Mapped[bool] = so.mapped_column(default=False)
    # Two-factor sign-in (webapp.users.two_factor): the TOTP key sealed (webapp.sealing), set at
    # enrolment and on once totp_enabled_at is; the last time step a code was accepted for, so
    # none works twice.
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    totp_enabled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    totp_last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # The `sub` claim of the organisation's OpenID provider, once the user has signed in with it.
    oidc_subject: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    # Messages in any rolling 24 hours; None: the default of the user's roles (webapp.sms.limits).
    daily_limit: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    roles: so.Mapped[list[Role]] = so.relationship(
        secondary=user_roles, lazy="selectin", order_by=Role.name
    )
    office: so.Mapped[Office | None] = so.relationship(lazy="joined")

    # Flask-Login reads these four; defined here so the model need not import Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def office_name(self) -> str:
        """The office's name, for the Sender office merge field; empty without one."""
        return self.office.name if self.office is not None else ""

    @property
    def two_factor_on(self) -> bool:
        return self.totp_enabled_at is not None

    def get_id(self) -> str:
        return str(self.id)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)

    def check_password(self, password: str) -> bool:
        # werkzeug refuses a hash it cannot read ("!sso:…") at once: that speed would tell a
        # guesser which usernames are single sign-on accounts, so it takes a real check's time.
        stored = self.password_hash or ""
        if not stored.startswith(UNUSABLE_PASSWORD_MARK) and stored.count("$") >= 2:
            try:
                return check_password_hash(stored, password)
            except ValueError:  # an unknown method, or parameters it cannot read
                pass
        spend_hash_time(password)
        return False

    # Set by webapp.users.sessions.find (with the session, one query) for the user of a request;
    # otherwise read from the roles.
    granted = None  # frozenset[str] | None; not a column
    granted_roles = None  # frozenset[str] | None; the names of the roles, likewise

    @property
    def role_names(self) -> frozenset[str]:
        if self.granted_roles is not None:
            return self.granted_roles
        return frozenset(role.name for role in self.roles)

    @property
    def permissions(self) -> frozenset[str]:
        if self.granted is not None:
            return self.granted
        return frozenset(p.name for role in self.roles for p in role.permissions)

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return permission in self.permissions

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.strip() else ""


@functools.cache
def _throwaway_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


def spend_hash_time(password: str) -> None:
    """Check `password` against a throwaway hash made as set_password makes them: as long as a
    real account's check, where no password can match (an unknown username, an unusable hash)."""
    check_password_hash(_throwaway_hash(PASSWORD_HASH_METHOD), password)


class RecoveryCode(Base):
    """One of a user's ten one-time two-factor recovery codes, kept as a keyed (HMAC-SHA256)
    digest."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


# Failed sign-ins are filed under a key this long at most (a username as typed, or an address).
LOGIN_KEY_LENGTH = 255


class UserSession(Base):
    """One sign-in: from the login until sign-out, expiry or revocation (webapp.users.sessions)."""

    __tablename__ = "user_sessions"

    id: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)  # sha256 of the token
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class LoginFailure(Base):
    """One failed sign-in, filed under one key (a username, or the address it came from)."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_kind_key_failed_at", "kind", "key", "failed_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    key: so.Mapped[str] = so.mapped_column(sa.String(LOGIN_KEY_LENGTH))
    failed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
