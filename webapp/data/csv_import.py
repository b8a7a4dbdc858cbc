"""Import Candidates or Client Contacts from a CSV file: all rows or none, bad lines listed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write
from webapp.models import Client, audit, name_key
from webapp.models.people import EMAIL_PATTERN, person_values
from webapp.people.kinds import KINDS
from webapp.phones import normalise
from webapp.text import control_characters, is_blank

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
CHUNK = 5_000
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

    @property
    def ok(self) -> bool:
        return not self.errors


def import_people(
    session: so.Session,
    kind: str,
    source: Path | bytes,
    default_region: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check every line of `source`; write all rows in one transaction only if none is bad."""
    if kind not in KINDS.segments:
        raise ValueError(f"kind must be candidates or contacts, not {kind!r}")
    of_kind = KINDS.by_segment(kind)
    data = source.read_bytes() if isinstance(source, Path) else source
    report = ImportReport(kind)
    text = _decode(data, report)
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

    rows: list[dict] = []
    lines: list[int] = []  # each row's line
    first_lines: dict[tuple[str, str], int] = {}  # each person's first line (_identity)
    client_names: dict[str, str] = {}
    for line, fields in _records(reader, report):
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            report.errors.append((line, _miscounted(fields, len(header))))
            continue
        record = {name: value.strip() for name, value in zip(header, fields, strict=True)}
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
        first_line = first_lines.setdefault(_identity(values), line)
        if first_line != line:
            report.skipped.append((line, f"repeats line {first_line}"))
            continue
        if mobile.not_mobile:
            report.not_mobiles.append((line, record["mobile"], mobile.not_mobile))
        elif mobile.present and not mobile.valid:
            report.unparseable_mobiles.append((line, record["mobile"]))
        if of_kind.has_client:
            client = record.get("client") or ""
            if client:
                client_names.setdefault(client, name_key(client))
            values["client_name"] = client or None
        rows.append(values)
        lines.append(line)
        if progress and len(rows) % 10_000 == 0:
            progress(len(rows))
    if report.errors:
        return report

    try:
        # Checking a large file takes a while: on SQLite, a write by the running app since this
        # transaction's first read (a worker's heartbeat) would fail the INSERTs at once. Take the
        # write lock now, before the clients are looked up.
        begin_write(session)
        rows = _not_there(session, of_kind.model, rows, lines, report)
        if of_kind.has_client:
            named = {values["client_name"] for values in rows}
            client_names = {name: key for name, key in client_names.items() if name in named}
            client_ids = _client_ids(session, client_names)
            for values in rows:
                name = values.pop("client_name")
                values["client_id"] = client_ids[name] if name else None
        table = of_kind.model.__table__
        for start in range(0, len(rows), CHUNK):
            session.execute(sa.insert(table), rows[start : start + CHUNK])
        # From the shell, so no user: who ran it is the server's own log-in.
        audit(
            session,
            None,
            "people.imported",
            kind=kind,
            file=source.name if isinstance(source, Path) else None,
            created=len(rows),
            skipped=len(report.skipped),
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    report.created = len(rows)
    if progress:
        progress(len(rows))
    return report


# The columns _identity reads, in its order.
IDENTITY_COLUMNS = ("full_name_key", "mobile_e164", "mobile_raw", "email_key")


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


def _not_there(
    session: so.Session, model: type, rows: list[dict], lines: list[int], report: ImportReport
) -> list[dict]:
    """The rows whose person is not stored yet (_identity); each other one's line is reported
    skipped, "already there", and dropped from the report's lists of numbers. People are looked up
    by name key, LOOKUP_CHUNK keys a statement (under the import's write lock)."""
    keys = list(dict.fromkeys(values["full_name_key"] for values in rows))
    stored: set[tuple[str, str]] = set()
    columns = [getattr(model, column) for column in IDENTITY_COLUMNS]
    for start in range(0, len(keys), LOOKUP_CHUNK):
        found = session.execute(
            sa.select(*columns).where(model.full_name_key.in_(keys[start : start + LOOKUP_CHUNK]))
        )
        stored.update(_identity(person._mapping) for person in found)
    if not stored:
        return rows
    kept, there = [], set()
    for values, line in zip(rows, lines, strict=True):
        if _identity(values) in stored:
            there.add(line)
        else:
            kept.append(values)
    report.skipped = sorted(report.skipped + [(line, "already there") for line in there])
    report.unparseable_mobiles = [row for row in report.unparseable_mobiles if row[0] not in there]
    report.not_mobiles = [row for row in report.not_mobiles if row[0] not in there]
    return kept


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


def _decode(data: bytes, report: ImportReport) -> str | None:
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


def _client_ids(session: so.Session, names: dict[str, str]) -> dict[str, int]:
    """Ids of the named clients ({name as the file spells it: its key}), creating those that do
    not exist yet. Names that share a key ("Müller AG", "Muller AG") are one client, unless one
    exists spelled as the file spells it: a name goes to that one, else to the oldest of its key,
    else to the one made for its key's first spelling in the file."""
    spelled, oldest = _existing_client_ids(session, names)
    missing: dict[str, str] = {}  # {key: its first spelling}, in the file's order
    for name, key in names.items():
        if key not in oldest:
            missing.setdefault(key, name)
    if missing:
        # In bulk, their ids returned: a file may name tens of thousands of new clients.
        oldest.update(
            session.execute(
                sa.insert(Client).returning(Client.name_key, Client.id),
                [{"name": name, "name_key": key} for key, name in missing.items()],
            ).all()
        )
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
