"""Comments on a person's record and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.base import Base, UTCDateTime, index_where_set, utcnow
from webapp.models.users import User


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        sa.CheckConstraint("(candidate_id IS NULL) <> (contact_id IS NULL)", name="one_person"),
        # Each comment is about one person, so each of these holds only its own kind's rows.
        index_where_set("ix_comments_candidate_id", "candidate_id"),
        index_where_set("ix_comments_contact_id", "contact_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    candidate_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("candidates.id", ondelete="CASCADE")
    )
    contact_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("client_contacts.id", ondelete="CASCADE")
    )
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    type: so.Mapped[str] = so.mapped_column(sa.String(60), default="SMS")
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    author: so.Mapped[User | None] = so.relationship(lazy="joined")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_subject", "subject_type", "subject_id"),
        sa.Index("ix_audit_events_created_at", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(60), index=True)
    subject_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    subject_id: so.Mapped[int | None]
    details: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    actor: so.Mapped[User | None] = so.relationship(lazy="joined")


SUBJECT_NAMES = {"Candidate": "candidate", "ClientContact": "contact"}


def subject_name(subject: Any) -> str | None:
    """The audit log's name for what an event is about: candidate, contact, batch, user…"""
    if subject is None:
        return None
    # Behind a proxy (the web's signed-in user), the object it stands for: its type is the name.
    subject = getattr(subject, "_get_current_object", lambda: subject)()
    name = type(subject).__name__
    return SUBJECT_NAMES.get(name, name.lower())


def audit(
    session: so.Session, actor: User | None, action: str, subject: Any = None, **details: Any
) -> AuditEvent:
    """Add an audit event to the session; the caller's transaction commits it with the change."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_name(subject),
        subject_id=getattr(subject, "id", None),
        details=details,
    )
    session.add(event)
    return event
