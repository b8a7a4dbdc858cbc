"""CSV downloads read from the database a chunk at a time: a batch's messages, and the Sent log
under its filters, as text a spreadsheet opens with accents right and never runs as a formula."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, tzinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write
from webapp.models import (
    Batch,
    Candidate,
    ClientContact,
    Message,
    SmsAccount,
    User,
    audit,
)
from webapp.models.base import utcnow
from webapp.models.messaging import SENT
from webapp.people.kinds import KINDS
from webapp.sms import sent_log
from webapp.sms.batches import BAR_LABELS, NO_RECEIPT, RECEIPT_WAIT
from webapp.users.offices import Team

# Excel reads a CSV as the machine's legacy code page unless it starts with this mark: without it
# "Zoë" opens as "ZoÃ«".
BOM = "\ufeff"
# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets
# (OWASP "CSV Injection": = + - @, tab and carriage return; a line feed too, to be safe).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A quote before such a cell makes the spreadsheet take it as text. A phone number keeps its
# plus and stays readable: "'+61412345678" (without the quote Excel would show 6.14E+10).
TEXT_MARK = "'"
# Rows read from the database (and written out) at a time: the most held in memory at once.
CHUNK = 500
# Opens a session: each chunk is read in a session of its own, closed before the chunk is handed
# on, so a download read slowly (or left unread) holds no connection and no open transaction.
Sessions = Callable[[], so.Session]
DEFAULT_ACCOUNT = "Default"


def cell(value: object) -> str:
    """`value` as CSV cell text that no spreadsheet evaluates: a text starting like a formula gets
    a leading quote. Numbers are written as they are (ours are never negative)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return TEXT_MARK + text
    return text


def moment(value: datetime | None, zone: tzinfo) -> str:
    """A stored (UTC) time as "2026-12-02 09:05:07+11:00" in `zone` (ISO 8601: the offset tells
    apart the two 02:30s of the night the clocks go back); "" for none."""
    if value is None:
        return ""
    return value.astimezone(zone).isoformat(sep=" ", timespec="seconds")


def zone_label(zone: tzinfo) -> str:
    """The zone's IANA name for a column heading ("Queued (Australia/Perth)")."""
    return getattr(zone, "key", None) or str(zone)


class _Line:
    """A file for csv.writer that hands each line back instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def csv_text(rows: Iterable[Iterable[object]], chunk: int = CHUNK) -> Iterator[str]:
    """`rows` (the heading first) as CSV text: the BOM and the heading at once, then a piece of
    text for every `chunk` rows, each cell made safe by `cell`. Nothing is kept between pieces."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    rows = iter(rows)
    # The heading goes alone, so the download starts before the first query has answered.
    yield BOM + writer.writerow([cell(value) for value in next(rows)])
    lines = []
    for row in rows:
        lines.append(writer.writerow([cell(value) for value in row]))
        if len(lines) == chunk:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


# --- a batch's messages --------------------------------------------------------------------------


def batch_heading(zone: tzinfo) -> list[str]:
    where = zone_label(zone)
    return [
        "Person",
        "Number",
        "SMS account",
        "State",
        "Error",
        "Resent",
        f"Queued ({where})",
        f"Quiet hours until ({where})",
        f"Sent ({where})",
        f"Delivered ({where})",
    ]


def batch_rows(
    sessions: Sessions,
    batch_id: int,
    zone: tzinfo,
    *,
    now: datetime | None = None,
    chunk: int = CHUNK,
) -> Iterator[list]:
    """The heading, then one row per message of the batch in the order they were queued, read
    `chunk` rows at a time, each chunk after the last one's id in a session of its own.

    The state is the batch page's: a message sent more than RECEIPT_WAIT ago with no receipt is
    "sent, no receipt". A resent message is listed with "Resent" (its new copy has its own row).
    "Quiet hours until" is when the recipient's quiet hours ended or end, for a message they held.
    """
    yield batch_heading(zone)
    no_receipt_before = (now or utcnow()) - RECEIPT_WAIT
    query, after = _batch_chunk(batch_id, chunk), 0
    while True:
        part = _read(sessions, query, after=after)
        for row in part:
            (first, last, contact_first, contact_last, number, account, state) = row[1:8]
            error_text, error_code, superseded, queued, quiet, sent, delivered, updated = row[8:]
            if first is None and last is None:
                first, last = contact_first, contact_last
            if state == SENT and (sent or updated or no_receipt_before) < no_receipt_before:
                state = BAR_LABELS[NO_RECEIPT]
            yield [
                f"{first or ''} {last or ''}".strip(),
                number,
                account or DEFAULT_ACCOUNT,
                state,
                error_text or error_code or "",
                superseded,
                moment(queued, zone),
                moment(quiet, zone),
                moment(sent, zone),
                moment(delivered, zone),
            ]
        if len(part) < chunk:
            return
        after = part[-1][0]


def _batch_chunk(batch_id: int, chunk: int) -> sa.Select:
    """The batch's next `chunk` messages after the id given as "after", with names and account.

    The messages are picked (in order of id) before anything is joined to them: joined first, a
    planner without statistics (a batch just queued) joined the whole rest of the batch for every
    chunk. The statement is made once for all the chunks: one made afresh for each leaves garbage
    (SQLAlchemy's constructs hold cycles) that grows with the number of rows.
    """
    picked = (
        sa.select(
            Message.id,
            Message.candidate_id,
            Message.contact_id,
            Message.account_id,
            Message.to_e164,
            Message.state,
            Message.error_text,
            Message.error_code,
            Message.superseded,
            Message.created_at,
            Message.quiet_until,
            Message.sent_at,
            Message.delivered_at,
            Message.updated_at,
        )
        .where(Message.batch_id == batch_id, Message.id > sa.bindparam("after"))
        .order_by(Message.id)
        .limit(chunk)
        .subquery()
    )
    return (
        sa.select(
            picked.c.id,
            Candidate.first_name,
            Candidate.last_name,
            ClientContact.first_name,
            ClientContact.last_name,
            picked.c.to_e164,
            SmsAccount.name,
            picked.c.state,
            picked.c.error_text,
            picked.c.error_code,
            picked.c.superseded,
            picked.c.created_at,
            picked.c.quiet_until,
            picked.c.sent_at,
            picked.c.delivered_at,
            picked.c.updated_at,
        )
        .outerjoin(Candidate, Candidate.id == picked.c.candidate_id)
        .outerjoin(ClientContact, ClientContact.id == picked.c.contact_id)
        .outerjoin(SmsAccount, SmsAccount.id == picked.c.account_id)
        .order_by(picked.c.id)
    )


def _read(sessions: Sessions, query: sa.Select, **values) -> list[sa.Row]:
    """The rows of `query` with these bound `values`, read in a session of its own that is closed
    (its transaction ended and its connection back in the pool) before they are returned."""
    with sessions() as session:
        return list(session.execute(query, values))


def batch_csv(
    sessions: Sessions, batch_id: int, zone: tzinfo, *, chunk: int = CHUNK
) -> Iterator[str]:
    """A batch's messages as CSV text, streamed (see batch_rows and csv_text)."""
    return csv_text(batch_rows(sessions, batch_id, zone, chunk=chunk), chunk)


def batch_filename(batch_id: int) -> str:
    return f"batch-{batch_id}-messages.csv"


def batch_row_count(session: so.Session, batch_id: int) -> int:
    """How many rows the batch's CSV has (its messages, resent ones included)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(Message).where(Message.batch_id == batch_id)
    )


# --- the Sent log ---------------------------------------------------------------------------------


def sent_heading(zone: tzinfo) -> list[str]:
    where = zone_label(zone)
    return [
        "Batch",
        f"When ({where})",
        "Sent by",
        "Template",
        "Message",
        "To",
        "Messages",
        # The stored states by name: here "sent" counts those with no receipt after a day too.
        *[state.capitalize() for state in sent_log.BAR_STATES],
        f"Send at ({where})",
        f"Cancelled ({where})",
    ]


def sent_rows(
    sessions: Sessions,
    sender_id: int | None,
    filters: sent_log.Filters,
    zone: tzinfo,
    *,
    team: Team | None = None,
    chunk: int = CHUNK,
) -> Iterator[list]:
    """The heading, then one row per batch the Sent page lists for these arguments (every page
    of it, newest first by when it went), with its messages counted by state, read `chunk`
    batches at a time, each chunk after the last one's (time it went, id) in a session of its own.

    The conditions are the Sent page's own (sent_log.conditions). "Message" is the batch's text
    in full (the page shows its first words); "Send at" is the time it was scheduled for.
    """
    yield sent_heading(zone)
    query = (
        sa.select(
            Batch.id,
            Batch.created_at,
            sent_log.SENDER_NAME,
            Batch.template_name,
            Batch.body,
            Batch.kind,
            Batch.message_count,
            Batch.send_at,
            Batch.cancelled_at,
            Batch.went_at,
        )
        .select_from(sent_log.WITH_NAMES)
        .where(*sent_log.conditions(filters, sender_id, team))
        .order_by(*sent_log.NEWEST_FIRST)
        .limit(chunk)
    )
    # The first chunk, then the next after the last one's (time it went, id): both statements
    # made once.
    later = query.where(
        sa.or_(
            Batch.went_at < sa.bindparam("went", type_=Batch.went_at.type),
            sa.and_(
                Batch.went_at == sa.bindparam("went", type_=Batch.went_at.type),
                Batch.id < sa.bindparam("last_id"),
            ),
        )
    )
    page, values = query, {}
    while True:
        with sessions() as session:
            part = list(session.execute(page, values))
            counts = sent_log.state_counts(session, [row[0] for row in part])
        for batch_id, created, sender, template, body, kind, total, send_at, cancelled, _ in part:
            yield [
                batch_id,
                moment(created, zone),
                sender,
                template or "",
                body,
                _kind_label(kind),
                total,
                *counts[batch_id].values(),
                moment(send_at, zone),
                moment(cancelled, zone),
            ]
        if len(part) < chunk:
            return
        page, values = later, {"last_id": part[-1][0], "went": part[-1][-1]}


def sent_csv(
    sessions: Sessions,
    sender_id: int | None,
    filters: sent_log.Filters,
    zone: tzinfo,
    *,
    team: Team | None = None,
    chunk: int = CHUNK,
) -> Iterator[str]:
    """The Sent log as CSV text, streamed (see sent_rows and csv_text)."""
    return csv_text(sent_rows(sessions, sender_id, filters, zone, team=team, chunk=chunk), chunk)


def sent_filename(today: date) -> str:
    return f"sent-{today.isoformat()}.csv"


def sent_row_count(
    session: so.Session,
    sender_id: int | None,
    filters: sent_log.Filters,
    *,
    team: Team | None = None,
) -> int:
    """How many batches the Sent log's CSV lists."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Batch)
        .where(*sent_log.conditions(filters, sender_id, team))
    )


def _kind_label(segment: str) -> str:
    return KINDS.by_segment(segment).plural_label if segment in KINDS.segments else segment


def record(
    session: so.Session, actor: User, what: str, rows: int, subject: object = None, **details
) -> None:
    """Write "sms.exported" to the audit log (what was downloaded, how many rows) and commit it,
    before the download starts: a download cut short was still a copy taken."""
    begin_write(session)
    audit(session, actor, "sms.exported", subject, what=what, rows=rows, **details)
    session.commit()
