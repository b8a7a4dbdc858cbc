"""Reconciliation: settle `unknown` messages by asking the gateway, and send again only what it
never took.

A message is `unknown` when its gateway call timed out or its worker died mid-call. Once it has
been unknown for `after` (a late answer, receipt or callback usually settles it first), the
dispatcher looks it up (`Provider.lookup`) and:

- the gateway holds it (`Found`) → `sent`, `delivered`, `undelivered` or `failed`, as it says;
- the gateway does not (`NotFound`) → back to `queued`, so it goes again, when that cannot send it
  twice: at once for SMS Central (the same REFERENCE is refused with 513 if the first call did get
  through), and for Twilio only once `give_up` has passed since the call (Twilio creates a message
  before it answers, so one missing from its list by then was never created);
- the lookup failed, or Twilio's time is not up → asked again later, waiting longer each time.

Every change is conditional on the message still being `unknown` with the same `attempts` (the
claim it went unknown in): a receipt, a Resend or another worker may have moved it meanwhile, and
a message must go back to the queue at most once per unknown attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.models import Message
from webapp.models.base import utcnow
from webapp.models.messaging import DELIVERED, QUEUED, UNKNOWN
from webapp.sms import outbox
from webapp.sms.providers import Enquiry, Found, LookupFailed, LookupResult, NotFound, Provider

log = logging.getLogger(__name__)
messages = Message.__table__


@dataclass(frozen=True)
class ReconcileSettings:
    after: timedelta = timedelta(seconds=60)  # unknown this long before the first lookup
    give_up: timedelta = timedelta(minutes=10)  # Twilio: not listed this long after → never created
    longest_wait: timedelta = timedelta(minutes=15)  # between lookups of one message
    every: float = 5.0  # seconds between reconciliation steps of one dispatcher
    limit: int = 100  # messages per step at most (the provider's `lookup_limit` may say fewer)


@dataclass
class Report:
    found: int = 0  # resolved by what the gateway holds
    queued_again: int = 0  # never reached the gateway: queued to go again
    waiting: int = 0  # still unknown: looked up again later

    def __bool__(self) -> bool:
        return bool(self.found or self.queued_again or self.waiting)


@dataclass(frozen=True)
class _Row:
    id: int
    uuid: str
    reference: str | None
    to_e164: str
    body: str
    created_at: datetime
    updated_at: datetime  # when it became unknown: kept while it stays so
    attempts: int


def reconcile(
    engine: sa.Engine,
    provider: Provider,
    settings: ReconcileSettings,
    now: datetime | None = None,
    *,
    account_id: int | None = None,
) -> Report:
    """Look up the `unknown` messages of this provider that are due, and settle what can be.

    `account_id`: the SMS account whose gateway `provider` is; None, the default gateway's."""
    now = now or utcnow()
    resend_safe = bool(getattr(provider, "same_reference_is_refused", False))
    limit = min(settings.limit, getattr(provider, "lookup_limit", settings.limit))
    rows, taken = _take(
        engine, provider.name, settings, now, resend_safe, limit, account_id=account_id
    )
    if not rows:
        return Report()
    enquiries = [
        Enquiry(row.uuid, row.reference or row.uuid, row.to_e164, row.body, row.created_at)
        for row in rows
    ]
    # No transaction is open during the call: a slow gateway must not hold database locks.
    try:
        results = provider.lookup(enquiries, taken)
    except Exception as exc:  # a provider bug: the messages stay unknown and are asked about later
        log.exception("Looking up %d unknown message(s) at %s raised", len(rows), provider.name)
        results = {row.uuid: LookupFailed(type(exc).__name__) for row in rows}
    return _settle(engine, rows, results, settings, now, resend_safe)


def _whose(provider_name: str, account_id: int | None) -> sa.ColumnElement[bool]:
    """The messages one gateway sent: an account's by its id (whatever gateway it names, as a
    demo's accounts all send through the sandbox), the default gateway's by its name."""
    if account_id is not None:
        return messages.c.account_id == account_id
    return sa.and_(messages.c.provider == provider_name, messages.c.account_id.is_(None))


def _take(
    engine: sa.Engine,
    provider_name: str,
    settings: ReconcileSettings,
    now: datetime,
    resend_safe: bool,
    limit: int,
    *,
    account_id: int | None = None,
) -> tuple[list[_Row], frozenset[str]]:
    """The due messages, each given its next lookup time first, so other workers skip them; and
    the gateway ids already recorded for their numbers (never to be matched to them)."""
    whose = _whose(provider_name, account_id)
    due = (
        sa.select(
            messages.c.id,
            messages.c.uuid,
            messages.c.reference,
            messages.c.to_e164,
            messages.c.body,
            messages.c.created_at,
            messages.c.updated_at,
            messages.c.attempts,
        )
        .where(
            messages.c.state == UNKNOWN,
            whose,
            messages.c.direction == "out",
            messages.c.superseded.is_(False),
            messages.c.updated_at <= now - settings.after,
            sa.or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now),
        )
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with engine.connect().execution_options(sqlite_immediate=True) as connection:
        with connection.begin():
            rows = [_Row(*row) for row in connection.execute(due)]
            if not rows:
                return [], frozenset()
            connection.execute(
                sa.update(messages)
                .where(messages.c.id == sa.bindparam("m_id"))
                # updated_at stays: it says since when the message has been unknown.
                .values(next_attempt_at=sa.bindparam("m_next"), updated_at=messages.c.updated_at),
                [
                    {"m_id": row.id, "m_next": _next_lookup(row, settings, now, resend_safe)}
                    for row in rows
                ],
            )
            taken = connection.execute(
                sa.select(messages.c.provider_message_id).where(
                    whose,
                    messages.c.to_e164.in_(sorted({row.to_e164 for row in rows})),
                    messages.c.provider_message_id.is_not(None),
                )
            ).scalars()
            return rows, frozenset(taken)


def _next_lookup(
    row: _Row, settings: ReconcileSettings, now: datetime, resend_safe: bool
) -> datetime:
    """Half as long again as it has been unknown, between `after` and `longest_wait`; for Twilio,
    never later than the moment it may be declared never created."""
    wait = min(max((now - row.updated_at) / 2, settings.after), settings.longest_wait)
    at = now + wait
    give_up_at = row.updated_at + settings.give_up
    if not resend_safe and now < give_up_at < at:
        at = give_up_at
    return at


def _settle(
    engine: sa.Engine,
    rows: list[_Row],
    results: dict[str, LookupResult],
    settings: ReconcileSettings,
    now: datetime,
    resend_safe: bool,
) -> Report:
    report = Report()
    still = sa.and_(
        messages.c.id == sa.bindparam("m_id"),
        messages.c.state == UNKNOWN,
        messages.c.attempts == sa.bindparam("m_attempts"),
    )
    with engine.connect().execution_options(sqlite_immediate=True) as connection:
        with connection.begin():
            for row in rows:
                result = results.get(row.uuid) or LookupFailed("The gateway did not say.")
                key = {"m_id": row.id, "m_attempts": row.attempts}
                if isinstance(result, Found):
                    report.found += connection.execute(
                        sa.update(messages).where(still).values(**_found_values(result, now)), key
                    ).rowcount
                elif isinstance(result, NotFound) and (
                    resend_safe or now - row.updated_at >= settings.give_up
                ):
                    report.queued_again += connection.execute(
                        sa.update(messages)
                        .where(still, messages.c.superseded.is_(False))
                        .values(**_queued_again_values(now)),
                        key,
                    ).rowcount
                else:
                    report.waiting += 1
    if report:
        log.info(
            "Reconciled unknown messages: %d found at the gateway, %d queued again, %d still "
            "unknown",
            report.found,
            report.queued_again,
            report.waiting,
        )
    return report


def _queued_again_values(now: datetime) -> dict:
    """The gateway does not hold it: back in the queue, due now, its last error cleared."""
    return {
        "state": QUEUED,
        "next_attempt_at": now,
        "error_code": None,
        "error_text": None,
        "lease_until": None,
        "updated_at": now,
    }


def _found_values(found: Found, now: datetime) -> dict:
    failed = found.state in ("failed", "undelivered")
    values: dict = {
        "state": found.state,
        "sent_at": sa.func.coalesce(messages.c.sent_at, now),
        "error_code": (found.error_code or "")[:20] or None if failed else None,
        "error_text": (found.error_text or "The gateway could not deliver it.")[:300]
        if failed
        else None,
        "lease_until": None,
        "updated_at": now,
    }
    if found.state == DELIVERED:
        values["delivered_at"] = now
    if outbox.gateway_id(found.provider_message_id):
        # Never an id another message already has (one row per gateway id: a unique index).
        values["provider_message_id"] = outbox.unclaimed_gateway_id(found.provider_message_id)
    return values
