"""The Replies inbox: replies to a user's messages (or everyone's), newest first, each read or
unread, and the unread count the navigation shows.

A reply belongs to the consultant who sent the message it answers (its sender_id): only they
make it read by opening it, so a team leader looking through everyone's replies never hides one
from the consultant it was meant for. Marking read or unread is deliberate, by anyone who sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import database
from webapp.models import Message, User
from webapp.models.base import utcnow
from webapp.models.messaging import REPLIES_ONLY, UNREAD_ONLY
from webapp.people.kinds import KINDS, Kind
from webapp.users.offices import Team

PAGE_SIZE = 50
# The furthest page read, as on Sent and the audit log: 500,000 replies back.
MAX_PAGE = 10_000


# Literal SQL with the very terms of the partial indexes' WHERE (messaging.REPLIES_ONLY): SQLite
# uses a partial index only when the query states them, and not as bound parameters.
REPLY = sa.text(f"messages.{REPLIES_ONLY}")
UNREAD = sa.text(f"messages.{UNREAD_ONLY.replace('read_at', 'messages.read_at')}")


# Who has the Sent and Replies pages: whoever sends SMS, or may look at everyone's (any one).
PAGE_PERMISSIONS = ("sms.send", "audit.view")


# Built once: every page with the navigation runs it.
_UNREAD_COUNT = (
    sa.select(sa.func.count())
    .select_from(Message)
    .where(Message.sender_id == sa.bindparam("user_id"), UNREAD)
)


def unread_count(session: so.Session, user_id: int) -> int:
    """How many replies to this user's messages are unread: one probe of a partial index that
    holds only unread replies."""
    return database.read(session, _UNREAD_COUNT, {"user_id": user_id}).scalar() or 0


class ReplyRow(NamedTuple):
    """A reply as its inbox row shows it, read as a plain row: a page of replies loaded as ORM
    objects cost more than the rest of the page's reading (measured)."""

    id: int
    created_at: datetime
    from_e164: str
    body: str
    read_at: datetime | None
    candidate_id: int | None
    contact_id: int | None


_REPLY_COLUMNS = tuple(getattr(Message, name) for name in ReplyRow._fields)
_REPLY_WIDTH = len(_REPLY_COLUMNS)


@dataclass(frozen=True)
class InboxRow:
    """One reply as the inbox shows it."""

    reply: ReplyRow
    person_name: str | None
    kind: Kind | None  # the person's kind; None when the reply is on no record
    answered: str | None  # the text of the message it answers
    addressee: str | None  # the full name of the consultant it is addressed to

    @property
    def unread(self) -> bool:
        return self.reply.read_at is None

    @property
    def person_id(self) -> int | None:
        return getattr(self.reply, self.kind.person_column) if self.kind else None


@dataclass(frozen=True)
class Page:
    rows: list[InboxRow]
    page: int
    has_next: bool


def search(
    session: so.Session, user_id: int | None, page: int = 1, *, team: Team | None = None
) -> Page:
    """One page of replies newest first: to `user_id`'s messages, or everyone's (None; only the
    `team`'s when given), where everyone's leaves out the replies no record matched (they have
    their own page)."""
    if page > MAX_PAGE:
        # Past any inbox (an address typed): said to be empty, without an offset PostgreSQL's
        # integers cannot hold.
        return Page(rows=[], page=page, has_next=False)
    mine = user_id is not None
    rows = session.execute(
        _page_query(mine, None if mine else team),
        {"user_id": user_id, "offset": (page - 1) * PAGE_SIZE, "limit": PAGE_SIZE + 1},
    ).all()
    return Page(
        rows=[_inbox_row(row) for row in rows[:PAGE_SIZE]],
        page=page,
        has_next=len(rows) > PAGE_SIZE,
    )


def _inbox_row(row: sa.Row) -> InboxRow:
    reply = ReplyRow._make(row[:_REPLY_WIDTH])
    name, answered, addressee = row[_REPLY_WIDTH:]
    return InboxRow(reply, name, kind_of(reply), answered, addressee)


def page_of(
    session: so.Session, reply: Message, user_id: int | None, *, team: Team | None = None
) -> int | None:
    """The page of search() (the same `user_id` and `team`) that shows `reply` now: replies come
    in after a page is drawn and push it onto later ones. None when that list does not hold it,
    or holds it past MAX_PAGE."""
    mine = user_id is not None
    whose = _whose(mine, None if mine else team)
    params = {"user_id": user_id}
    listed = sa.select(Message.id).where(Message.id == reply.id, REPLY, *whose)
    if session.scalar(listed, params) is None:
        return None
    # Before it in the list's order (_page_query's newest_first): newer, or as new with a higher id.
    before = sa.or_(
        Message.created_at > reply.created_at,
        sa.and_(Message.created_at == reply.created_at, Message.id > reply.id),
    )
    # Counted no further than the last page: one past it is as good as all of them.
    first_ones = sa.select(Message.id).where(REPLY, *whose, before).limit(MAX_PAGE * PAGE_SIZE)
    ahead = session.scalar(sa.select(sa.func.count()).select_from(first_ones.subquery()), params)
    page = (ahead or 0) // PAGE_SIZE + 1
    return page if page <= MAX_PAGE else None


def _whose(mine: bool, team: Team | None) -> list:
    """The conditions of whose replies an inbox lists (with a `user_id` parameter when `mine`)."""
    if mine:
        return [Message.sender_id == sa.bindparam("user_id")]
    whose = [sa.or_(Message.candidate_id.is_not(None), Message.contact_id.is_not(None))]
    if team is not None:
        whose.append(Message.sender_id.in_(team.members()))
    return whose


@lru_cache(maxsize=64)
def _page_query(mine: bool, team: Team | None) -> sa.Select:
    """The statement of an inbox page, built once for each whose-replies it lists: building it
    (two aliases adapted to the page's subquery) cost a fifth of the page's CPU."""
    whose = _whose(mine, team)
    # page_of counts the replies before one in this order: the two change together.
    newest_first = (Message.created_at.desc(), Message.id.desc())
    # The page's ids first; names and answered messages then only for them (PostgreSQL otherwise
    # looked them up for every row it skipped on the way to page 20 too).
    shown = (
        sa.select(Message.id)
        .where(REPLY, *whose)
        .order_by(*newest_first)
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery()
    )
    answered = so.aliased(Message)
    addressee = so.aliased(User)
    return (
        sa.select(*_REPLY_COLUMNS, _person_name(), answered.body, addressee.full_name)
        .join(shown, shown.c.id == Message.id)
        .outerjoin(answered, answered.id == Message.in_reply_to_id)
        .outerjoin(addressee, addressee.id == Message.sender_id)
        .order_by(*newest_first)
    )


def _person_name():
    """The full name of the reply's candidate or contact, as a column of the inbox query."""
    return sa.case(
        *[
            (
                getattr(Message, kind.person_column).is_not(None),
                sa.select(kind.model.first_name + " " + kind.model.last_name)
                .where(kind.model.id == getattr(Message, kind.person_column))
                .scalar_subquery(),
            )
            for kind in KINDS
        ],
        else_=sa.null(),
    )


def kind_of(reply: Message | ReplyRow) -> Kind | None:
    """The kind of person the reply is filed on; None when it is on no record."""
    for kind in KINDS:
        if getattr(reply, kind.person_column):
            return kind
    return None


def visible_reply(
    session: so.Session, reply_id: int, user: User, team: Team | None = None
) -> Message | None:
    """The reply if this user may see it in the inbox: it answers their message, or they may see
    everyone's (audit.view) — only their `team`'s, when given."""
    reply = session.get(Message, reply_id)
    if reply is None or reply.direction != "in":
        return None
    if reply.sender_id != user.id and not user.can("audit.view"):
        return None
    if reply.sender_id != user.id and team is not None:
        member = session.scalar(team.members().where(User.id == reply.sender_id))
        if member is None:
            return None
    return reply


def mark(session: so.Session, reply: Message, read: bool, now: datetime | None = None) -> None:
    """Mark a reply read (keeping when it was first read) or unread again."""
    if read and reply.read_at is None:
        reply.read_at = now or utcnow()
    elif not read:
        reply.read_at = None
    session.commit()


def opened(session: so.Session, reply: Message, user: User, now: datetime | None = None) -> None:
    """The user opened the reply: read, when it is addressed to them."""
    if reply.sender_id == user.id and reply.read_at is None:
        mark(session, reply, True, now)
