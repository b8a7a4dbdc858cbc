"""The outbox: queued messages written in bulk, claimed by workers, and moved through their
states."""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.bulk import bound_columns, write_rows
from webapp.database import begin_write
from webapp.models import Batch, Message
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.messaging import (
    DELIVERED,
    FAILED,
    QUEUED,
    REJECTED,
    SENDING,
    SENT,
    STATE_RANK,
    UNDELIVERED,
    UNKNOWN,
    new_uuids,
)
from webapp.people.kinds import KINDS, Kind
from webapp.sms.consent import set_for_number
from webapp.sms.people import PersonRow
from webapp.sms.providers import Accepted, Receipt, Rejected, SendResult, Transient, Unknown
from webapp.text import one_line


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one recipient, ready to queue."""

    person: PersonRow
    body: str
    segments: int
    encoding: str
    override_opt_out: bool
    # The SMS account routing chose (webapp.sms.routing); None: the default account, whose
    # provider is the batch's.
    account_id: int | None = None
    provider: str | None = None


# When quiet hours end for a number, given the moment a message would go (None: not quiet then).
QuietUntil = Callable[[str, datetime], datetime | None]


def enqueue(
    session: so.Session,
    batch: Batch,
    items: Sequence[Outgoing],
    *,
    hold: bool = False,
    quiet: QuietUntil | None = None,
) -> int:
    """Add one queued Message per item to the session's transaction (bulk insert, no commit).

    `hold`: queued with no next_attempt_at, so no worker claims them until the batch is released
    (Send later). `quiet`: a message due in its recipient's quiet hours is due when they end, and
    keeps that time in quiet_until.
    """
    now = utcnow()
    waits = [
        None if hold or quiet is None else quiet(item.person.mobile_e164, now) for item in items
    ]
    uuids = new_uuids(len(items), now)
    columns, values = bound_columns(
        Message.__table__,
        session.get_bind().dialect,
        {
            "batch_id": batch.id,
            "direction": "out",
            "sender_id": batch.sender_id,
            "state": QUEUED,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        },
        {
            "uuid": uuids,
            "reference": uuids,
            KINDS.by_segment(batch.kind).person_column: [item.person.id for item in items],
            "to_e164": [item.person.mobile_e164 for item in items],
            "to_region": [item.person.mobile_region for item in items],
            "body": [item.body for item in items],
            "segments": [item.segments for item in items],
            "encoding": [item.encoding for item in items],
            "override_opt_out": [item.override_opt_out for item in items],
            "provider": [item.provider or batch.provider for item in items],
            "account_id": [item.account_id for item in items],
            "next_attempt_at": [None if hold else (until or now) for until in waits],
            "quiet_until": waits,
        },
    )
    write_rows(session, Message.__table__, columns, values)
    return len(values)


@dataclass(frozen=True, slots=True)
class NotSent(SendResult):
    """The worker stopped before calling the gateway: back to the queue, the attempt uncounted."""


NOT_SENT = NotSent()
MAX_ATTEMPTS = 6
BACKOFF_BASE = 2.0  # seconds; doubles with each attempt
BACKOFF_CAP = 300.0
messages = Message.__table__
GATEWAY_ID_LENGTH = 64  # Message.provider_message_id


def gateway_id(value: str | None) -> str | None:
    """A gateway's message id as stored: on one line, no control characters (PostgreSQL refuses a
    NUL), at most the column's length; None for none. Whatever a gateway answers, it fits."""
    cleaned = one_line(value)[:GATEWAY_ID_LENGTH]
    return cleaned or None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a worker has taken (state `sending`, under lease) and must now send."""

    id: int
    # What the gateway knows it by; a resend of an `unknown` message to the same number keeps it.
    reference: str
    uuid: str
    to_e164: str
    to_region: str | None
    body: str
    candidate_id: int | None
    contact_id: int | None
    override_opt_out: bool
    attempts: int  # this claim's number: an outcome is written only while it is still the latest
    lease_until: datetime | None = None  # after this the message may be someone else's: no call
    sender_id: int | None = None  # whose office zone decides the recipient's quiet hours


def claim(
    engine: sa.Engine, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Take up to `limit` due messages: queued → sending, with a lease, in one short transaction.

    PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED); SQLite takes the write
    lock first (BEGIN IMMEDIATE), so two workers never claim the same message.
    """
    now = now or utcnow()
    due = (
        sa.select(messages.c.id)
        .where(messages.c.state == QUEUED, messages.c.next_attempt_at <= now)
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
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
                .values(
                    state=SENDING,
                    lease_until=now + lease,
                    attempts=messages.c.attempts + 1,
                    updated_at=now,
                )
                .returning(
                    messages.c.id,
                    messages.c.reference,
                    messages.c.uuid,
                    messages.c.to_e164,
                    messages.c.to_region,
                    messages.c.body,
                    messages.c.candidate_id,
                    messages.c.contact_id,
                    messages.c.override_opt_out,
                    messages.c.attempts,
                    messages.c.lease_until,
                    messages.c.sender_id,
                )
            ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def expire_leases(session: so.Session, now: datetime | None = None) -> int:
    """A message still `sending` after its lease ran out may or may not have gone: `unknown`.

    Never straight back to `queued`: reconciliation (reconcile.py) asks the gateway first.
    """
    now = now or utcnow()
    result = session.execute(
        sa.update(messages)
        .where(messages.c.state == SENDING, messages.c.lease_until < now)
        .values(
            state=UNKNOWN,
            lease_until=None,
            updated_at=now,
            error_text="The worker stopped while sending; the message may or may not have "
            "been delivered.",
        )
    )
    session.commit()
    return result.rowcount


def recheck(
    session: so.Session, claimed: Sequence[Claimed], blocked_regions: frozenset[str]
) -> dict[int, str]:
    """Messages that must not go after all, with the reason: consent withdrawn, country blocked,
    the record's mobile changed or removed."""
    refused: dict[int, str] = {}
    now_on_record = _now_on_record(session, claimed)
    for message in claimed:
        if message.to_region in blocked_regions:
            refused[message.id] = (
                f"The gateway no longer serves this country ({message.to_region}); not sent."
            )
            continue
        person = _person(message)
        found = now_on_record.get(person) if person is not None else None
        if found is None:
            refused[message.id] = "The person's record was removed; not sent."
            continue
        consent, mobile = found
        # Every outgoing message with a person is addressed to their record's mobile as it was
        # when written (enqueue; a Quick reply and a resend too): a number the record no longer
        # has may be someone else's now (a scheduled send, a queue waiting out quiet hours).
        if mobile != message.to_e164:
            how = "changed" if mobile else "was removed"
            refused[message.id] = (
                f"The mobile on the record {how} after the message was queued; not sent."
            )
        # An Ignore stands until the person's own opt-out: a STOP (or the gateway's) received
        # after the message was queued takes it off (consent.end_ignore), so it is refused here.
        elif not message.override_opt_out and not consent:
            refused[message.id] = (
                "The person opted out of SMS after the message was queued; not sent."
            )
    return refused


def _person(message: Claimed) -> tuple[Kind, int] | None:
    """Who the message is to, by (kind, id); None when their record was removed."""
    for kind in KINDS:
        if person_id := getattr(message, kind.person_column):
            return kind, person_id
    return None


def _now_on_record(
    session: so.Session, claimed: Sequence[Claimed]
) -> dict[tuple[Kind, int], tuple[bool, str | None]]:
    """Each claimed message's person's SMS box and mobile as they are now, by (kind, id): one
    query a kind for the whole claim."""
    found: dict[tuple[Kind, int], tuple[bool, str | None]] = {}
    for kind in KINDS:
        ids = [pid for message in claimed if (pid := getattr(message, kind.person_column))]
        if ids:
            model = kind.model
            for pid, ok, mobile in session.execute(
                sa.select(model.id, model.sms_consent, model.mobile_e164).where(model.id.in_(ids))
            ):
                found[(kind, pid)] = (ok, mobile)
    return found


def reject(session: so.Session, refused: dict[int, str], now: datetime | None = None) -> None:
    """Record the send-time re-check's refusals (state `rejected`)."""
    if not refused:
        return
    now = now or utcnow()
    begin_write(session)  # recheck() read in this session; writing now could fail on SQLite
    session.execute(
        sa.update(messages)
        .where(messages.c.id == sa.bindparam("m_id"), messages.c.state == SENDING)
        .values(
            state=REJECTED,
            error_code="recheck",
            error_text=sa.bindparam("m_text"),
            lease_until=None,
            updated_at=now,
        ),
        [{"m_id": mid, "m_text": text} for mid, text in refused.items()],
    )
    session.commit()


def quiet_claimed(
    claimed: Iterable[Claimed], planners: dict[int | None, QuietUntil], now: datetime
) -> dict[int, datetime]:
    """Of claimed messages, those now inside their recipient's quiet hours, with when they end
    (`planners`: each sender's, quiet_hours.planners)."""
    waits: dict[int, datetime] = {}
    for message in claimed:
        quiet = planners.get(message.sender_id) or planners[None]
        if (until := quiet(message.to_e164, now)) is not None:
            waits[message.id] = until
    return waits


def hold_for_quiet(
    session: so.Session, claimed: Sequence[Claimed], waits: dict[int, datetime], now: datetime
) -> None:
    """Put claimed messages due in their recipient's quiet hours back in the queue until those
    end (and say so in quiet_until); the attempt is not counted, as nothing was tried."""
    if not waits:
        return
    begin_write(session)
    session.execute(
        sa.update(messages)
        .where(_by_id, _this_claim, _sending)
        .values(
            state=QUEUED,
            attempts=messages.c.attempts - 1,
            next_attempt_at=sa.bindparam("m_next"),
            quiet_until=sa.bindparam("m_next"),
            lease_until=None,
            updated_at=_now,
        ),
        [
            {"m_id": m.id, "m_attempts": m.attempts, "m_next": waits[m.id], "m_now": now}
            for m in claimed
            if m.id in waits
        ],
    )
    session.commit()


def backoff(
    attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds before the next try: exponential with jitter, or what the gateway asked for."""
    # NaN passes max() and min() unchanged (and then breaks timedelta): it is no wait at all.
    if retry_after is not None and not math.isnan(retry_after):
        return min(max(retry_after, 1.0), BACKOFF_CAP)
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return delay * (0.5 + (rng or random).random())


class Transition(enum.Enum):
    """What a send's outcome does to its message; `record` writes each for its whole group."""

    SENT = enum.auto()  # the gateway took it
    FAILED = enum.auto()  # the gateway refused it, or it ran out of attempts
    RETRY = enum.auto()  # a passing error: queued again after a back-off, the attempt counted
    UNKNOWN = enum.auto()  # it may or may not have gone: reconciliation asks the gateway
    NOT_SENT = enum.auto()  # stopped before the gateway call: queued again, the attempt uncounted


_by_id = messages.c.id == sa.bindparam("m_id")
# A receipt may already have moved the message on; never move it back. Nor may a worker that
# outlived its lease: reconciliation may have queued the message again and another worker
# claimed it (a higher `attempts`), so only an acceptance, which is true whoever made it,
# is written without this claim's number.
_this_claim = messages.c.attempts == sa.bindparam("m_attempts")
_sending = messages.c.state == SENDING
_in_flight = sa.or_(_sending, messages.c.state == UNKNOWN)
_now = sa.bindparam("m_now", type_=UTCDateTime())  # a parameter: the statements are built once
_error = {"error_code": sa.bindparam("m_code"), "error_text": sa.bindparam("m_text")}
_released = {"lease_until": None, "updated_at": _now}
# What each transition writes: one statement, executed once for all the messages it concerns (in
# this order), and only while the guard on state and claim holds.
UPDATES: dict[Transition, sa.Update] = {
    Transition.SENT: sa.update(messages)
    .where(_by_id)
    .values(
        provider_message_id=sa.func.coalesce(messages.c.provider_message_id, sa.bindparam("m_pid")),
        state=sa.case((_in_flight, SENT), else_=messages.c.state),
        sent_at=sa.func.coalesce(messages.c.sent_at, _now),
        # An earlier try's passing error is history once the gateway takes the message (the
        # record showed "Sent" over "Gateway busy"); a receipt's, already written, stays.
        error_code=sa.case((_in_flight, None), else_=messages.c.error_code),
        error_text=sa.case((_in_flight, None), else_=messages.c.error_text),
        **_released,
    ),
    Transition.FAILED: sa.update(messages)
    .where(_by_id, _this_claim, _in_flight)
    .values(state=FAILED, **_error, **_released),
    Transition.RETRY: sa.update(messages)
    .where(_by_id, _this_claim, _sending)
    .values(state=QUEUED, **_error, next_attempt_at=sa.bindparam("m_next"), **_released),
    Transition.UNKNOWN: sa.update(messages)
    .where(_by_id, _this_claim, _sending)
    .values(state=UNKNOWN, error_text=sa.bindparam("m_text"), **_released),
    Transition.NOT_SENT: sa.update(messages)
    .where(_by_id, _this_claim, _sending)
    .values(state=QUEUED, attempts=messages.c.attempts - 1, next_attempt_at=_now, **_released),
}


def record(
    session: so.Session, results: Iterable[tuple[Claimed, SendResult]], now: datetime | None = None
) -> list[tuple[Claimed, Rejected]]:
    """Store what the gateway said for each message; returns the opt-out rejections to act on."""
    now = now or utcnow()
    groups: dict[Transition, list[dict[str, object]]] = {change: [] for change in Transition}
    opted_out = []
    for message, result in results:
        if (outcome := _transition(message, result, now)) is not None:
            change, params = outcome
            groups[change].append(params)
        if isinstance(result, Rejected) and result.reason == "opted_out":
            opted_out.append((message, result))
    for change, statement in UPDATES.items():
        if groups[change]:
            session.execute(statement, groups[change])
    session.commit()
    return opted_out


def _transition(
    message: Claimed, result: SendResult, now: datetime
) -> tuple[Transition, dict[str, object]] | None:
    """The transition one outcome causes, with this message's parameters for its statement."""
    claim = {"m_id": message.id, "m_attempts": message.attempts, "m_now": now}
    if isinstance(result, NotSent):
        return Transition.NOT_SENT, claim
    if isinstance(result, Accepted):
        return Transition.SENT, {
            "m_id": message.id,
            "m_now": now,
            "m_pid": gateway_id(result.provider_message_id),
        }
    if isinstance(result, Rejected):
        return Transition.FAILED, {**claim, **_error_params(result.code, result.text)}
    if isinstance(result, Transient) and message.attempts >= MAX_ATTEMPTS:
        gave_up = f"Gave up after {message.attempts} attempts: {result.text}"
        return Transition.FAILED, {**claim, **_error_params(result.code, gave_up)}
    if isinstance(result, Transient):
        later = now + timedelta(seconds=backoff(message.attempts, result.retry_after))
        return Transition.RETRY, {
            **claim,
            **_error_params(result.code, result.text),
            "m_next": later,
        }
    if isinstance(result, Unknown):
        return Transition.UNKNOWN, {**claim, "m_text": result.text[:300]}
    return None


def _error_params(code: str, text: str) -> dict[str, object]:
    return {"m_code": code[:20], "m_text": text[:300]}  # the columns' lengths


def find_for_receipt(session: so.Session, provider: str, receipt: Receipt) -> Message | None:
    """The message a receipt is about: by our uuid (Twilio's callback URL), by the gateway
    reference (the current copy, if an unknown message was resent), or by the gateway's id."""
    if receipt.reference:
        message = find_by_reference(session, receipt.reference)
        if message is not None:
            return message
    if receipt.provider_message_id:
        return session.scalar(
            sa.select(Message).where(
                Message.provider == provider,
                Message.provider_message_id == receipt.provider_message_id,
                # Only what we sent: a reply may hold the id a receipt names, and a receipt must
                # never move it.
                Message.direction == "out",
            )
        )
    return None


def find_by_reference(
    session: so.Session, reference: str, *where: sa.ColumnElement[bool]
) -> Message | None:
    """The message we sent that a gateway's reference names (and `where` allows): the one with
    that uuid, or, once an unknown message was resent, its current copy, which goes with the
    original's reference; never the superseded original, which Sent no longer shows."""
    outbound = (Message.direction == "out", *where)
    message = session.scalar(sa.select(Message).where(Message.uuid == reference, *outbound))
    if message is not None and not message.superseded:
        return message
    return session.scalar(
        sa.select(Message)
        .where(Message.reference == reference, Message.superseded.is_(False), *outbound)
        .order_by(Message.id.desc())
        .limit(1)
    )


def apply_receipt(
    session: so.Session,
    message: Message,
    receipt: Receipt,
    now: datetime | None = None,
    *,
    one_part: bool = False,
    opted_out: bool = False,
) -> bool:
    """Move a message forward by a delivery receipt; a late or repeated receipt changes nothing.

    `one_part`: the receipt is for one part of a long message (SMS Central sends one per part).
    The message arrived only if every part did, so a failed part wins in either order: it moves
    a delivered message to failed, and a later part's delivery leaves the failure and its reason.
    `opted_out`: the receipt's error says the recipient unsubscribed at the gateway (Twilio's
    21610), so their SMS consent is withdrawn with it, once: a repeated receipt changes nothing.
    """
    now = now or utcnow()
    failure = receipt.state in (FAILED, UNDELIVERED)
    if one_part and message.state in (FAILED, UNDELIVERED) and not failure:
        return False
    part_lost = one_part and failure and message.state == DELIVERED
    if not part_lost and STATE_RANK[receipt.state] <= STATE_RANK.get(message.state, 0):
        return False
    message.state = receipt.state
    if gateway_id(receipt.provider_message_id) and not message.provider_message_id:
        message.provider_message_id = unclaimed_gateway_id(receipt.provider_message_id)
    if receipt.state == DELIVERED:
        message.delivered_at = now
    if failure:
        message.delivered_at = None  # a part's, before another part failed
        message.error_code = (receipt.error_code or "")[:20] or None
        message.error_text = (receipt.error_text or "The gateway could not deliver it.")[:300]
    else:
        # It went: an earlier error (a retried attempt, an unanswered call) no longer stands.
        message.error_code = message.error_text = None
    message.sent_at = message.sent_at or now
    message.lease_until = None
    if opted_out and failure:
        withdraw_consent(session, message, receipt.error_code or "")
    session.commit()
    return True


def unclaimed_gateway_id(value: str | None) -> sa.ColumnElement:
    """What to set a message's provider_message_id to in an UPDATE: the id it has, or else `value`
    unless another message of its gateway and direction holds that already (one row per gateway
    id: a unique index). SMS Central's send answer has no id, so a message takes one from a
    receipt or a lookup, and that id may be one another sent message has: the state still counts,
    the id is left out, rather than the whole update refused (and retried in vain). A reply's id
    is no obstacle (the index is per direction, migration 0026)."""
    taken = sa.alias(messages, "other")
    return sa.case(
        (messages.c.provider_message_id.is_not(None), messages.c.provider_message_id),
        (
            sa.exists().where(
                taken.c.provider == messages.c.provider,
                taken.c.direction == messages.c.direction,
                taken.c.provider_message_id == gateway_id(value),
            ),
            messages.c.provider_message_id,
        ),
        else_=gateway_id(value),
    )


def withdraw_consent(session: so.Session, message: Claimed | Message, code: str) -> None:
    """The gateway says `message`'s recipient unsubscribed (Twilio's 21610, answering the send or
    in a receipt): untick SMS consent on every record with the number, audited as the gateway's
    doing. In the caller's write transaction (begin_write), which the caller commits."""
    set_for_number(
        session,
        message.to_e164,
        False,
        actor=None,
        cause={"source": "gateway", "code": code, "message_uuid": message.uuid},
    )


def deliver_sandbox(session: so.Session, after: timedelta, now: datetime | None = None) -> int:
    """The sandbox's stand-in for a delivery receipt: sent for `after` → delivered."""
    now = now or utcnow()
    result = session.execute(
        sa.update(messages)
        .where(
            messages.c.provider == "sandbox",
            messages.c.state == SENT,
            messages.c.sent_at <= now - after,
        )
        .values(state=DELIVERED, delivered_at=now, updated_at=now)
    )
    session.commit()
    return result.rowcount
