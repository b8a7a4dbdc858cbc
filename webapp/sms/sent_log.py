"""The Sent page read from the database: a user's batches (or everyone's) newest first, filtered
by date, state and text, each with its message counts by state.

A batch's date here is when it went (Batch.went_at): a scheduled one's release, as the dashboard
counts its messages, or while it waits (or once cancelled) the time it is or was due."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import database
from webapp.filters import date_range, day_bounds, page_number, read_text, zone_field
from webapp.models import Batch, Message, User
from webapp.models.base import utcnow
from webapp.models.messaging import is_scheduled
from webapp.sms.batches import BAR_ORDER, NO_RECEIPT, STATE_ORDER
from webapp.sms.dashboard import user_label
from webapp.text import as_stored
from webapp.users.offices import Team

PAGE_SIZE = 25
MAX_PAGE = 10_000
MAX_TEXT = 200
FIRST_WORDS = 8
EVERYONE = "everyone"  # the `who` value that asks for everyone's batches (audit.view only)
# The worker releases a scheduled batch at its first poll after its time (every second, see
# DispatchSettings.poll_seconds; a failing release waits up to max_backoff, a minute): released
# later than this after it, the worker was held up (down, say), and Sent says it went late.
RELEASED_LATE = timedelta(minutes=1)
# The batch page's bar order; a list of batches does not split "sent" by the receipt wait.
BAR_STATES = tuple(state for state in BAR_ORDER if state != NO_RECEIPT)
LABELS = {
    "date_from": "Sent from",
    "date_to": "Sent to",
    "state": "State",
    "text": "Message or template",
    "page": "Page",
}


@dataclass(frozen=True)
class Filters:
    """What the Sent page asks for; empty means "any". Dates are whole days in `zone`."""

    date_from: date | None = None
    date_to: date | None = None
    state: str = ""
    text: str = ""
    everyone: bool = False
    zone: tzinfo = zone_field()

    def params(self) -> dict[str, str]:
        """The filters in force as query-string values, for page links."""
        out = {}
        if self.everyone:
            out["who"] = EVERYONE
        for name in ("date_from", "date_to"):
            if value := getattr(self, name):
                out[name] = value.isoformat()
        if self.state:
            out["state"] = self.state
        if self.text:
            out["text"] = self.text
        return out

    @property
    def is_filtered(self) -> bool:
        """Whether anything narrows the list (which batches are mine or everyone's does not)."""
        return bool(self.date_from or self.date_to or self.state or self.text)


def parse(
    args: Mapping[str, str], zone: tzinfo | None = None
) -> tuple[Filters, int, dict[str, str]]:
    """Read filters and the page number from request arguments: (filters, page, errors); the
    dates are days in `zone` (the reader's; UTC when none is given).

    A value that cannot be used is left out (the list is still shown without it) and its field is
    named in `errors` with a message for beside it.
    """
    text, errors = read_text(args, LABELS, MAX_TEXT)
    values: dict = {"text": as_stored(text["text"]), "everyone": args.get("who") == EVERYONE}
    if zone is not None:
        values["zone"] = zone
    values.update(date_range(text, LABELS, errors))
    if text["state"]:
        if text["state"] in STATE_ORDER:
            values["state"] = text["state"]
        else:
            errors["state"] = "Choose a state from the list."
    page = page_number(text["page"], MAX_PAGE, errors)
    return Filters(**values), page, errors


class BatchRow(NamedTuple):
    """A batch as its Sent row shows it, read as a plain row: a page of batches loaded as ORM
    objects, with their senders and templates, cost twice as much as reading these (measured)."""

    id: int
    created_at: datetime
    send_at: datetime | None
    released_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by_id: int | None
    sender_id: int
    sender_name: str
    message_count: int
    body: str
    template_name: str | None  # None: typed, not from a template

    @property
    def scheduled(self) -> bool:
        return is_scheduled(self.send_at, self.released_at, self.cancelled_at)

    @property
    def released_late(self) -> bool:
        """Released clearly after its time (see RELEASED_LATE), not at the worker's next poll."""
        if self.send_at is None or self.released_at is None:
            return False
        return self.released_at - self.send_at > RELEASED_LATE


# A batch with its sender (every batch has one), for their name: the Sent page's rows and its
# export. The template's name is the batch's own (Batch.template_name), as it was at Send.
WITH_NAMES = sa.join(Batch, User, User.id == Batch.sender_id)
# The sender as the dashboard names them: two users of one name told apart by their usernames.
SENDER_NAME = user_label()
# Newest first: by when the batch went, in the order of its indexes (ix_batches_sender_went and
# ix_batches_went).
NEWEST_FIRST = (Batch.went_at.desc(), Batch.id.desc())

_ROW = sa.select(
    Batch.id,
    Batch.created_at,
    Batch.send_at,
    Batch.released_at,
    Batch.cancelled_at,
    Batch.cancelled_by_id,
    Batch.sender_id,
    SENDER_NAME,
    Batch.message_count,
    Batch.body,
    Batch.template_name,
).select_from(WITH_NAMES)


@dataclass(frozen=True)
class SentBatch:
    """One row of the Sent page: the batch, and its messages counted by state (bar order)."""

    batch: BatchRow
    counts: dict[str, int] = field(default_factory=dict)
    # Send later: who cancelled it, when it was (None otherwise).
    cancelled_by: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def due(self) -> bool:
        """Scheduled, and its time has come: the worker is releasing it (within seconds)."""
        batch = self.batch
        return batch.scheduled and batch.send_at is not None and batch.send_at <= utcnow()

    @property
    def title(self) -> str:
        """The template's name, else the message's first words."""
        if self.batch.template_name is not None:
            return self.batch.template_name
        return first_words(self.batch.body)


@dataclass(frozen=True)
class Page:
    rows: list[SentBatch]
    page: int
    has_next: bool


def first_words(text: str, count: int = FIRST_WORDS) -> str:
    """The first `count` words of `text` on one line, with an ellipsis when there is more."""
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def conditions(filters: Filters, sender_id: int | None, team: Team | None = None) -> list:
    """The WHERE conditions on batches for `filters`; `sender_id` None means everyone's, or the
    `team`'s when one is given (a team leader limited to their office)."""
    where = []
    if sender_id is not None:
        where.append(Batch.sender_id == sender_id)
    elif team is not None:
        where.append(Batch.sender_id.in_(team.members()))
    start, end = day_bounds(filters.date_from, filters.date_to, filters.zone)
    if start:
        where.append(Batch.went_at >= start)
    if end:
        where.append(Batch.went_at < end)
    if filters.state:
        where.append(
            sa.exists().where(
                Message.batch_id == Batch.id,
                Message.state == filters.state,
                Message.superseded.is_(False),
            )
        )
    # Each word on its own, all of them needed, in any order: a row's title shows the body's words
    # one space apart, as the filter holds them, but the body keeps its line breaks and double
    # spaces, so the phrase "Hello Sam, your" would miss the "Hello Sam,\nyour" its row shows.
    for word in dict.fromkeys(filters.text.split()):
        where.append(
            sa.or_(
                *(
                    column.icontains(spelling, autoescape=True)
                    for spelling in spellings(word)
                    for column in (Batch.body, Batch.template_name)
                )
            )
        )
    return where


def spellings(word: str) -> tuple[str, ...]:
    """`word` as its accents are composed (NFC: "é" one character) and, where that differs, as
    they are decomposed (NFD: "e" and its mark): a body is stored as it was typed, either way, and
    neither SQLite nor PostgreSQL's LIKE takes one for the other."""
    return tuple(dict.fromkeys(unicodedata.normalize(form, word) for form in ("NFC", "NFD")))


def search(
    session: so.Session,
    sender_id: int | None,
    filters: Filters,
    page: int = 1,
    *,
    team: Team | None = None,
) -> Page:
    """One page of batches newest first: `sender_id`'s, or everyone's (the `team`'s, when given)
    when it is None."""
    batches = [
        BatchRow._make(row)
        for row in session.execute(
            _ROW.where(*conditions(filters, sender_id, team))
            .order_by(*NEWEST_FIRST)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    ]
    shown = batches[:PAGE_SIZE]
    counts = state_counts(session, [batch.id for batch in shown])
    names = cancellers(session, shown)
    return Page(
        rows=[SentBatch(batch, counts[batch.id], names.get(batch.id)) for batch in shown],
        page=page,
        has_next=len(batches) > PAGE_SIZE,
    )


# Built once, as every Sent page runs it; the page's batch ids are expanded into it per call.
_STATE_COUNTS = (
    sa.select(Message.batch_id, Message.state, sa.func.count())
    .where(
        Message.batch_id.in_(sa.bindparam("batch_ids", expanding=True)),
        Message.superseded.is_(False),
    )
    .group_by(Message.batch_id, Message.state)
)


def state_counts(session: so.Session, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each batch, its messages counted by state in the bar's order (a resent message counts
    once, as its new copy)."""
    counts = {batch_id: dict.fromkeys(BAR_STATES, 0) for batch_id in batch_ids}
    if not batch_ids:
        return counts
    rows = database.read(session, _STATE_COUNTS, {"batch_ids": batch_ids})
    for batch_id, state, n in rows:
        if state in counts[batch_id]:
            counts[batch_id][state] = n
    return counts


def cancellers(session: so.Session, batches: Sequence[Batch | BatchRow]) -> dict[int, str]:
    """For each cancelled scheduled batch among `batches`, the name of who cancelled it (their
    full name, else their username)."""
    by = {batch.id: batch.cancelled_by_id for batch in batches if batch.cancelled_by_id}
    if not by:
        return {}
    rows = session.execute(
        sa.select(User.id, User.full_name, User.username).where(User.id.in_(set(by.values())))
    )
    names = {user_id: name or username for user_id, name, username in rows}
    return {batch_id: names.get(user_id, "someone") for batch_id, user_id in by.items()}
