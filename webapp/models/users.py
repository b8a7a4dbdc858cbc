"""Users, roles and the permissions that roles grant."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.models.base import Base, UTCDateTime, utcnow

# scrypt, werkzeug's default; the test suite swaps in a cheap method to keep thousands of sign-ins fast.
PASSWORD_HASH_METHOD = "scrypt"

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
    sa.Column("permission_id", sa.ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True),
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

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    mobile: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    office: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    must_change_password: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    roles: so.Mapped[list[Role]] = so.relationship(
        secondary=user_roles, lazy="selectin", order_by=Role.name
    )

    # Flask-Login reads these four; defined here so the model need not import Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Set by load_signed_in (one query) for the user of a request; otherwise read from the roles.
    granted = None  # frozenset[str] | None; not a column

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


MIN_PASSWORD_LENGTH = 12

# Long enough to pass the length rule, yet near the top of every cracking list.
COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "password123456", "password123!", "passw0rd1234",
    "qwertyuiop12", "qwertyuiop123", "qwerty123456", "qwertyuiop1!", "1q2w3e4r5t6y",
    "1qaz2wsx3edc", "123456789012", "1234567890ab", "abcdefghijkl", "abc123456789",
    "iloveyou1234", "letmein12345", "welcome12345", "welcome123456", "admin1234567",
    "administrator", "changeme1234", "trustno12345", "football1234", "baseball1234",
    "sunshine1234", "princess1234", "monkey123456", "dragon123456", "superman1234",
    "starwars1234", "masterkey123", "qazwsxedcrfv", "zaq12wsxcde3",
})


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(set(password)) < 4:
        return "The password must not repeat the same few characters."
    if password.casefold() in COMMON_PASSWORDS:
        return "That password is one of the most common ones; choose another."
    return None


def load_signed_in(session: so.Session, user_id: int) -> User | None:
    """The active user with this id and the permissions their roles grant: two small queries.

    Every request loads its user; loading the roles and their permissions as objects (two more
    queries) cost more than a results page's own search. A role changed later in the same
    request shows from the next request on.
    """
    user = session.get(User, user_id, options=[so.lazyload(User.roles)])
    if user is None or not user.active:
        return None
    user.granted = frozenset(session.scalars(
        sa.select(Permission.name)
        .join(role_permissions, role_permissions.c.permission_id == Permission.id)
        .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
        .where(user_roles.c.user_id == user_id)))
    return user
