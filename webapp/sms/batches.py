"""Read a batch's progress: counts per state and its messages, for the batch page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Batch, Candidate, ClientContact, Message, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import FINAL_STATES

STATE_ORDER = ("queued", "sending", "sent", "delivered", "failed", "rejected", "undelivered", "unknown")


def visible_batch(session: so.Session, batch_id: int, user: User) -> Batch | None:
    """The batch if this user may see it: its sender, or anyone who may read the audit log."""
    batch = session.get(Batch, batch_id)
    if batch is None or (batch.sender_id != user.id and not user.can("audit.view")):
        return None
    return batch


@dataclass
class Progress:
    counts: dict[str, int]
    total: int

    @property
    def finished(self) -> int:
        return sum(n for state, n in self.counts.items() if state in FINAL_STATES)

    @property
    def done(self) -> bool:
        return self.finished >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.finished / self.total)


def progress(session: so.Session, batch: Batch) -> Progress:
    rows = session.execute(
        sa.select(Message.state, sa.func.count())
        .where(Message.batch_id == batch.id, Message.superseded.is_(False))
        .group_by(Message.state)
    ).all()
    counts = dict.fromkeys(STATE_ORDER, 0) | {state: n for state, n in rows}
    return Progress(counts=counts, total=sum(counts.values()))


def messages(session: so.Session, batch: Batch, *, state: str | None = None, limit: int = 200,
             offset: int = 0) -> list[tuple[Message, str]]:
    """Messages with the recipient's name, problems first (failed, unknown), then by id."""
    person = sa.case(
        (Message.candidate_id.is_not(None),
         sa.select(Candidate.first_name + " " + Candidate.last_name)
         .where(Candidate.id == Message.candidate_id).scalar_subquery()),
        else_=sa.select(ClientContact.first_name + " " + ClientContact.last_name)
        .where(ClientContact.id == Message.contact_id).scalar_subquery(),
    )
    query = sa.select(Message, person).where(Message.batch_id == batch.id)
    if state:
        query = query.where(Message.state == state)
    query = query.order_by(Message.id).limit(limit).offset(offset)
    return [(message, name or "") for message, name in session.execute(query).all()]


LEFT_OUT = (("opted_out", "opted out"), ("blocked_country", "in a blocked country"),
            ("invalid_number", "invalid number"), ("no_mobile", "no mobile"),
            ("duplicate", "same number as another recipient"), ("removed", "taken off by the sender"))


def left_out(batch: Batch) -> list[tuple[int, str]]:
    """Who was chosen but not sent to, and why, as recorded when the batch was sent."""
    counts = batch.outcome_counts or {}
    return [(counts[key], label) for key, label in LEFT_OUT if counts.get(key)]


RESENDABLE = ("failed", "unknown")


def resendable_counts(session: so.Session, batch: Batch) -> dict[str, int]:
    rows = session.execute(
        sa.select(Message.state, sa.func.count())
        .where(Message.batch_id == batch.id, Message.state.in_(RESENDABLE), Message.superseded.is_(False))
        .group_by(Message.state)).all()
    return dict.fromkeys(RESENDABLE, 0) | dict(rows)


def resend(session: so.Session, batch: Batch, actor: User, states: tuple[str, ...]) -> int:
    """Queue a fresh copy of each failed (and, if asked, unknown) message; audited.

    The originals stay as they were, marked superseded, so the history shows both attempts.
    """
    states = tuple(state for state in states if state in RESENDABLE)
    originals = list(session.scalars(
        sa.select(Message).where(Message.batch_id == batch.id, Message.state.in_(states),
                                 Message.superseded.is_(False)).order_by(Message.id)))
    now = utcnow()
    for original in originals:
        original.superseded = True
        session.add(Message(
            batch_id=batch.id, direction="out", candidate_id=original.candidate_id,
            contact_id=original.contact_id, sender_id=actor.id, to_e164=original.to_e164,
            to_region=original.to_region, body=original.body, segments=original.segments,
            encoding=original.encoding, state="queued", override_opt_out=original.override_opt_out,
            provider=batch.provider, resend_of_id=original.id, next_attempt_at=now,
            # An unknown one may have arrived: the same reference lets SMS Central refuse the
            # copy (513, "duplicate") instead of delivering it twice. A failed one never went.
            reference=original.reference if original.state == "unknown" else None))
    if originals:
        audit(session, actor, "sms.resent", batch, messages=len(originals),
              states={state: sum(1 for m in originals if m.state == state) for state in states})
    session.commit()
    return len(originals)
