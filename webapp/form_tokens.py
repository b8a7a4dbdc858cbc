"""One-time form tokens: what a form carries so that posting it twice does its work once."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models.activity import AuditEvent
from webapp.models.users import User

# The detail of a creation's audit event that holds the token of the form that asked for it.
AUDITED_AS = "form_token"

# What new() makes (24 random bytes, URL-safe base64); anything else was not our form's.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


def new() -> str:
    """A fresh form's token."""
    return secrets.token_urlsafe(24)


def ours(token: str | None) -> str:
    """`token` when it has the shape new() gives, else "" (no token of ours: a hand-made post)."""
    return token if token and _SHAPE.fullmatch(token) else ""


def lock_adding(session: so.Session, actor: User) -> None:
    """Take the lock a token is looked up and its form's adding done under (SQLite's write lock;
    on PostgreSQL the actor's row, FOR UPDATE), so two posts of one form racing add once."""
    begin_write(session)
    session.execute(sa.select(User.id).where(User.id == actor.id).with_for_update())


def added_with(
    session: so.Session,
    actor: User,
    token: str,
    action: str,
    model: type,
    subject_type: str | None = None,
):
    """What `actor` added with the form that carried `token` (the subject of their `action`
    audit event that kept it), if it still exists; None when the token added nothing."""
    where = [
        AuditEvent.actor_id == actor.id,
        AuditEvent.action == action,
        AuditEvent.details[AUDITED_AS].as_string() == token,
    ]
    if subject_type is not None:
        where.append(AuditEvent.subject_type == subject_type)
    subject_id = session.scalar(
        sa.select(AuditEvent.subject_id).where(*where).order_by(AuditEvent.id.desc()).limit(1)
    )
    return session.get(model, subject_id) if subject_id is not None else None


Added = TypeVar("Added")


def add_once(
    session: so.Session,
    actor: User,
    token: str,
    action: str,
    model: type[Added],
    same: Callable[[Added], bool],
    add: Callable[[str], Added],
) -> tuple[Added, bool]:
    """Add with `add` (given the token to keep in its `action` audit event) once per form: a repeat
    of a submission, whose token already added a `model` that is still `same` as the one typed,
    returns that one instead; with whether it was a repeat. The look-up and the adding are done
    under lock_adding's lock, so two posts of one form racing add once; a refusal (FieldError)
    lets it go before the refused form is shown."""
    token = ours(token)
    if token:
        lock_adding(session, actor)
        before = added_with(session, actor, token, action, model)
        if before is not None and same(before):
            session.rollback()
            return before, True
    try:
        return add(token), False
    except FieldError:
        if token:
            session.rollback()
        raise
