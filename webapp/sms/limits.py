"""Sending limits: how many messages a user, and the whole organisation, may send in any rolling
24 hours, and the check that refuses a Send (or a resend) that would pass either."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import settings_store, times
from webapp.database import is_sqlite
from webapp.errors import FieldError
from webapp.models import Message, Role, Setting, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import FAILED, OUTBOUND_ONLY, QUEUED
from webapp.settings_store import whole_number

# "Daily" is any rolling 24 hours, not a calendar day: a limit cannot be doubled by sending just
# before and just after midnight.
WINDOW = timedelta(hours=24)
ROLE_LIMITS_KEY = "role_daily_limits"  # {role name: limit} (the Settings page)
ORGANISATION_LIMIT_KEY = "org_daily_limit"  # a whole number; absent: no organisation cap
# Users.daily_limit is a 32-bit integer; no organisation sends near this in a day.
MAX_LIMIT = 10_000_000
# pg_advisory_xact_lock(class, key): the class is ours alone; the key is the sender's user id for
# the user limit, 0 (no user has it) for the organisation cap.
LOCK_CLASS = 1_919
ORGANISATION_KEY = 0
REFUSED = 429  # Too Many Requests: the form shows the message; a later Send may pass
HOW_COUNTED = "(limits count any 24 hours)"


@dataclass(frozen=True)
class LimitSettings:
    """What the environment says: SMS_DAILY_LIMIT, the default when no role has one (None: none)."""

    default: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LimitSettings:
        return cls(config.get("SMS_DAILY_LIMIT") or None)


@dataclass(frozen=True)
class DailyLimit:
    """A user's limit and where it comes from: "user" (their own), "role" (the highest default
    of their roles), "server" (SMS_DAILY_LIMIT) or "none"."""

    limit: int | None
    source: str


def parse_limit(text: str | None, field: str = "daily_limit") -> int | None:
    """A limit as typed: empty is None (the next default applies), else a whole number from 0 to
    MAX_LIMIT ("1,000" and "1 000" too). 0 means no limit."""
    return whole_number(
        text,
        field,
        MAX_LIMIT,
        f"Enter a whole number of messages from 0 to {MAX_LIMIT:,} (0: no limit), "
        "or leave it empty.",
    )


def _stored(session: so.Session, key: str) -> Any:
    row = session.get(Setting, key)
    return None if row is None else row.value


def role_limits(session: so.Session) -> dict[str, int]:
    """Each role's default limit ({name: limit}); roles without one are absent."""
    stored = _stored(session, ROLE_LIMITS_KEY) or {}
    return {name: int(limit) for name, limit in stored.items() if limit is not None}


def organisation_limit(session: so.Session) -> int | None:
    """The organisation's cap on messages in any 24 hours; None (or a stored 0): none."""
    return _stored(session, ORGANISATION_LIMIT_KEY) or None


def role_default(session: so.Session, user: User, settings: LimitSettings) -> DailyLimit:
    """What a user without a limit of their own gets: the highest default among their roles (0,
    no limit, is the highest of all), else SMS_DAILY_LIMIT."""
    defaults = role_limits(session)
    found = [defaults[role.name] for role in user.roles if role.name in defaults]
    if found:
        limit = 0 if 0 in found else max(found)
        return DailyLimit(limit or None, "role")
    if settings.default:
        return DailyLimit(settings.default, "server")
    return DailyLimit(None, "none")


def daily_limit(session: so.Session, user: User, settings: LimitSettings) -> DailyLimit:
    """The user's limit: their own (0: none), else their roles' default (see role_default)."""
    if user.daily_limit is not None:
        return DailyLimit(user.daily_limit or None, "user")
    return role_default(session, user, settings)


# Error codes of scheduled messages failed at their release (webapp.sms.schedule): they never
# reached a gateway, so they are not sent messages.
NEVER_LEFT_CODES = ("limit", "sender")


def _outbound_since(since: datetime):
    # The literal condition, so SQLite (which will not match a parameter) uses the partial indexes.
    return sa.select(sa.func.count()).where(sa.text(OUTBOUND_ONLY), Message.created_at >= since)


def _not_going(since: datetime):
    """Outbound messages since `since` that do not count: held for a scheduled time (queued with
    no next_attempt_at) or failed at their release. Both have no next_attempt_at, which normal
    traffic always has, so ix_messages_claim finds these few without reading the others.

    No condition on the direction (only outbound messages are ever held or failed at release):
    with it, the planners may take a partial index on the direction and read every message of
    the 24 hours to find these."""
    return sa.select(sa.func.count()).where(Message.created_at >= since, _held())


def _held() -> sa.ColumnElement[bool]:
    """A message held for a scheduled time (queued with no next_attempt_at) or failed at its
    release."""
    return sa.and_(
        Message.next_attempt_at.is_(None),
        sa.or_(
            Message.state == QUEUED,
            sa.and_(Message.state == FAILED, Message.error_code.in_(NEVER_LEFT_CODES)),
        ),
    )


def _leaving(session: so.Session, query_for: Any, since: datetime, nth: int) -> datetime | None:
    """When the `nth` (from 1) oldest message the counts since `since` include leaves them (24
    hours after it was sent): from then, `nth` more fit. None when there are fewer."""
    # NULL (a failed message without an error code) is not held: coalesced, or NOT would drop it.
    going = sa.not_(sa.func.coalesce(_held(), False))
    query = query_for(
        sa.select(Message.created_at).where(
            sa.text(OUTBOUND_ONLY), Message.created_at >= since, going
        )
    )
    sent = session.scalar(query.order_by(Message.created_at).offset(nth - 1).limit(1))
    if sent is None:
        return None
    if sent.tzinfo is None:  # SQLite gives naive UTC
        sent = sent.replace(tzinfo=UTC)
    return sent + WINDOW


def _counted(query_for: Any, since: datetime) -> sa.Select:
    """All outbound messages since `since` (the partial index alone) less those not going."""
    everything = query_for(_outbound_since(since)).scalar_subquery()
    not_going = query_for(_not_going(since)).scalar_subquery()
    return sa.select(everything - not_going)


def sent_by(session: so.Session, user_id: int, since: datetime) -> int:
    """Outbound messages `user_id` sent since `since` (ix_messages_out_sender), not counting
    those held for a later time or refused at it."""
    return session.scalar(_counted(lambda q: q.where(Message.sender_id == user_id), since)) or 0


def sent_by_everyone(session: so.Session, since: datetime) -> int:
    """Outbound messages anyone sent since `since` (ix_messages_out_created), not counting those
    held for a later time or refused at it."""
    return session.scalar(_counted(lambda q: q, since)) or 0


@dataclass(frozen=True)
class Allowance:
    """What a user may still send now: their limit, what they sent in the last 24 hours, and the
    organisation's cap and use, for their profile."""

    limit: DailyLimit
    used: int
    organisation_limit: int | None = None
    organisation_used: int = 0

    @property
    def left(self) -> int | None:
        if self.limit.limit is None:
            return None
        return max(self.limit.limit - self.used, 0)

    @property
    def organisation_left(self) -> int | None:
        if self.organisation_limit is None:
            return None
        return max(self.organisation_limit - self.organisation_used, 0)


def allowance(
    session: so.Session, user: User, settings: LimitSettings, now: datetime | None = None
) -> Allowance:
    since = (now or utcnow()) - WINDOW
    cap = organisation_limit(session)
    return Allowance(
        daily_limit(session, user, settings),
        sent_by(session, user.id, since),
        cap,
        sent_by_everyone(session, since) if cap is not None else 0,
    )


def _lock(session: so.Session, key: int) -> None:
    """Hold a transaction-long lock on PostgreSQL, so the count and the insert after it are one
    step for every Send under the same limit. (SQLite: the caller holds the write lock already.)"""
    if not is_sqlite(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_CLASS, key)))


def _people(count: int, resend: bool) -> str:
    if resend:
        return f"This resend is {count:,} message{'s' if count != 1 else ''}"
    return f"This SMS is for {count:,} {'person' if count == 1 else 'people'}"


def _left(left: int) -> str:
    return f"{left:,}" if left else "none"


@dataclass(frozen=True)
class Refusal:
    """Why `count` more messages may not go: the sentence for the sender, and the details the
    audit event records."""

    message: str
    details: dict[str, Any]


def _at(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """ "2:35 pm AEDT" today in `zone`, else "8 Dec 2026, 2:35 pm AEDT"."""
    full = times.when(moment, zone)
    if moment.astimezone(zone).date() == now.astimezone(zone).date():
        return full.split(", ", 1)[1]
    return full


def _what_to_do(left: int, again: str | None, *, resend: bool, whose: str) -> str:
    """What the sender can do about a refusal: fewer people, a later time, a higher limit."""
    ways = []
    if left and not resend:
        ways.append(f"choose {left:,} {'person' if left == 1 else 'people'} or fewer")
    if again is not None:
        ways.append(f"{'resend' if resend else 'send'} it from {again}")
    raise_it = f"an administrator can raise {whose} limit"
    if not ways:
        return f"A{raise_it[1:]}."
    return f"You can {' or '.join(ways)}, or {raise_it}."


def refusal(
    session: so.Session,
    sender: User,
    count: int,
    settings: LimitSettings,
    *,
    resend: bool = False,
    now: datetime | None = None,
    batch_id: int | None = None,
    zone: tzinfo | None = None,
    scheduled: bool = False,
) -> Refusal | None:
    """What `check` refuses, without refusing: None when `count` more messages from `sender`
    fit both the sender's daily limit and the organisation's.

    `batch_id`: a scheduled batch being released, whose own held messages are already among the
    counted (queued when it was scheduled) and must not be counted twice. Takes the same locks
    as `check`.

    `scheduled`: the messages are held for a later time, when the limits are checked again
    (webapp.sms.schedule): what was sent lately does not count now, and only a batch larger than
    a limit itself (it could never go whole) is refused.

    `zone` (the sender's): the refusal also says from when the messages would fit, in it.
    """
    limit = daily_limit(session, sender, settings)
    cap = organisation_limit(session)
    if limit.limit is None and cap is None:
        return None
    now = now or utcnow()
    since = now - WINDOW
    own = _own(session, batch_id, since)
    for scope, most in (("user", limit.limit), ("organisation", cap)):
        if most is None:
            continue
        mine = scope == "user"
        # Always the user's lock before the organisation's: no deadlock.
        _lock(session, sender.id if mine else ORGANISATION_KEY)
        if mine:
            query_for = lambda q: q.where(Message.sender_id == sender.id)  # noqa: E731
        else:
            query_for = lambda q: q  # noqa: E731
        used = 0 if scheduled else (session.scalar(_counted(query_for, since)) or 0) - own
        left = max(most - used, 0)
        if count <= left:
            continue
        again = None
        if zone is not None and count <= most and not scheduled:
            # Enough of those counted must leave the 24 hours for `count` more to fit.
            moment = _leaving(session, query_for, since, used - (most - count) + own)
            again = None if moment is None else _at(moment, now, zone)
        whose = "your" if mine else "the organisation's"
        if scheduled:
            said = (
                f"{_people(count, resend)}, but {whose} daily limit is {most:,}, so it could "
                "never go whole."
            )
        elif mine:
            said = (
                f"{_people(count, resend)}, but your daily limit is {most:,} and you have "
                f"{_left(left)} left {HOW_COUNTED}."
            )
        else:
            said = (
                f"{_people(count, resend)}, but the organisation's daily limit is {most:,} and "
                f"{_left(left)} {'is' if left == 1 else 'are'} left {HOW_COUNTED}."
            )
        if zone is not None or scheduled:
            said += " " + _what_to_do(left, again, resend=resend, whose=whose)
        details = dict(scope=scope, limit=most, used=used, left=left, requested=count)
        if mine:
            details = dict(scope=scope, source=limit.source) | details
        return Refusal(
            said, details | dict(resend=resend) | (dict(scheduled=True) if scheduled else {})
        )
    return None


def _own(session: so.Session, batch_id: int | None, since: datetime) -> int:
    """The messages of `batch_id` the counts since `since` include (0 for no batch)."""
    if batch_id is None:
        return 0
    return session.scalar(_counted(lambda q: q.where(Message.batch_id == batch_id), since)) or 0


def check(
    session: so.Session,
    sender: User,
    count: int,
    settings: LimitSettings,
    *,
    resend: bool = False,
    now: datetime | None = None,
    zone: tzinfo | None = None,
    scheduled: bool = False,
) -> None:
    """Refuse (429) `count` more messages from `sender` when they would pass the sender's daily
    limit or the organisation's; the refusal is audited (committed, everything else rolled back).

    Call it in the transaction that then writes the messages, after `begin_write` (SQLite holds
    the write lock from there): on PostgreSQL it takes advisory locks held to the commit, so two
    Sends at once cannot both pass on the same count.
    """
    refused = refusal(
        session, sender, count, settings, resend=resend, now=now, zone=zone, scheduled=scheduled
    )
    if refused is not None:
        _refuse(session, sender, refused.message, **refused.details)


def _refuse(session: so.Session, sender: User, message: str, **details: Any) -> None:
    # Nothing of the Send is kept, but the refusal is: a stolen account probing its limit shows.
    session.rollback()
    audit(session, sender, "sms.limit_refused", sender, **details)
    session.commit()
    raise FieldError(message, "form", REFUSED)


# --- changing the limits (the admin pages) -------------------------------------------------------


def set_user_limit(session: so.Session, actor: User | None, user: User, limit: int | None) -> bool:
    """Give `user` a limit of their own (None: their roles' default again); audited. True when it
    changed. Commits."""
    if user.daily_limit == limit:
        return False
    audit(
        session,
        actor,
        "user.daily_limit_changed",
        user,
        username=user.username,
        old=user.daily_limit,
        new=limit,
    )
    user.daily_limit = limit
    session.commit()
    return True


@dataclass(frozen=True)
class StoredLimits:
    """The limits as the Settings page edits them: the organisation cap and each role's default."""

    organisation: int | None
    roles: dict[str, int]


def stored_limits(session: so.Session) -> StoredLimits:
    return StoredLimits(_stored(session, ORGANISATION_LIMIT_KEY), role_limits(session))


def save_limits(
    session: so.Session,
    actor: User | None,
    organisation: str | None,
    roles: Mapping[str, str | None],
) -> dict[str, list[Any]]:
    """Store the organisation cap and the role defaults as typed (see parse_limit; empty removes
    one); returns {what: [old, new]} for what changed, audited together. Commits."""
    cap = parse_limit(organisation, "org_daily_limit") or None  # 0 and empty alike: no cap
    known = set(session.scalars(sa.select(Role.name)))
    wanted: dict[str, int] = {}
    for name, text in roles.items():
        if name not in known:
            raise FieldError(f"There is no role “{name}”.")
        value = parse_limit(text, f"role-{name}")
        if value is not None:
            wanted[name] = value
    before = stored_limits(session)
    # Roles not on the form keep theirs (a role added since the page was opened).
    merged = {name: limit for name, limit in before.roles.items() if name not in roles} | wanted
    return settings_store.save(
        session,
        actor,
        {ORGANISATION_LIMIT_KEY: cap, ROLE_LIMITS_KEY: merged},
        {ORGANISATION_LIMIT_KEY: before.organisation, ROLE_LIMITS_KEY: before.roles},
    )
