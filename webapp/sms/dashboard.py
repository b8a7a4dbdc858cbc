"""The dashboard's figures: the last 30 days of outbound messages by final state, parts, failure
reasons, replies and opt-outs, per whole day in a time zone, for one sender, an office or everyone.

Messages are counted by the day they were queued (created_at) in the reader's zone; days are
bounded by webapp.times (DST-correct: a day may last 23 or 25 hours). Each query reads the window
once and puts each row in its day by arithmetic on its UTC seconds (SQLite has no time zones):
whole 24-hour days from the window's start, with the days the clocks change counted apart. That is
about twice as fast as a CASE over the 30 boundaries (measured on a million messages), and the
result holds at most a few thousand rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import times
from webapp.models import AuditEvent, Message, User
from webapp.models.messaging import (
    DELIVERED,
    FAILED,
    OUTBOUND_ONLY,
    QUEUED,
    REJECTED,
    REPLIES_ONLY,
    SENDING,
    SENT,
    UNDELIVERED,
    UNKNOWN,
)
from webapp.users.offices import Team

DAYS = 30
DAY_SECONDS = 86_400
TOP_REASONS = 8
OPTED_OUT = "consent.sms_withdrawn"
# The stack's order, bottom up, and each state's name on the page; `sending` counts as queued.
STATES = (
    (DELIVERED, "Delivered"),
    (SENT, "Sent, awaiting receipt"),
    (UNKNOWN, "Unknown"),
    (UNDELIVERED, "Undelivered"),
    (REJECTED, "Rejected"),
    (FAILED, "Failed"),
    (QUEUED, "Still queued"),
)
STATE_NAMES = dict(STATES)
FINISHED = (DELIVERED, FAILED, REJECTED, UNDELIVERED, UNKNOWN)
FAILURES = (FAILED, REJECTED, UNDELIVERED)
NO_REASON = "No reason given"
OTHER = "Other reasons"


@dataclass(frozen=True)
class Scope:
    """Whose sending the figures cover: one sender, an office's users, a team leader's team, or
    (all None) everyone. Replies count for the user they are addressed to; opt-outs for the sender
    of the message the STOP answered."""

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


@dataclass
class Day:
    """One day's figures."""

    day: date
    states: Counter = field(default_factory=Counter)  # final state → messages
    parts: int = 0
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
    parts: int


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
    """`part` of `whole` as a percentage to one decimal place; None for nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def window(today: date, zone: tzinfo, days: int = DAYS) -> list[tuple[date, datetime]]:
    """The last `days` days up to `today`, each with the UTC moment it begins; the day after
    `today` begins where the window ends."""
    first = today - timedelta(days=days - 1)
    return [
        (first + timedelta(days=n), times.start_of(first + timedelta(days=n), zone))
        for n in range(days + 1)
    ]


def figures(
    session: so.Session, *, today: date, zone: tzinfo, scope: Scope, days: int = DAYS
) -> Dashboard:
    """The dashboard for `scope` over the `days` whole days in `zone` ending with `today`."""
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
    rows = session.execute(
        sa.select(
            day,
            Message.state,
            Message.sender_id,
            Message.superseded,
            reason_text,
            reason_code,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Message.segments), 0),
        )
        .where(
            sa.text(OUTBOUND_ONLY),
            Message.created_at >= start,
            Message.created_at < end,
            *scope.conditions(Message.sender_id),
        )
        .group_by(
            day,
            Message.state,
            Message.sender_id,
            Message.superseded,
            reason_text,
            reason_code,
        )
    )
    reasons: Counter = Counter()
    sent_by: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for index, state, sender_id, superseded, text, code, count, parts in rows:
        entry = by_day[index]
        # Every part sent costs, a resent message's too; its state counts only once, the copy's.
        entry.parts += parts
        sent_by[sender_id][1] += parts
        if superseded:
            continue
        shown = QUEUED if state == SENDING else state
        entry.states[shown] += count
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

    opted = day_of(AuditEvent.created_at).label("day")
    query = sa.select(opted, sa.func.count()).where(
        AuditEvent.action == OPTED_OUT, AuditEvent.created_at >= start, AuditEvent.created_at < end
    )
    if not scope.everyone:
        # A STOP counts for the user whose message it answered; opt-outs with no reply behind
        # them (a gateway's opt-out list) belong to nobody's figures but everyone's.
        answered = sa.select(Message.id).where(
            sa.text(REPLIES_ONLY), *scope.conditions(Message.sender_id)
        )
        query = query.where(AuditEvent.details["reply_id"].as_integer().in_(answered))
    for index, count in session.execute(query.group_by(opted)):
        by_day[index].opt_outs += count

    return Dashboard(
        days=by_day,
        failures=top_reasons(reasons),
        senders=_senders(session, sent_by),
        start=start,
        end=end,
    )


def day_index(column, bounds: list[datetime], postgres: bool) -> sa.ColumnElement:
    """SQL for the index of the day (0 for the first) a moment in `column` falls in, `bounds`
    being the UTC moments the days begin (and the last one ends).

    Between clock changes every day is 86,400 s long, so a run of such days needs only a division;
    a 23- or 25-hour day is a run of its own. So the CASE has a branch or three, not thirty.
    """
    if postgres:
        seconds = sa.extract("epoch", column)
    else:
        seconds = sa.func.unixepoch(column)
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
    """A failure's reason as shown: the gateway's text, else its code, else NO_REASON."""
    text, code = (text or "").strip(), (code or "").strip()
    if text and code:
        return f"{text} (code {code})"
    return text or (f"Code {code}" if code else NO_REASON)


def top_reasons(reasons: Counter, count: int = TOP_REASONS) -> list[tuple[str, int]]:
    """The `count` commonest reasons, most first (ties by name), the rest summed as OTHER."""
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= count:
        return ordered
    return ordered[: count - 1] + [(OTHER, sum(n for _, n in ordered[count - 1 :]))]


def _senders(session: so.Session, sent_by: dict[int | None, list[int]]) -> list[Sender]:
    ids = [user_id for user_id in sent_by if user_id is not None]
    rows = session.execute(sa.select(User.id, User.full_name).where(User.id.in_(ids)))
    names = {user_id: name for user_id, name in rows}
    people = [
        Sender(user_id or 0, names.get(user_id, "No sender") if user_id else "No sender", *counts)
        for user_id, counts in sent_by.items()
    ]
    return sorted(people, key=lambda s: (-s.parts, s.name))
