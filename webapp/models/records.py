"""Create and edit Candidates and Client Contacts and change their Privacy, each change audited."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.activity import Comment, audit
from webapp.models.people import Candidate, Client, ClientContact, name_key
from webapp.models.users import User

KINDS = {"candidates": Candidate, "contacts": ClientContact}
PRIVACY_FIELDS = {
    "sms_consent": "SMS",
    "email_consent": "Email",
    "mail_consent": "Mail",
    "privacy_statement_read": "Privacy statement read",
}
CANDIDATE_FIELDS = ("first_name", "last_name", "email", "status", "job_title", "skills", "location")
CONTACT_FIELDS = ("first_name", "last_name", "email", "status", "position")


def get_person(session: so.Session, kind: str, person_id: int) -> Candidate | ClientContact | None:
    model = KINDS.get(kind)
    return None if model is None else session.get(model, person_id)


def change_privacy(session: so.Session, person: Candidate | ClientContact, actor: User,
                   wanted: dict[str, bool], reason: str = "edited on the record") -> dict:
    """Set the Privacy boxes to `wanted`; audit and return what changed ({field: [old, new]})."""
    changes = {}
    for field in PRIVACY_FIELDS:
        if field in wanted and getattr(person, field) != wanted[field]:
            changes[field] = [getattr(person, field), wanted[field]]
            setattr(person, field, wanted[field])
    if changes:
        audit(session, actor, "privacy.changed", person, changes=changes, reason=reason)
    session.commit()
    return changes


@dataclass
class PersonData:
    """What the add/edit form submits, already validated."""

    values: dict
    mobile: str | None
    client_name: str | None = None


def save_person(session: so.Session, kind: str, person: Candidate | ClientContact | None,
                data: PersonData, actor: User, default_region: str) -> Candidate | ClientContact:
    """Create (person None) or update a person from form data, audited, in one transaction."""
    created = person is None
    if person is None:
        person = KINDS[kind]()
        session.add(person)
    before = _snapshot(person, kind) if not created else {}
    for field, value in data.values.items():
        setattr(person, field, value)
    person.set_mobile(data.mobile, default_region)
    if kind == "contacts":
        person.client = _client_named(session, data.client_name)
    session.flush()
    after = _snapshot(person, kind)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    audit(session, actor, "person.created" if created else "person.edited", person, changes=changes)
    session.commit()
    return person


def _snapshot(person, kind: str) -> dict:
    fields = CANDIDATE_FIELDS if kind == "candidates" else CONTACT_FIELDS
    snap = {field: getattr(person, field) for field in fields + tuple(PRIVACY_FIELDS)}
    snap["mobile"] = person.mobile_raw
    if kind == "contacts":
        snap["client"] = person.client.name if person.client else None
    return snap


def _client_named(session: so.Session, name: str | None) -> Client | None:
    if not name or not name.strip():
        return None
    client = session.scalar(sa.select(Client).where(Client.name_key == name_key(name)).limit(1))
    return client or Client(name=name.strip())


def comments_for(session: so.Session, person: Candidate | ClientContact, limit: int = 100) -> list[Comment]:
    column = Comment.candidate_id if isinstance(person, Candidate) else Comment.contact_id
    return list(session.scalars(
        sa.select(Comment).where(column == person.id).order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)
    ))
