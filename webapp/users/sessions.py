"""Signed-in sessions kept on the server, so that sign-out and account changes end them in every
process.

The browser's signed cookie holds a random token; the database holds only its SHA-256, so a copy of
the table (a backup, a read-only leak) opens no session. A session is valid while its row exists,
is not revoked and belongs to the user the cookie names. Each request loads it, that user and
what their roles grant in one query (`find`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.users import (
    Permission,
    Role,
    User,
    UserSession,
    role_permissions,
    user_roles,
)

# last_seen_at is written at most this often per session, so a busy page is not a write per request.
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: so.Session, user_id: int, moment: datetime, *, forget_before: datetime) -> str:
    """Open a session for the user and return its token (for the cookie only); the caller commits.

    The user's own revoked sessions, and those started before `forget_before` (past the absolute
    limit), are deleted here: the table stays as small as the sessions that can still be in use.
    """
    session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user_id,
            sa.or_(UserSession.revoked_at.is_not(None), UserSession.created_at < forget_before),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(id=digest(token), user_id=user_id, created_at=moment, last_seen_at=moment)
    )
    session.flush()
    return token


# The query every request runs, built once: building a statement (and its cache key) costs more
# CPU than SQLite takes to answer it. Values go in as bound parameters. A row per permission of
# each of the user's roles (one, with NULLs, for a user without any), each with the session and
# the user, which the ORM makes into one object each.
_FIND = (
    sa.select(UserSession, User, Role.name, Permission.name)
    .join(User, User.id == UserSession.user_id)
    .outerjoin(user_roles, user_roles.c.user_id == User.id)
    .outerjoin(Role, Role.id == user_roles.c.role_id)
    .outerjoin(role_permissions, role_permissions.c.role_id == Role.id)
    .outerjoin(Permission, Permission.id == role_permissions.c.permission_id)
    .where(
        UserSession.id == sa.bindparam("id"),
        UserSession.user_id == sa.bindparam("user_id"),
        UserSession.revoked_at.is_(None),
        User.active,
    )
    .options(so.lazyload(User.roles))
)


def find(
    session: so.Session, token: str | None, user_id: int | None
) -> tuple[UserSession, User] | None:
    """The live session with this token and its user, or None when it was ended or the user is
    switched off.

    One query, as every request asks it: it also loads the names of the user's roles and the
    permissions those grant (`User.role_names`, `User.permissions`), without the roles as objects
    (two more queries, which cost more than a results page's own search). A role changed later in
    the same request shows from the next request on.
    """
    if not token or user_id is None:
        return None
    rows = session.execute(_FIND, {"id": digest(token), "user_id": user_id}).all()
    if not rows:
        return None
    user_session, user = rows[0][0], rows[0][1]
    user.granted_roles = frozenset(role for *_, role, _permission in rows if role is not None)
    user.granted = frozenset(permission for *_, permission in rows if permission is not None)
    return user_session, user


def touch_due(user_session: UserSession, moment: datetime) -> bool:
    """Whether last_seen_at is old enough to be written again."""
    return moment - user_session.last_seen_at >= TOUCH_EVERY


def touch(session: so.Session, user_session: UserSession, moment: datetime) -> None:
    """Note that the user was active in this session; the caller commits."""
    session.execute(
        sa.update(UserSession).where(UserSession.id == user_session.id).values(last_seen_at=moment)
    )


def end(session: so.Session, token: str | None, moment: datetime) -> bool:
    """Revoke the session with this token (sign-out); True when there was a live one.
    The caller commits."""
    if not token:
        return False
    result = session.execute(
        sa.update(UserSession)
        .where(UserSession.id == digest(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    return result.rowcount > 0


def end_all(session: so.Session, user_id: int, moment: datetime, *, keep: str | None = None) -> int:
    """Revoke every live session of the user except the one with token `keep`; returns how many.

    The caller commits (with the account change that called for it, so both or neither happen).
    """
    query = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.id != digest(keep))
    return session.execute(query.values(revoked_at=moment)).rowcount
