"""The dashboard's figures: the last 30 days of outbound messages by final state, parts, failure
reasons, replies and opt-outs, per whole day in a time zone, for one sender, an office or everyone.

Messages are counted by the day they were queued (created_at) in the reader's zone; days are
bounded by webapp.times (DST-correct: a day may last 23 or 25 hours). Each query reads the window
once and puts each row in its day by arithmetic on its UTC seconds (SQLite has no time zones):
whole 24-hour days from the window's start, with the days the clocks change counted apart. That is
about twice as fast as a CASE over the 30 boundaries (measured on a million messages), and the
result holds at most a few thousand rows.

A message still `sent` RECEIPT_WAIT after it went is "sent, no receipt" and finished, as on the
batch page and in its CSV (webapp.sms.batches). A message is its batch's sender's, as on Sent and in
its CSV: a copy resent by a team leader too, though its sender_id is the leader's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import times
from webapp.models import AuditEvent, Batch, Message, User
from webapp.models.base import utcnow
from webapp.models.messaging import (
    DELIVERED,
    FAILED,
    OUTBOUND_ONLY,
    QUEUED,
    REJECTED,
    REPLIES_ONLY,
    SENDING,
    SENT,
    STATE_RANK,
    UNDELIVERED,
    UNKNOWN,
)
from webapp.sms import limits
from webapp.sms.batches import BAR_LABELS, NO_RECEIPT, RECEIPT_WAIT
from webapp.users.offices import Team

DAYS = 30
DAY_SECONDS = 86_400
TOP_REASONS = 8
OPTED_OUT = "consent.sms_withdrawn"
# The stack's order, bottom up, and each state's name on the page; `sending` counts as queued.
STATES = (
    (DELIVERED, "Delivered"),
    (NO_RECEIPT, BAR_LABELS[NO_RECEIPT].capitalize()),
    (SENT, BAR_LABELS[SENT].capitalize()),
    (UNKNOWN, "Unknown"),
    (UNDELIVERED, "Undelivered"),
    (REJECTED, "Rejected"),
    (FAILED, "Failed"),
    (QUEUED, "Still queued"),
)
STATE_NAMES = dict(STATES)
FINISHED = (DELIVERED, NO_RECEIPT, FAILED, REJECTED, UNDELIVERED, UNKNOWN)
FAILURES = (FAILED, REJECTED, UNDELIVERED)
NO_REASON = "No reason given"
OTHER = "Other reasons"
# By the error code webapp.sms.schedule gives the messages of a batch refused at its time.
_LIMIT_ERROR, _SENDER_ERROR = limits.NEVER_LEFT_CODES
NOT_SENT_AT_ITS_TIME = {
    _LIMIT_ERROR: "Not sent at its scheduled time: a daily limit was reached",
    _SENDER_ERROR: "Not sent at its scheduled time: its sender could no longer send",
}


@dataclass(frozen=True)
class Scope:
    """Whose sending the figures cover: one sender, an office's users, a team leader's team, or
    (all None) everyone. Messages count for their batch's sender; replies for the user they are
    addressed to; opt-outs for the sender of the message the STOP answered."""

    user_id: int | None = None
    office_id: int | None = None
    team: Team | None = None

    @property
    def everyone(self) -> bool:
        return self.user_id is None and self.office_id is None and self.team is None

    def conditions(self, sender: sa.ColumnElement) -> list[sa.ColumnElement]:
        """WHERE terms limiting the `sender` column (a user id) to this scope."""
        where = []
        if self.user_id is not None:
            where.append(sender == self.user_id)
        if self.office_id is not None:
            where.append(sender.in_(sa.select(User.id).where(User.office_id == self.office_id)))
        if self.team is not None:
            where.append(sender.in_(self.team.members()))
        return where

    def outbound(self, postgres: bool) -> list[list[sa.ColumnElement]]:
        """WHERE terms, a list for each branch of a UNION ALL, for the outbound messages of this
        scope's batches: those its users sent there, and those someone else resent there. Only a
        copy's sender_id may not be its batch's sender's: it is whoever resent it, whose daily
        limit it counts toward (webapp.sms.batches.resend, webapp.sms.limits)."""
        if self.everyone:
            return [[]]
        sent_by_them = sa.and_(*self.conditions(Message.sender_id))
        their_batches = sa.select(Batch.id).where(*self.conditions(Batch.sender_id))
        theirs = [
            sent_by_them,  # ix_messages_out_sender
            sa.or_(Message.resend_of_id.is_(None), Message.batch_id.in_(their_batches)),
        ]
        if postgres:
            # Its statistics lead it to the few copies there are (ix_messages_resend_of_id), or to
            # the window should they be many.
            copies = [Message.resend_of_id.is_not(None), Message.batch_id.in_(their_batches)]
        else:
            # With none, SQLite would read the whole window, or every message of their batches, to
            # find the copies. A copy's original is in its batch, superseded: ix_messages_batch_
            # state finds those (every state named: a few seeks a batch), and ix_messages_resend_
            # of_id their copies.
            original = so.aliased(Message)
            replaced = sa.select(original.id).where(
                original.batch_id.in_(their_batches),
                original.state.in_(tuple(STATE_RANK)),
                original.superseded.is_(True),
            )
            copies = [Message.resend_of_id.in_(replaced)]
        # NOT of a NULL sender's term is NULL: such a copy would fall out of both branches.
        not_by_them = sa.or_(Message.sender_id.is_(None), sa.not_(sent_by_them))
        return [theirs, [*copies, not_by_them]]


@dataclass
class Day:
    """One day's figures."""

    day: date
    states: Counter = field(default_factory=Counter)  # final state (or NO_RECEIPT) → messages
    parts: int = 0  # the parts of the messages that reached a gateway
    replies: int = 0
    opt_outs: int = 0

    @property
    def messages(self) -> int:
        return sum(self.states.values())

    @property
    def finished(self) -> int:
        return sum(self.states[state] for state in FINISHED)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered as a percentage of the finished messages (None when none finished)."""
        return rate(self.states[DELIVERED], self.finished)


@dataclass(frozen=True)
class Sender:
    """One user's share of the window: messages and the SMS parts they took."""

    user_id: int
    name: str
    messages: int
    parts: int  # of the messages that reached a gateway


@dataclass(frozen=True)
class Dashboard:
    days: list[Day]
    failures: list[tuple[str, int]]  # (reason, messages), most first, the tail as OTHER
    senders: list[Sender]  # most parts first
    start: datetime  # the window in UTC: [start, end)
    end: datetime

    def total(self, name: str) -> int:
        """A figure summed over the days: "messages", "parts", "replies", "opt_outs", "finished"."""
        return sum(getattr(day, name) for day in self.days)

    def state_total(self, state: str) -> int:
        return sum(day.states[state] for day in self.days)

    @property
    def delivery_rate(self) -> float | None:
        return rate(self.state_total(DELIVERED), self.total("finished"))

    def series(self, state: str) -> list[int]:
        """A state's messages per day, oldest day first."""
        return [day.states[state] for day in self.days]


def rate(part: int, whole: int) -> float | None:
    """`part` of `whole` as a percentage to one decimal place; None for nothing to divide. Some
    but not all is never 0.0 or 100.0: 2,999 delivered of 3,000 reads 99.9, not "100.0 %" with a
    failure behind it, and 1 of 2,500 reads 0.1, not "0.0 %" under a drawn column."""
    if not whole:
        return None
    shown = round(100 * part / whole, 1)
    return min(99.9, max(0.1, shown)) if 0 < part < whole else shown


def window(today: date, zone: tzinfo, days: int = DAYS) -> list[tuple[date, datetime]]:
    """The last `days` days up to `today`, each with the UTC moment it begins; the day after
    `today` begins where the window ends."""
    first = today - timedelta(days=days - 1)
    return [
        (first + timedelta(days=n), times.start_of(first + timedelta(days=n), zone))
        for n in range(days + 1)
    ]


def figures(
    session: so.Session,
    *,
    today: date,
    zone: tzinfo,
    scope: Scope,
    days: int = DAYS,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard for `scope` over the `days` whole days in `zone` ending with `today`; `now`
    (default: the clock) says which `sent` messages have waited too long for a receipt."""
    no_receipt_before = (now or utcnow()) - RECEIPT_WAIT
    bounds = window(today, zone, days)
    start, end = bounds[0][1], bounds[-1][1]
    by_day = [Day(day) for day, _ in bounds[:-1]]

    postgres = session.get_bind().dialect.name == "postgresql"

    def day_of(column) -> sa.ColumnElement:
        return day_index(column, [begins for _, begins in bounds], postgres)

    failing = Message.state.in_(FAILURES)
    reason_text = sa.case((failing, Message.error_text))
    reason_code = sa.case((failing, Message.error_code))
    day = day_of(Message.created_at).label("day")
    # The batch page's rule: it left (sent, else last changed) before the wait began.
    stale = sa.func.coalesce(Message.sent_at, Message.updated_at) < no_receipt_before
    shown = sa.case((sa.and_(Message.state == SENT, stale), NO_RECEIPT), else_=Message.state)
    shown = shown.label("shown")
    # Parts are billed when a gateway takes them: not those still queued or failed before one.
    billed = sa.case((Message.sent_at.is_not(None), Message.segments), else_=0)
    # A copy's batch, to find whose it is after (a few batches), rather than a join every row
    # would pay for.
    copy_of = sa.case((Message.resend_of_id.is_not(None), Message.batch_id)).label("copy_of")

    def grouped(where: list[sa.ColumnElement]) -> sa.Select:
        columns = (day, shown, Message.sender_id, copy_of, Message.superseded)
        columns += (reason_text, reason_code)
        return (
            sa.select(*columns, sa.func.count(), sa.func.coalesce(sa.func.sum(billed), 0))
            .where(
                sa.text(OUTBOUND_ONLY),
                Message.created_at >= start,
                Message.created_at < end,
                # Not a scheduled one still held for its time (queued, never due): it is queued,
                # and counts, on the day it goes, when its release dates it anew
                # (webapp.sms.schedule).
                sa.or_(Message.state != QUEUED, Message.next_attempt_at.is_not(None)),
                *where,
            )
            .group_by(*columns)
        )

    branches = [grouped(where) for where in scope.outbound(postgres)]
    statement = branches[0] if len(branches) == 1 else sa.union_all(*branches)
    rows = session.execute(statement).all()
    owners = _batch_senders(session, {row.copy_of for row in rows} - {None})
    reasons: Counter = Counter()
    sent_by: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for index, state, sender_id, copy_of, superseded, text, code, count, parts in rows:
        entry = by_day[index]
        sender_id = owners.get(copy_of, sender_id)
        # Every part sent costs, a resent message's too; its state counts only once, the copy's.
        entry.parts += parts
        sent_by[sender_id][1] += parts
        if superseded:
            continue
        entry.states[QUEUED if state == SENDING else state] += count
        sent_by[sender_id][0] += count
        if state in FAILURES:
            reasons[reason_label(text, code)] += count

    replies = day_of(Message.created_at).label("day")
    for index, count in session.execute(
        sa.select(replies, sa.func.count())
        .where(
            sa.text(REPLIES_ONLY),
            Message.created_at >= start,
            Message.created_at < end,
            *scope.conditions(Message.sender_id),
        )
        .group_by(replies)
    ):
        by_day[index].replies += count

    reply_id = AuditEvent.details["reply_id"].as_integer()
    query = sa.select(
        day_of(AuditEvent.created_at),
        reply_id,
        AuditEvent.details["message_uuid"].as_string(),
        AuditEvent.details["number"].as_string(),
        AuditEvent.created_at,
    ).where(
        AuditEvent.action == OPTED_OUT, AuditEvent.created_at >= start, AuditEvent.created_at < end
    )
    if not scope.everyone:
        # A STOP counts for the user whose message it answered; opt-outs with no reply behind
        # them (a gateway's opt-out list) belong to nobody's figures but everyone's.
        answered = sa.select(Message.id).where(
            sa.text(REPLIES_ONLY), *scope.conditions(Message.sender_id)
        )
        query = query.where(reply_id.in_(answered))
    counted = set()
    for index, reply, message_uuid, number, at in session.execute(query.order_by(AuditEvent.id)):
        key = opt_out_key(reply, message_uuid, number, at)
        if key not in counted:
            counted.add(key)
            by_day[index].opt_outs += 1

    return Dashboard(
        days=by_day,
        failures=top_reasons(reasons),
        senders=_senders(session, sent_by),
        start=start,
        end=end,
    )


def opt_out_key(
    reply_id: int | None, message_uuid: str | None, number: str | None, at: datetime
) -> tuple:
    """What one opt-out is, so it counts once: the number is withdrawn on every record that has it
    (webapp.sms.consent.set_for_number), an audit event each, for one STOP (its reply id) or one
    gateway refusal (its message); an event with neither counts once per number and minute."""
    if reply_id is not None:
        return ("reply", reply_id)
    if message_uuid:
        return ("message", message_uuid)
    return ("number", number, at.replace(second=0, microsecond=0))


def day_index(column, bounds: list[datetime], postgres: bool) -> sa.ColumnElement:
    """SQL for the index of the day (0 for the first) a moment in `column` falls in, `bounds`
    being the UTC moments the days begin (and the last one ends).

    Between clock changes every day is 86,400 s long, so a run of such days needs only a division;
    a 23- or 25-hour day is a run of its own. So the CASE has a branch or three, not thirty.
    """
    if postgres:
        seconds = sa.extract("epoch", column)
    else:
        # Not unixepoch(), which needs SQLite 3.38 (Ubuntu 22.04 has 3.37, RHEL 9 3.34). The
        # fraction is cut off the stored text ("YYYY-MM-DD HH:MM:SS.ffffff") first, as SQLite
        # would round 23:59:59.9996 up to the next day; the bounds being whole seconds, a moment
        # is before one exactly when its whole second is.
        whole_second = sa.func.substr(column, 1, 19)
        seconds = sa.cast(sa.func.strftime("%s", whole_second), sa.Integer)
    branches = []
    first = 0
    for n in range(len(bounds) - 1):
        last_of_run = n + 1 == len(bounds) - 1 or _length(bounds, n + 1) != _length(bounds, first)
        if _length(bounds, n) != DAY_SECONDS:
            branches.append((column < bounds[n + 1], sa.literal(n)))
            first = n + 1
        elif last_of_run:
            whole = (seconds - bounds[first].timestamp()) / DAY_SECONDS
            days = sa.func.floor(whole) if postgres else sa.cast(whole, sa.Integer)
            branches.append((column < bounds[n + 1], sa.cast(days, sa.Integer) + first))
            first = n + 1
    return sa.case(*branches)


def _length(bounds: list[datetime], n: int) -> float:
    """How long day `n` lasts, in seconds."""
    return (bounds[n + 1] - bounds[n]).total_seconds()


def reason_label(text: str | None, code: str | None) -> str:
    """A failure's reason as shown: the gateway's text, else its code, else NO_REASON; for a
    scheduled batch refused at its time, one label for each cause (its text names the batch's own
    numbers, and each batch would be a bar of its own)."""
    if code in NOT_SENT_AT_ITS_TIME:
        return NOT_SENT_AT_ITS_TIME[code]
    text, code = (text or "").strip(), (code or "").strip()
    if text and code:
        return f"{text} (code {code})"
    return text or (f"Code {code}" if code else NO_REASON)


def top_reasons(reasons: Counter, count: int = TOP_REASONS) -> list[tuple[str, int]]:
    """The `count` commonest reasons, most first (ties by name), then the rest summed as OTHER."""
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= count:
        return ordered
    return ordered[:count] + [(OTHER, sum(n for _, n in ordered[count:]))]


def _batch_senders(session: so.Session, batch_ids: set[int]) -> dict[int, int]:
    """Each batch's sender, by batch id."""
    if not batch_ids:
        return {}
    query = sa.select(Batch.id, Batch.sender_id).where(Batch.id.in_(batch_ids))
    return dict(session.execute(query).all())


def user_label() -> sa.ColumnElement[str]:
    """SQL for a user's name as the dashboard shows it: their full name, with their username in
    brackets when another user has the same name ("Casey Consultant (casey2)"), so two of them
    can be told apart. Which names are shared is read once per statement, not once per row."""
    shared = sa.select(User.full_name).group_by(User.full_name).having(sa.func.count() > 1)
    with_username = User.full_name + " (" + User.username + ")"
    return sa.case((User.full_name.in_(shared), with_username), else_=User.full_name)


def _senders(session: so.Session, sent_by: dict[int | None, list[int]]) -> list[Sender]:
    ids = [user_id for user_id in sent_by if user_id is not None]
    rows = session.execute(sa.select(User.id, user_label()).where(User.id.in_(ids)))
    names = {user_id: name for user_id, name in rows}
    people = [
        Sender(user_id or 0, names.get(user_id, "No sender") if user_id else "No sender", *counts)
        for user_id, counts in sent_by.items()
    ]
    return sorted(people, key=lambda s: (-s.parts, s.name))
