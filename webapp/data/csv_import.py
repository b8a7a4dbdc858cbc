"""Import Candidates or Client Contacts from a CSV file: all rows or none, bad lines listed.

Every line is checked before anything is written; then the rows go in CHUNK a transaction, so
that a large file does not hold SQLite's write lock (and stop the pages and the sender) for
the whole of it. A failed write removes the rows written before it again; a process killed
mid-import leaves the chunks it committed (importing the file again adds the rest)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write, is_sqlite
from webapp.models import Client, Comment, Message, audit, name_key
from webapp.models.people import EMAIL_PATTERN, person_values
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.phones import normalise
from webapp.text import control_characters, is_blank, without_reordering

REQUIRED = ("first_name", "last_name", "mobile", "email", "sms_consent")
OPTIONAL = {
    "candidates": ("job_title", "location"),
    "contacts": ("client", "position"),
}
CONSENT_WORDS = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "ticked": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "unticked": False,
}
EMAIL = re.compile(EMAIL_PATTERN)
# ~0.25 s of SQLite's write lock each (the full-text triggers are most of it).
CHUNK = 2_000
IMPORT_LOCK = 0x5D1  # PostgreSQL's advisory lock key (with the kind's) that imports take turns by
PAUSE = 0.1  # seconds without it between chunks
LOOKUP_CHUNK = 1_000
MAX_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "mobile": 40,
    "job_title": 120,
    "location": 120,
    "client": 200,
    "position": 120,
}
# The columns whose name_key() is stored beside them, in a column of the same length.
KEYED = frozenset({"first_name", "last_name", "email", "location", "client"})


@dataclass
class ImportReport:
    kind: str
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    unparseable_mobiles: list[tuple[int, str]] = field(default_factory=list)
    # Real numbers no SMS reaches: (line, as typed, what it is: "a landline").
    not_mobiles: list[tuple[int, str, str]] = field(default_factory=list)
    # Lines not imported, the person being there already: (line, "already there" or "repeats
    # line N"), so that importing a file again adds nobody twice.
    skipped: list[tuple[int, str]] = field(default_factory=list)
    # Lines "already there" saying no consent for a person stored with it: (line, name as typed).
    # Not applied, as nothing of a person already there is: a change of consent is made (and
    # audited) on the record.
    consent_withdrawn: list[tuple[int, str]] = field(default_factory=list)
    # Lines saying consent for a number whose holder withdrew it themselves (a STOP, a gateway's
    # opt-out), imported with SMS unticked as Add does (records.carry_withdrawal): (line, name as
    # typed, what the number did: "replied STOP").
    kept_opted_out: list[tuple[int, str, str]] = field(default_factory=list)
    # Records read, blank lines aside.
    read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFailed(Exception):
    """Writing failed after the file was checked; the message says what became of the rows
    written before (removed again, or which are left)."""


@dataclass
class _Checked:
    """The file's people to import, each a tuple of values in `columns`' order (a dict each took
    twice the memory), with its line."""

    columns: tuple[str, ...] = ()
    rows: list[tuple] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def import_people(
    session: so.Session,
    kind: str,
    source: Path | bytes,
    default_region: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk: int = CHUNK,
) -> ImportReport:
    """Check every line of `source`; only if none is bad, write its people `chunk` rows a
    transaction, removing them again if a write fails (ImportFailed). `progress` is told the
    records read and the people imported so far, after each chunk too."""
    if kind not in KINDS.segments:
        raise ValueError(f"kind must be candidates or contacts, not {kind!r}")
    of_kind = KINDS.by_segment(kind)
    report = ImportReport(kind)
    text = _decode(source.read_bytes() if isinstance(source, Path) else source, report)
    if text is None:
        return report

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        report.errors.append((1, _unreadable(error)))
        return report
    if not any(header):
        # Else an empty file, or one with a blank first line, is "missing" every column.
        what = "the first line is blank" if text.strip() else "the file is empty"
        report.errors.append((1, f"{what}: it must name the columns ({', '.join(REQUIRED)})"))
        return report
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name and name not in REQUIRED + OPTIONAL[kind]]
    unnamed = [number for number, name in enumerate(header, start=1) if not name]
    if missing:
        semicolons = len(header) == 1 and ";" in header[0]
        hint = " (the columns are separated by ; — save the file as CSV with commas)"
        report.errors.append((1, f"missing column(s): {', '.join(missing)}{hint * semicolons}"))
    if unknown:
        report.errors.append((1, f"unknown column(s): {', '.join(unknown)}"))
    if unnamed:
        # A spreadsheet saves a column once formatted, even empty, as a trailing "," on each line.
        columns = ", ".join(str(number) for number in unnamed)
        report.errors.append((1, f"column(s) {columns} have no name: name them or delete them"))
    named = [name for name in header if name]
    if len(set(named)) != len(named):
        report.errors.append((1, "a column name appears twice"))
    if report.errors:
        return report

    # Checked before anything is written, and without the write lock: on SQLite it stops every
    # other writer (the pages' sessions, the sender) for as long as it is held. Nor in the
    # caller's read transaction (the command's look-up of the region): kept open for the check,
    # it stops SQLite's WAL from being checkpointed. (The first chunk would end it anyway.)
    session.rollback()
    checked = _check_lines(reader, header, of_kind, default_region, report, progress)
    del reader, text
    if report.errors:
        return report
    _write(session, of_kind, checked, report, source, progress, chunk)
    return report


def _check_lines(
    reader,
    header: list[str],
    of_kind,
    default_region: str,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
) -> _Checked:
    """Each good line's values to import; a bad line, or one giving the person of an earlier line
    (_identity) other values, goes to the report's errors, and one repeating it to its skipped."""
    kind = of_kind.segment
    checked = _Checked()
    first: dict[tuple[str, str], int] = {}  # each person's first row (its index)
    for line, fields in _records(reader, report):
        if not any(value.strip() for value in fields):
            continue
        report.read += 1
        if progress and report.read % 10_000 == 0:
            progress(report.read, 0)
        if len(fields) != len(header):
            report.errors.append((line, _miscounted(fields, len(header))))
            continue
        # Without the invisible controls that reorder text, as the forms store a value: a
        # spreadsheet or contact card may wrap a number or a name in them.
        record = {
            name: without_reordering(value).strip()
            for name, value in zip(header, fields, strict=True)
        }
        problem = _check(record)
        if problem:
            report.errors.append((line, problem))
            continue
        mobile = normalise(record["mobile"], default_region)
        # The kind's own columns go in as they are; a client is looked up or created by name.
        extra = {name: record.get(name) or None for name in OPTIONAL[kind] if name != "client"}
        values = person_values(
            first_name=record["first_name"],
            last_name=record["last_name"],
            email=record["email"],
            mobile=mobile,
            sms_consent=CONSENT_WORDS[record["sms_consent"].lower()],
            **extra,
        )
        if of_kind.has_client:
            values["client_name"] = record.get("client") or None
        row = tuple(values.values())
        if not checked.columns:
            checked.columns = tuple(values)
        identity = _identity(values)
        index = first.setdefault(identity, len(checked.rows))
        if index != len(checked.rows):
            earlier = checked.lines[index]
            differing = _differing(checked.columns, checked.rows[index], row)
            if differing:
                report.errors.append((line, _conflict(earlier, identity, differing)))
            else:
                report.skipped.append((line, f"repeats line {earlier}"))
            continue
        if mobile.not_mobile:
            report.not_mobiles.append((line, record["mobile"], mobile.not_mobile))
        elif mobile.present and not mobile.valid:
            report.unparseable_mobiles.append((line, record["mobile"]))
        checked.rows.append(row)
        checked.lines.append(line)
    return checked


def _write(
    session: so.Session,
    of_kind,
    checked: _Checked,
    report: ImportReport,
    source: Path | bytes,
    progress: Callable[[int, int], None] | None,
    chunk: int,
) -> None:
    """Insert the checked rows not stored yet, `chunk` rows a transaction, so that on SQLite
    other writers get the write lock between chunks (300,000 rows in one held it for ~50 s, past
    their 10 s wait); then audit the import. If any of it fails, the rows and clients written are
    deleted again (ImportFailed says so)."""
    table = of_kind.model.__table__
    people: list[int] = []  # ids of the rows written, committed
    clients: list[int] = []  # ids of the clients made for them, committed
    there: set[int] = set()
    done = False  # the audit committed: the import stands, whatever stops it after
    try:
        for start in range(0, len(checked.rows), chunk):
            part = checked.rows[start : start + chunk]
            rows = [dict(zip(checked.columns, row, strict=True)) for row in part]
            lines = checked.lines[start : start + chunk]
            # Looked up under the chunk's write lock, so a person another import adds meanwhile
            # is "already there" rather than stored twice. PostgreSQL has no such lock: there the
            # imports of a kind take turns by an advisory lock, held until the chunk commits.
            begin_write(session)
            if not is_sqlite(session):
                kind_key = sa.func.hashtext(of_kind.segment)
                session.execute(sa.select(sa.func.pg_advisory_xact_lock(IMPORT_LOCK, kind_key)))
            rows, lines = _not_there(session, of_kind.model, rows, lines, report, there)
            # A number that replied STOP (or opted out at the gateway) on a record stays opted
            # out on one imported with it, as on one added (records._carry_withdrawal): else the
            # file's "yes" made a record to send to it. Asked once for the chunk's numbers.
            withdrawn = records.withdrawn_numbers(
                session, (values["mobile_e164"] for values in rows if values["sms_consent"])
            )
            kept_opted_out = [
                (line, f"{values['first_name']} {values['last_name']}", found.withdrawal.how)
                for values, line in zip(rows, lines, strict=True)
                if values["sms_consent"] and (found := withdrawn.get(values["mobile_e164"]))
            ]
            new_clients: list[int] = []
            if of_kind.has_client:
                # In the file's order: a new client is named as the file first spells it.
                names = {row["client_name"]: None for row in rows if row["client_name"]}
                client_ids = _client_ids(session, {n: name_key(n) for n in names}, new_clients)
                for values in rows:
                    name = values.pop("client_name")
                    values["client_id"] = client_ids[name] if name else None
            written = []
            if rows:
                statement = sa.insert(table).returning(table.c.id)
                written = session.execute(statement, rows).scalars().all()
            if kept_opted_out:
                _carry_withdrawals(session, of_kind.model, written, withdrawn)
            with _signals_held():
                session.commit()
                # Only once committed: on SQLite the ids of rows rolled back are given out again.
                people.extend(written)
                clients.extend(new_clients)
                report.kept_opted_out.extend(kept_opted_out)
            report.created = len(people)
            if progress:
                progress(report.read, report.created)
            if is_sqlite(session):
                # A writer waiting for the lock retries every 100 ms at most (SQLite's busy
                # handler): without a pause the next chunk took it first, a page waiting seconds.
                time.sleep(PAUSE)
        begin_write(session)
        # From the shell, so no user: who ran it is the server's own log-in.
        audit(
            session,
            None,
            "people.imported",
            kind=of_kind.segment,
            file=source.name if isinstance(source, Path) else None,
            created=len(people),
            skipped=len(report.skipped),
        )
        with _signals_held():
            session.commit()
            done = True
    except BaseException as error:
        # Stopped only as it finished, it is told as done: undoing would leave "imported" in the
        # audit log with its rows gone.
        if not (done and isinstance(error, KeyboardInterrupt)):
            _fail(session, of_kind, report, people, clients, error)
    report.skipped.sort()
    report.unparseable_mobiles = [row for row in report.unparseable_mobiles if row[0] not in there]
    report.not_mobiles = [row for row in report.not_mobiles if row[0] not in there]
    if progress and not checked.rows:  # else told after each chunk
        progress(report.read, 0)


# The signals that stop an import (Ctrl+C, and SIGTERM and SIGHUP as the import command sets them).
HELD = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _fail(session: so.Session, of_kind, report, people, clients, error: BaseException) -> None:
    """Undo what the import wrote before `error` stopped it, and say so (ImportFailed)."""
    session.rollback()
    report.created = 0
    raise ImportFailed(_undo(session, of_kind, people, clients, error)) from error


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """HELD signals wait until the block ends: a commit and the note of what it committed go
    together. A signal between them left a chunk written that the undo did not know of ("nothing
    was written", with 2,000 rows there)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread runs Python's signal handlers (and may set them)
        return
    came: list[int] = []
    before: list[tuple[int, Any]] = []
    try:
        # Handlers, not the thread's signal mask: the kernel gives a signal to any thread not
        # blocking it, and the main thread's handler runs all the same.
        for signum in HELD:
            if signal.getsignal(signum) is None:
                continue  # a handler set outside Python could not be put back: left alone
            before.append((signum, signal.signal(signum, lambda signum, _: came.append(signum))))
        yield
    finally:
        _put_back(before)
        for signum in dict.fromkeys(came):
            signal.raise_signal(signum)  # to its own handler now: KeyboardInterrupt, as a rule


def _put_back(handlers: list[tuple[int, Any]]) -> None:
    """Set each signal's handler back, all of them even if one that came meanwhile raises."""
    if handlers:
        (signum, handler), *rest = handlers
        try:
            signal.signal(signum, handler)
        finally:
            _put_back(rest)


def _interrupted(error: BaseException | None) -> bool:
    """Whether Ctrl+C (or a signal as it) stopped the import: a KeyboardInterrupt, or an error
    raised while handling one. psycopg stopped mid-query refused the next step ("can't change
    'autocommit' now: connection in transaction status ACTIVE"), and that error came instead."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _undo(session: so.Session, of_kind, people: list[int], clients: list[int], error) -> str:
    """Delete the rows an import wrote before `error` stopped it (LOOKUP_CHUNK a transaction), and
    the clients made for them that no contact has; what happened, for ImportFailed."""
    if _interrupted(error):
        stopped = "The import stopped because it was interrupted"
    else:
        # A database error's text holds the statement and every row's parameters: the driver's
        # alone, and its first line (PostgreSQL adds CONTEXT and HINT lines after it).
        said = str(getattr(error, "orig", error)).strip().partition("\n")[0].strip()
        stopped = f"The import stopped because of an error{f' ({said})' if said else ''}"
    if not people and not clients:
        return f"{stopped}; nothing was written."
    table = of_kind.model.__table__
    removed = 0
    kept: list[int] = []
    try:
        for start in range(0, len(people), LOOKUP_CHUNK):
            ids = people[start : start + LOOKUP_CHUNK]
            begin_write(session)
            # The pages wrote on between the chunks: a person someone has worked on since (a
            # note, which would go with them, an SMS, an edit) is theirs now, and stays.
            worked_on = _worked_on(session, of_kind, ids)
            kept += worked_on
            gone = [person for person in ids if person not in worked_on]
            session.execute(sa.delete(table).where(table.c.id.in_(gone)))
            with _signals_held():
                session.commit()
                removed += len(gone)
        for start in range(0, len(clients), LOOKUP_CHUNK):
            begin_write(session)
            # One someone gave a contact meanwhile stays.
            unused = ~sa.exists().where(table.c.client_id == Client.id)
            session.execute(
                sa.delete(Client).where(
                    Client.id.in_(clients[start : start + LOOKUP_CHUNK]), unused
                )
            )
            session.commit()
    except BaseException as failure:
        session.rollback()
        return (
            f"{stopped} after writing {len(people):,} rows, and removing them failed "
            f"({str(getattr(failure, 'orig', failure)).strip() or 'interrupted'}): "
            f"{len(people) - removed:,} are left. Import the file again to add the rest (those "
            "left are skipped as already there), or delete them."
        )
    if kept:
        return (
            f"{stopped}; of the {len(people):,} rows written before, {removed:,} were removed "
            f"again and {len(kept):,} kept, as someone has added a note to them, sent them an SMS "
            f"or edited them since (ids {', '.join(map(str, kept[:20]))}"
            f"{', …' if len(kept) > 20 else ''})."
        )
    return f"{stopped}; the {len(people):,} rows written before were removed again."


def _worked_on(session: so.Session, of_kind, ids: list[int]) -> list[int]:
    """Those of `ids` (people an import wrote) with a note or a message since, or edited."""
    table = of_kind.model.__table__
    column = of_kind.person_column
    noted = sa.exists().where(getattr(Comment, column) == table.c.id)
    messaged = sa.exists().where(getattr(Message, column) == table.c.id)
    rows = session.execute(
        sa.select(table.c.id, table.c.created_at, table.c.updated_at, noted | messaged).where(
            table.c.id.in_(ids)
        )
    )
    # Written by the import, the two times are its own, a moment apart (each its own default).
    return [
        person
        for person, created, updated, used in rows
        if used or abs((updated - created).total_seconds()) > 1
    ]


# The columns _identity reads, in its order.
IDENTITY_COLUMNS = ("full_name_key", "mobile_e164", "mobile_raw", "email_key")
# The file's columns (by the values they give) in which a later line of one person (_identity)
# must give nothing new to be a repeat, compared as search compares them (case, accents and
# spacing aside); the name and mobile are the identity's.
COMPARED = {
    "email": "email_key",
    "sms_consent": "sms_consent",
    "job_title": "job_title",
    "location": "location_key",
    "client": "client_name",
    "position": "position",
}


def _identity(person: Mapping[str, str | None]) -> tuple[str, str]:
    """Who a line or a stored person is (its values by IDENTITY_COLUMNS), to import nobody twice:
    the name as searched (its key) and the mobile in E.164 (as typed when it cannot be read; with
    no mobile, the email).

    Stricter than Add's check (the same mobile or email, whoever's): an import brings in lists
    where colleagues and family share a number, and the same person twice is what it must skip."""
    name, e164, raw, email = (person[column] for column in IDENTITY_COLUMNS)
    if e164:
        return (name or "", e164)
    return (name or "", f"typed {raw}" if raw else f"email {email or ''}")


def _differing(columns: tuple[str, ...], first: tuple, again: tuple) -> list[str]:
    """The file's columns (COMPARED) in which a later line of a person gives a value the first
    one does not: the import would drop it. One left empty drops nothing."""
    one, other = (dict(zip(columns, row, strict=True)) for row in (first, again))

    def compared(value):
        return name_key(value) if isinstance(value, str) or value is None else value

    return [
        name
        for name, column in COMPARED.items()
        if column in one
        and other[column] not in (None, "")
        and compared(one[column]) != compared(other[column])
    ]


def _conflict(earlier: int, identity: tuple[str, str], differing: list[str]) -> str:
    """Why a line giving the person of an earlier line other values is refused: which to import
    is the file's writer's to say (a later "no" may withdraw consent, or be a mistake)."""
    if identity[1].startswith("email "):
        same = "same name and email" if identity[1] != "email " else "same name, no mobile or email"
    else:
        same = "same name and mobile"
    return (
        f"the same person as line {earlier} ({same}) with another {', '.join(differing)}: "
        "keep one of the two lines"
    )


def _not_there(
    session: so.Session,
    model: type,
    rows: list[dict],
    lines: list[int],
    report: ImportReport,
    there: set[int],
) -> tuple[list[dict], list[int]]:
    """The rows whose person is not stored yet (_identity), with their lines; each other one's
    line is reported skipped, "already there", and added to `there`, and if it says no consent
    for a person stored with it, listed as such too. People are looked up by name key,
    LOOKUP_CHUNK keys a statement."""
    keys = list(dict.fromkeys(values["full_name_key"] for values in rows))
    stored: dict[tuple[str, str], bool] = {}  # each person's consent, True if any has it
    columns = [getattr(model, column) for column in IDENTITY_COLUMNS]
    for start in range(0, len(keys), LOOKUP_CHUNK):
        found = session.execute(
            sa.select(*columns, model.sms_consent).where(
                model.full_name_key.in_(keys[start : start + LOOKUP_CHUNK])
            )
        )
        for person in found:
            identity = _identity(person._mapping)
            stored[identity] = stored.get(identity, False) or person.sms_consent
    if not stored:
        return rows, lines
    kept, kept_lines = [], []
    for values, line in zip(rows, lines, strict=True):
        consent = stored.get(_identity(values))
        if consent is None:
            kept.append(values)
            kept_lines.append(line)
            continue
        there.add(line)
        report.skipped.append((line, "already there"))
        if consent and not values["sms_consent"]:
            name = f"{values['first_name']} {values['last_name']}"
            report.consent_withdrawn.append((line, name))
    return kept, kept_lines


def _carry_withdrawals(
    session: so.Session,
    model: type,
    written: list[int],
    withdrawn: dict[str, records.WithdrawnNumber],
) -> None:
    """Untick SMS, in the chunk's transaction, on the people just written (ids `written`) ticked
    with a number in `withdrawn`, as Add does: each audited as that withdrawal, carried. Few are:
    they are read as records (LOOKUP_CHUNK ids a statement) and unticked as a record is."""
    people: dict[str, list] = {}
    for start in range(0, len(written), LOOKUP_CHUNK):
        found = session.scalars(
            sa.select(model)
            .where(
                model.id.in_(written[start : start + LOOKUP_CHUNK]),
                model.sms_consent,
                model.mobile_e164.in_(list(withdrawn)),
            )
            .order_by(model.id)
        )
        for person in found:
            people.setdefault(person.mobile_e164, []).append(person)
    for number, holders in people.items():
        records.carry_withdrawal(session, holders, withdrawn[number], None)


def _records(reader, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """Each record of `reader` with the line it starts on (a quoted cell holding a line break runs
    on over the next lines). A record the csv module cannot read (a cell past its limit, or a quote
    opened and never closed, which runs on to the end of the file) is reported, and the reading
    goes on after it, so every other bad line is listed too."""
    last_line = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.errors.append((last_line + 1, _unreadable(error)))
            if reader.line_num == last_line:  # nothing read: nothing more can be
                return
            last_line = reader.line_num
            continue
        line, last_line = last_line + 1, reader.line_num
        yield line, fields


def _miscounted(fields: list[str], columns: int) -> str:
    """Why a record has another number of values than the header has columns."""
    if len(fields) < columns and "\n" in fields[-1]:
        # A quote left open reads on over the next lines, to the end of the file if never closed:
        # the record ends in one value holding all of them. (A quoted value with a line break
        # among the right number of values is a record of its own, refused for the break.)
        return (
            'a quote (") opened in this line is not closed where it should be: the lines after it '
            "were read as part of one value; close it and import again"
        )
    return f"{len(fields)} values where the header has {columns}"


def _unreadable(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"a value runs on for more than {csv.field_size_limit():,} characters: shorten it, or "
            'close the quote (") opened in it if one was left open'
        )
    return f"not readable as CSV ({error})"


# Byte-order marks of the other Unicode encodings (UTF-32's first: its LE mark starts as UTF-16's).
# Excel's "Unicode Text" saves UTF-16, whose zero bytes make up UTF-8 errors on made-up "lines".
_OTHER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(data: bytes, report: ImportReport) -> str | None:
    for mark, encoding in _OTHER_MARKS:
        if data.startswith(mark):
            report.errors.append(
                (1, f"the whole file is {encoding} text, not UTF-8 (save it as CSV UTF-8)")
            )
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for number, raw_line in enumerate(data.splitlines(), start=1):
        try:
            raw_line.decode("utf-8")
        except UnicodeDecodeError:
            report.errors.append((number, "not UTF-8 text (save the file as CSV UTF-8)"))
    return None


def _check(record: dict[str, str]) -> str | None:
    for name, value in record.items():
        # Every column is one line of text: a line break in a name would reach an email's header.
        found = control_characters(value)
        if found:
            return f"{name} holds control characters ({found}); each value must be one line of text"
    # A zero-width space alone survives strip() and shows nothing: an empty heading, a blank link.
    if is_blank(record["first_name"]):
        return "first_name is empty"
    if is_blank(record["last_name"]):
        return "last_name is empty"
    for name, limit in MAX_LENGTHS.items():
        if len(record.get(name, "")) > limit:
            return f"{name} is longer than {limit} characters"
        # Its search key (name_key) is kept in a column as long: "ß" is "ss" there, "ﬃ" is "ffi".
        if name in KEYED and len(name_key(record.get(name, ""))) > limit:
            return (
                f"{name} is longer than {limit} characters once written out for searching "
                "(ß as ss, ligatures as their letters)"
            )
    if record["sms_consent"].lower() not in CONSENT_WORDS:
        return f"sms_consent {record['sms_consent']!r} is not yes or no"
    if record["email"] and not EMAIL.match(record["email"]):
        return f"email {record['email']!r} is not an email address"
    return None


def _client_ids(session: so.Session, names: dict[str, str], created: list[int]) -> dict[str, int]:
    """Ids of the named clients ({name as the file spells it: its key}), creating those that do
    not exist yet (their ids added to `created`). Names that share a key ("Müller AG", "Muller
    AG") are one client, unless one exists spelled as the file spells it: a name goes to that
    one, else to the oldest of its key, else to the one made for its key's first spelling in the
    file."""
    spelled, oldest = _existing_client_ids(session, names)
    missing: dict[str, str] = {}  # {key: its first spelling}, in the file's order
    for name, key in names.items():
        if key not in oldest:
            missing.setdefault(key, name)
    if missing:
        # In bulk, their ids returned: a file may name tens of thousands of new clients.
        made = session.execute(
            sa.insert(Client).returning(Client.name_key, Client.id),
            [{"name": name, "name_key": key} for key, name in missing.items()],
        ).all()
        oldest.update(made)
        created.extend(client_id for _key, client_id in made)
    return {name: spelled.get(name) or oldest[key] for name, key in names.items()}


def _existing_client_ids(
    session: so.Session, names: dict[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Of the clients with these names' keys, asked LOOKUP_CHUNK keys at a time (one IN list of
    them all would pass a statement's limit of parameters, PostgreSQL's 65,535): the id of each
    spelled as named, and the oldest's id for each key."""
    keys = list(dict.fromkeys(names.values()))
    spelled: dict[str, int] = {}
    oldest: dict[str, int] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        rows = session.execute(
            sa.select(Client.name_key, Client.name, Client.id)
            .where(Client.name_key.in_(keys[start : start + LOOKUP_CHUNK]))
            .order_by(Client.id)
        )
        for key, name, client_id in rows:
            oldest.setdefault(key, client_id)
            if name in names:
                spelled.setdefault(name, client_id)
    return spelled, oldest
