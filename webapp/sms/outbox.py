"""The outbox: queued messages written in bulk, claimed by workers, and moved through their states."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.bulk import insert_rows
from webapp.database import begin_write
from webapp.models import Batch, Candidate, ClientContact, Message
from webapp.models.base import utcnow
from webapp.models.messaging import (
    DELIVERED, FAILED, QUEUED, REJECTED, SENDING, SENT, STATE_RANK, UNKNOWN, new_uuid,
)
from webapp.sms.people import PersonRow
from webapp.sms.providers import Accepted, Receipt, Rejected, SendResult, Transient, Unknown



@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one recipient, ready to queue."""

    person: PersonRow
    body: str
    segments: int
    encoding: str
    override_opt_out: bool


def enqueue(session: so.Session, batch: Batch, items: Sequence[Outgoing]) -> int:
    """Add one queued Message per item to the session's transaction (bulk insert, no commit)."""
    now = utcnow()
    person_column = "candidate_id" if batch.kind == "candidates" else "contact_id"
    rows = [
        {
            "uuid": (uuid := new_uuid()), "reference": uuid, "batch_id": batch.id, "direction": "out",
            person_column: item.person.id, "sender_id": batch.sender_id,
            "to_e164": item.person.mobile_e164, "to_region": item.person.mobile_region, "body": item.body, "segments": item.segments,
            "encoding": item.encoding, "state": QUEUED, "override_opt_out": item.override_opt_out,
            "provider": batch.provider, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "updated_at": now,
        }
        for item in items
    ]
    insert_rows(session, Message.__table__, rows)
    return len(rows)



@dataclass(frozen=True, slots=True)
class NotSent(SendResult):
    """The worker stopped before calling the gateway: back to the queue, the attempt uncounted."""


NOT_SENT = NotSent()
MAX_ATTEMPTS = 6
BACKOFF_BASE = 2.0  # seconds; doubles with each attempt
BACKOFF_CAP = 300.0
messages = Message.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a worker has taken (state `sending`, under lease) and must now send."""

    id: int
    reference: str  # what the gateway knows it by; a resend of an `unknown` message keeps it
    uuid: str
    to_e164: str
    to_region: str | None
    body: str
    candidate_id: int | None
    contact_id: int | None
    override_opt_out: bool
    attempts: int  # this claim's number: an outcome is written only while it is still the latest
    lease_until: datetime | None = None  # after this the message may be someone else's: no call


def claim(engine: sa.Engine, limit: int, lease: timedelta, now: datetime | None = None) -> list[Claimed]:
    """Take up to `limit` due messages: queued → sending, with a lease, in one short transaction.

    PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED); SQLite takes the write
    lock first (BEGIN IMMEDIATE), so two workers never claim the same message.
    """
    now = now or utcnow()
    due = (sa.select(messages.c.id)
           .where(messages.c.state == QUEUED, messages.c.next_attempt_at <= now)
           .order_by(messages.c.next_attempt_at, messages.c.id)
           .limit(limit)
           .with_for_update(skip_locked=True))
    # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT): PostgreSQL may re-run such a
    # subquery per row and claim far more than `limit`.
    with engine.connect().execution_options(sqlite_immediate=True) as connection:
        with connection.begin():
            ids = list(connection.execute(due).scalars())
            if not ids:
                return []
            rows = connection.execute(
                sa.update(messages)
                .where(messages.c.id.in_(ids), messages.c.state == QUEUED)
                .values(state=SENDING, lease_until=now + lease, attempts=messages.c.attempts + 1,
                        updated_at=now)
                .returning(messages.c.id, messages.c.reference, messages.c.uuid,
                           messages.c.to_e164, messages.c.to_region, messages.c.body,
                           messages.c.candidate_id, messages.c.contact_id,
                           messages.c.override_opt_out, messages.c.attempts,
                           messages.c.lease_until)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def expire_leases(session: so.Session, now: datetime | None = None) -> int:
    """A message still `sending` after its lease ran out may or may not have gone: `unknown`.

    Never straight back to `queued`: reconciliation (reconcile.py) asks the gateway first.
    """
    now = now or utcnow()
    result = session.execute(
        sa.update(messages)
        .where(messages.c.state == SENDING, messages.c.lease_until < now)
        .values(state=UNKNOWN, lease_until=None, updated_at=now,
                error_text="The worker stopped while sending; the message may or may not have "
                           "been delivered.")
    )
    session.commit()
    return result.rowcount


def recheck(session: so.Session, claimed: Sequence[Claimed],
            blocked_regions: frozenset[str]) -> dict[int, str]:
    """Messages that must not go after all, with the reason: consent withdrawn, country blocked."""
    refused: dict[int, str] = {}
    consent = _consents(session, claimed)
    for message in claimed:
        if message.to_region in blocked_regions:
            refused[message.id] = (f"The gateway no longer serves this country ({message.to_region}); "
                                   "not sent.")
            continue
        person = ("c", message.candidate_id) if message.candidate_id else ("k", message.contact_id)
        if person[1] is None:
            refused[message.id] = "The person's record was removed; not sent."
        elif not message.override_opt_out and not consent.get(person, False):
            refused[message.id] = "The person opted out of SMS after the message was queued; not sent."
    return refused


def _consents(session: so.Session, claimed: Sequence[Claimed]) -> dict[tuple[str, int], bool]:
    candidate_ids = [m.candidate_id for m in claimed if m.candidate_id]
    contact_ids = [m.contact_id for m in claimed if m.contact_id]
    consent: dict[tuple[str, int], bool] = {}
    if candidate_ids:
        for pid, ok in session.execute(sa.select(Candidate.id, Candidate.sms_consent)
                                       .where(Candidate.id.in_(candidate_ids))):
            consent[("c", pid)] = ok
    if contact_ids:
        for pid, ok in session.execute(sa.select(ClientContact.id, ClientContact.sms_consent)
                                       .where(ClientContact.id.in_(contact_ids))):
            consent[("k", pid)] = ok
    return consent


def reject(session: so.Session, refused: dict[int, str], now: datetime | None = None) -> None:
    """Record the send-time re-check's refusals (state `rejected`)."""
    if not refused:
        return
    now = now or utcnow()
    begin_write(session)  # recheck() read in this session; writing now could fail on SQLite
    session.execute(
        sa.update(messages).where(messages.c.id == sa.bindparam("m_id"), messages.c.state == SENDING)
        .values(state=REJECTED, error_code="recheck", error_text=sa.bindparam("m_text"),
                lease_until=None, updated_at=now),
        [{"m_id": mid, "m_text": text} for mid, text in refused.items()],
    )
    session.commit()


def backoff(attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential with jitter, or what the gateway asked for."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), BACKOFF_CAP)
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return delay * (0.5 + (rng or random).random())


def record(session: so.Session, results: Iterable[tuple[Claimed, SendResult]],
           now: datetime | None = None) -> list[tuple[Claimed, Rejected]]:
    """Store what the gateway said for each message; returns the opt-out rejections to act on."""
    now = now or utcnow()
    accepted, rejected, retry, failed, unknown, opted_out, unsent = [], [], [], [], [], [], []
    for message, result in results:
        if isinstance(result, NotSent):
            unsent.append({"m_id": message.id, "m_attempts": message.attempts})
        elif isinstance(result, Accepted):
            accepted.append({"m_id": message.id, "m_pid": result.provider_message_id})
        elif isinstance(result, Rejected):
            rejected.append({"m_id": message.id, "m_attempts": message.attempts, "m_code": result.code[:20],
                             "m_text": result.text[:300]})
            if result.reason == "opted_out":
                opted_out.append((message, result))
        elif isinstance(result, Transient):
            if message.attempts >= MAX_ATTEMPTS:
                failed.append({"m_id": message.id, "m_attempts": message.attempts, "m_code": result.code[:20],
                               "m_text": f"Gave up after {message.attempts} attempts: {result.text}"[:300]})
            else:
                retry.append({"m_id": message.id, "m_attempts": message.attempts, "m_code": result.code[:20],
                              "m_text": result.text[:300],
                              "m_next": now + timedelta(seconds=backoff(message.attempts,
                                                                        result.retry_after))})
        elif isinstance(result, Unknown):
            unknown.append({"m_id": message.id, "m_attempts": message.attempts,
                            "m_text": result.text[:300]})
    by_id = messages.c.id == sa.bindparam("m_id")
    # A receipt may already have moved the message on; never move it back. Nor may a worker that
    # outlived its lease: reconciliation may have queued the message again and another worker
    # claimed it (a higher `attempts`), so only an acceptance, which is true whoever made it,
    # is written without this claim's number.
    this_claim = messages.c.attempts == sa.bindparam("m_attempts")
    in_flight = sa.or_(messages.c.state == SENDING, messages.c.state == UNKNOWN)
    if accepted:
        session.execute(sa.update(messages).where(by_id).values(
            provider_message_id=sa.func.coalesce(messages.c.provider_message_id, sa.bindparam("m_pid")),
            state=sa.case((in_flight, SENT), else_=messages.c.state),
            sent_at=sa.func.coalesce(messages.c.sent_at, now), lease_until=None, updated_at=now), accepted)
    for rows, state in ((rejected, FAILED), (failed, FAILED)):
        if rows:
            session.execute(sa.update(messages).where(by_id, this_claim, in_flight).values(
                state=state, error_code=sa.bindparam("m_code"), error_text=sa.bindparam("m_text"),
                lease_until=None, updated_at=now), rows)
    if retry:
        session.execute(sa.update(messages).where(by_id, this_claim, messages.c.state == SENDING).values(
            state=QUEUED, error_code=sa.bindparam("m_code"), error_text=sa.bindparam("m_text"),
            next_attempt_at=sa.bindparam("m_next"), lease_until=None, updated_at=now), retry)
    if unknown:
        session.execute(sa.update(messages).where(by_id, this_claim, messages.c.state == SENDING).values(
            state=UNKNOWN, error_text=sa.bindparam("m_text"), lease_until=None, updated_at=now), unknown)
    if unsent:
        session.execute(sa.update(messages).where(by_id, this_claim, messages.c.state == SENDING).values(
            state=QUEUED, attempts=messages.c.attempts - 1, next_attempt_at=now, lease_until=None,
            updated_at=now), unsent)
    session.commit()
    return opted_out


def find_for_receipt(session: so.Session, provider: str, receipt: Receipt) -> Message | None:
    """The message a receipt is about: by our uuid (Twilio's callback URL), by the gateway
    reference (the current copy, if an unknown message was resent), or by the gateway's id."""
    if receipt.reference:
        message = session.scalar(sa.select(Message).where(Message.uuid == receipt.reference))
        if message is not None and not message.superseded:
            return message
        message = session.scalar(
            sa.select(Message).where(Message.reference == receipt.reference,
                                     Message.superseded.is_(False))
            .order_by(Message.id.desc()).limit(1))
        if message is not None:
            return message
    if receipt.provider_message_id:
        return session.scalar(sa.select(Message).where(
            Message.provider == provider, Message.provider_message_id == receipt.provider_message_id))
    return None


def apply_receipt(session: so.Session, message: Message, receipt: Receipt,
                  now: datetime | None = None) -> bool:
    """Move a message forward by a delivery receipt; a late or repeated receipt changes nothing."""
    now = now or utcnow()
    if STATE_RANK[receipt.state] <= STATE_RANK.get(message.state, 0):
        return False
    message.state = receipt.state
    if receipt.provider_message_id and not message.provider_message_id:
        message.provider_message_id = receipt.provider_message_id
    if receipt.state == DELIVERED:
        message.delivered_at = now
    if receipt.state in (FAILED, "undelivered"):
        message.error_code = (receipt.error_code or "")[:20] or None
        message.error_text = (receipt.error_text or "The gateway could not deliver it.")[:300]
    message.sent_at = message.sent_at or now
    message.lease_until = None
    session.commit()
    return True


def deliver_sandbox(session: so.Session, after: timedelta, now: datetime | None = None) -> int:
    """The sandbox's stand-in for a delivery receipt: sent for `after` → delivered."""
    now = now or utcnow()
    result = session.execute(
        sa.update(messages)
        .where(messages.c.provider == "sandbox", messages.c.state == SENT,
               messages.c.sent_at <= now - after)
        .values(state=DELIVERED, delivered_at=now, updated_at=now))
    session.commit()
    return result.rowcount
