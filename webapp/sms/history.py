"""A person's Communications History: the conversation (what we sent them and what they sent, in
one thread in time order), or either side alone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Batch, Candidate, ClientContact, Message, User
from webapp.models.base import utcnow
from webapp.models.messaging import QUEUED, SENDING
from webapp.people.kinds import KINDS
from webapp.sms.batches import may_see, team_ids
from webapp.users.offices import Team

SHOWN = 100
ALL, SENT, RECEIVED = "all", "sent", "received"
TABS = (ALL, SENT, RECEIVED)
_DIRECTION = {SENT: "out", RECEIVED: "in"}


@dataclass(frozen=True)
class Entry:
    """One message of the thread, with what the page says beside it."""

    message: Message
    sender_name: str | None  # outbound: the user who sent it
    batch_id: int | None  # outbound: its batch, only when the viewer may open that batch
    answers: Message | None  # inbound: the message it answers, when known
    replies: tuple[Message, ...] = ()  # outbound, on the Sent tab: the replies to it
    scheduled_for: datetime | None = None  # outbound: its batch waits to go then (Send later)
    quiet_until: datetime | None = None  # outbound, queued: held for the person's quiet hours
    # Inbound: the tab whose thread shows the message it answers (this one, or Sent), for a link
    # to it; None when neither does (too old, or another record's), and a link would find nothing.
    answers_tab: str | None = None

    @property
    def outbound(self) -> bool:
        return self.message.direction == "out"

    @property
    def at(self) -> datetime:
        """When the message left (the gateway took it; a reply, when it came), else when it was
        queued: the time its line shows, and the thread's order. One held for quiet hours leaves
        when they end, hours after it was queued (its created_at stays the queueing time)."""
        return self.message.sent_at or self.message.created_at


@dataclass(frozen=True)
class History:
    tab: str
    entries: list[Entry]  # oldest first, the latest SHOWN of them
    earlier: bool  # older messages exist than those shown

    @property
    def in_flight(self) -> bool:
        """Whether a message shown is on its way to the gateway now (its state is about to
        change). One scheduled for later, or held until the person's quiet hours end, is not: it
        may wait all night or for days, and the thread is not fetched again every few seconds for
        it."""
        return any(
            e.outbound
            and e.scheduled_for is None
            and e.quiet_until is None
            and e.message.state in (QUEUED, SENDING)
            for e in self.entries
        )


def for_person(
    session: so.Session,
    person: Candidate | ClientContact,
    viewer: User,
    tab: str = ALL,
    team: Team | None = None,
) -> History:
    """The latest SHOWN messages to and from `person` (one side only for the Sent and Received
    tabs), oldest first, as `viewer` may see them: a batch link only where the batch page would
    open for them (their `team`'s batches, when they are limited to one).

    Three queries at most, whatever the person's history: the messages with their batch's sender
    and their own sender's name (by the person's index on created_at), the messages replies answer
    that are not among them (with whether the Sent tab shows each), and on the Sent tab the
    replies to the messages shown.
    """
    tab = tab if tab in TABS else ALL
    person_column = KINDS.of(person).person_column
    query = _latest(person_column, _DIRECTION.get(tab))
    rows = session.execute(query, {"person_id": person.id}).all()
    earlier = len(rows) > SHOWN
    rows = rows[:SHOWN][::-1]
    shown = {message.id: message for message, _, _, _ in rows}
    inbound = [m for m in shown.values() if m.direction == "in"]
    answered = _answered(session, inbound, shown, person_column, person.id)
    column = getattr(Message, person_column)
    replies = _replies(session, column, person.id, list(shown)) if tab == SENT else {}
    entries, waiting = [], []
    # Read only when another's batch is shown (a query the record page otherwise saves).
    others = any(sender not in (None, viewer.id) for _, sender, _, _ in rows)
    members = team_ids(session, viewer, team) if others else None
    now = utcnow()
    for message, batch_sender_id, sender_name, scheduled_for in rows:
        if message.direction == "out":
            visible = message.batch_id is not None and may_see(viewer, batch_sender_id, members)
            entry = Entry(
                message,
                sender_name,
                message.batch_id if visible else None,
                None,
                tuple(replies.get(message.id, ())),
                scheduled_for,
                _held(message, now),
            )
            # Not yet gone, it comes after everything shown, in the order the batches go.
            (waiting if scheduled_for is not None else entries).append(entry)
        else:
            answers, on_sent = answered.get(message.in_reply_to_id, (None, False))
            if answers is not None and answers.id in shown:
                answers_tab = tab
            else:
                answers_tab = SENT if on_sent else None
            entries.append(Entry(message, None, None, answers, answers_tab=answers_tab))
    # Fetched by created_at (the person's index), shown by when each left: an SMS held overnight
    # for quiet hours comes after a reply that arrived while it waited. Only the page is sorted.
    entries.sort(key=lambda entry: entry.at)
    waiting.sort(key=lambda entry: (entry.scheduled_for, entry.message.id))
    return History(tab=tab, entries=entries + waiting, earlier=earlier)


def tab_showing(session: so.Session, person_column: str, message: Message) -> str:
    """The tab whose thread shows `message` of a person, for a link to it: All while it is among
    their latest SHOWN messages, else its own side's tab (Received for a reply), where fewer compete
    for the places; All again when it is too old even for that, the thread it belongs to."""
    column = getattr(Message, person_column)

    def newer(*where) -> int:
        """How many of the person's messages come before it on a tab, counted up to SHOWN."""
        ahead = (
            sa.select(Message.id)
            .where(
                column == getattr(message, person_column),
                Message.superseded.is_(False),
                sa.or_(
                    Message.created_at > message.created_at,
                    sa.and_(Message.created_at == message.created_at, Message.id > message.id),
                ),
                *where,
            )
            .limit(SHOWN)
            .subquery()
        )
        return session.scalar(sa.select(sa.func.count()).select_from(ahead))

    if newer() < SHOWN:
        return ALL
    if newer(Message.direction == message.direction) < SHOWN:
        return SENT if message.direction == "out" else RECEIVED
    return ALL


def _held(message: Message, now: datetime) -> datetime | None:
    """When a queued message's quiet-hours hold ends, while it is still ahead."""
    until = message.quiet_until
    return until if message.state == QUEUED and until is not None and until > now else None


@cache
def _latest(person_column: str, direction: str | None) -> sa.Select:
    """The statement of a person's latest messages (bound: person_id), built once for each kind
    of person and tab: building a statement and its cache key cost more than SQLite's running it
    (measured)."""
    column = getattr(Message, person_column)
    # The batch's send time while it waits to go (Send later), else nothing.
    waiting = sa.and_(
        Batch.send_at.is_not(None), Batch.released_at.is_(None), Batch.cancelled_at.is_(None)
    )
    scheduled_for = sa.case((waiting, Batch.send_at), else_=None)
    query = (
        sa.select(Message, Batch.sender_id, User.full_name, scheduled_for)
        .outerjoin(Batch, Batch.id == Message.batch_id)
        .outerjoin(User, User.id == Message.sender_id)
        .where(column == sa.bindparam("person_id"), Message.superseded.is_(False))
    )
    if direction is not None:
        query = query.where(Message.direction == direction)
    return query.order_by(Message.created_at.desc(), Message.id.desc()).limit(SHOWN + 1)


def _answered(
    session: so.Session,
    inbound: list[Message],
    shown: dict[int, Message],
    person_column: str,
    person_id: int,
) -> dict[int, tuple[Message, bool]]:
    """The messages these replies answer, by id, each with whether the Sent tab shows it (among
    the person's latest SHOWN sent): those shown already, and the rest in one query."""
    wanted = {m.in_reply_to_id for m in inbound if m.in_reply_to_id}
    found = {i: (shown[i], True) for i in wanted if i in shown}  # (linked on this tab)
    missing = wanted - found.keys()
    if missing:
        # An alias: the same table inside would be correlated with the outer query's.
        sent = so.aliased(Message)
        latest_sent = (
            sa.select(sent.id)
            .where(
                getattr(sent, person_column) == person_id,
                sent.superseded.is_(False),
                sent.direction == "out",
            )
            .order_by(sent.created_at.desc(), sent.id.desc())
            .limit(SHOWN)
        )
        rows = session.execute(
            sa.select(Message, Message.id.in_(latest_sent)).where(Message.id.in_(missing))
        )
        found.update({m.id: (m, bool(on_sent)) for m, on_sent in rows})
    return found


def _replies(session: so.Session, column, person_id: int, ids: list[int]) -> dict[int, list]:
    """The person's replies to these messages, by the id of the message each answers."""
    replies: dict[int, list[Message]] = defaultdict(list)
    if ids:
        for reply in session.scalars(
            sa.select(Message)
            .where(
                Message.in_reply_to_id.in_(ids),
                Message.direction == "in",
                column == person_id,
            )
            .order_by(Message.id)
        ):
            replies[reply.in_reply_to_id].append(reply)
    return replies
