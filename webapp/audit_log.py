"""The audit log read back: filters parsed from a query string, a page of events, and their details
described in words a reader understands (never evaluated, only turned into text)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.filters import (
    FIRST_DAY,
    LAST_DAY,
    date_range,
    day_bounds,
    page_number,
    query_params,
    read_text,
    zone_field,
)
from webapp.ids import as_id
from webapp.models.activity import AuditEvent
from webapp.models.messaging import Message
from webapp.models.people import PRIVACY_FIELDS, name_key, person_name
from webapp.models.users import User
from webapp.people.kinds import KINDS, Kind
from webapp.people.search import TOP
from webapp.sms.limits import ORGANISATION_LIMIT_KEY, ROLE_LIMITS_KEY

PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_TEXT = 200
TEXT_LABELS = {
    "actor": "Who",
    "action": "Action",
    "person_kind": "Record type",
    "person_id": "Record id",
    "person": "Name",
    "date_from": "From",
    "date_to": "To",
    "page": "Page",
    "older": "Older",
    "newer": "Newer",
}
PERSON_KINDS = {kind.singular: kind.label for kind in KINDS}
# Where a person's record lives, by the kind an audit subject or a PersonRow names.
RECORD_KINDS = {name: kind.segment for kind in KINDS for name in (kind.singular, kind.segment)}
RECORD_NOUNS = {kind.segment: kind.label for kind in KINDS}
CONSENT_ACTIONS = frozenset({"privacy.changed", "consent.sms_withdrawn", "consent.sms_given"})
# Subjects whose name the event's details carry: (noun, details key).
NAMED_SUBJECTS = {
    "smstemplate": ("Template", "name"),
    "role": ("Role", "role"),
    "user": ("User", "username"),
    "smsaccount": ("SMS account", "name"),
    "office": ("Office", "name"),
    "blockedregion": ("Blocked country", "name"),
}
# The details the app writes as times (a lock's `until`, a scheduled send's `send_at`): only these
# are shown as times. Any other may hold text someone typed (a failed sign-in's username), shown
# as typed even when it looks like a time.
MOMENT_KEYS = frozenset({"until", "send_at"})
ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


# --- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page of the log starts: an event's (created_at, id), the log's order. Older and
    Newer carry one, so a page follows from the one the reader saw even while events are added
    (an offset would show the page's last rows again on Older)."""

    created_at: datetime
    id: int

    @property
    def token(self) -> str:
        """As a link carries it: "20260101T005400000000-55" (UTC to the microsecond, the id)."""
        return f"{self.created_at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{self.id}"

    @classmethod
    def read(cls, token: str) -> Cursor | None:
        """The cursor a link carries; None when it is not one."""
        moment, _, number = token.partition("-")
        event_id = as_id(number)
        if event_id is None or len(moment) != 21:
            return None
        try:
            created_at = datetime.strptime(moment, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:
            return None
        return cls(created_at, event_id)

    @classmethod
    def of(cls, event: AuditEvent) -> Cursor:
        return cls(event.created_at, event.id)


@dataclass(frozen=True)
class Filters:
    """What the audit page asks for; every field is optional and empty means "any"."""

    actor: str = ""
    action: str = ""
    person_kind: str = "candidate"
    person_id: int | None = None
    person: str = ""
    date_from: date | None = None
    date_to: date | None = None
    zone: tzinfo = zone_field()  # the dates are whole days here (the reader's zone)
    # The page: the events just older, or just newer, than this one (from Older and Newer links).
    older: Cursor | None = field(default=None, metadata={"in_link": False})
    newer: Cursor | None = field(default=None, metadata={"in_link": False})

    def params(self) -> dict[str, str]:
        """The filters in force, as query-string values (for page links)."""
        # The record type narrows nothing without a record id.
        return query_params(self, leave_out=("person_kind",) if self.person_id is None else ())

    @property
    def is_filtered(self) -> bool:
        return bool(self.params())


def parse(
    session: so.Session, args: Mapping[str, str], zone: tzinfo | None = None
) -> tuple[Filters, int, dict[str, str]]:
    """Read filters and the page number from request arguments (the dates as days in `zone`, the
    reader's; UTC when none is given).

    Returns (filters, page, errors): a bad value is left out (the log is still shown without it) and
    its field named in `errors` with a message for the form.
    """
    text, errors = read_text(args, TEXT_LABELS, MAX_TEXT)
    values: dict[str, Any] = {"person": text["person"]}
    if zone is not None:
        values["zone"] = zone

    if text["actor"]:
        if session.scalar(
            sa.select(User.id).where(sa.func.lower(User.username) == text["actor"].lower())
        ):
            values["actor"] = text["actor"]
        else:
            errors["actor"] = f"There is no user with the username “{text['actor']}”."
    if text["action"]:
        if ACTION_PATTERN.match(text["action"]) and text["action"] in actions(session):
            values["action"] = text["action"]
        else:
            errors["action"] = "Choose an action from the list."
    if text["person_kind"] and text["person_kind"] not in PERSON_KINDS:
        errors["person_kind"] = "Record type must be candidate or client contact."
    elif text["person_kind"]:
        values["person_kind"] = text["person_kind"]
    if text["person_id"]:
        number = as_id(text["person_id"])
        if number is None:
            errors["person_id"] = (
                f"Record id must be a whole number like 42, not “{text['person_id']}”."
            )
        elif "person_kind" not in errors:
            values["person_id"] = number
    values.update(date_range(text, TEXT_LABELS, errors))
    page = page_number(text["page"], MAX_PAGE, errors)
    for direction in ("older", "newer"):
        if text[direction]:
            cursor = Cursor.read(text[direction])
            if cursor is None:
                errors[direction] = "That page link is not one of this log’s: the newest are shown."
            else:
                values[direction] = cursor
                break  # a link carries one of them
    return Filters(**values), page, errors


def actions(session: so.Session) -> list[str]:
    """The actions present in the log, for the action filter."""
    return list(
        session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def actors(session: so.Session) -> list[str]:
    """Usernames of everyone who appears in the log, to suggest in the actor box."""
    query = (
        sa.select(User.username)
        .where(User.id.in_(sa.select(AuditEvent.actor_id)))
        .order_by(User.username)
    )
    return list(session.scalars(query))


# --- the query ------------------------------------------------------------------------------------


def _prefix(column, word: str):
    return sa.and_(column >= word, column < word + TOP)


def _named(model, text: str) -> sa.Select:
    """Ids of people whose first or last name starts with each word of `text`."""
    words = name_key(text).split()
    return sa.select(model.id).where(
        *[
            sa.or_(_prefix(model.first_name_key, word), _prefix(model.last_name_key, word))
            for word in words
        ]
    )


def _about(people: dict[Kind, sa.Select | list[int]]):
    """Events on these people's records, and on the SMS batches that went to them."""
    on_record, sent_to = [], []
    for kind, ids in people.items():
        on_record.append(
            sa.and_(AuditEvent.subject_type == kind.singular, AuditEvent.subject_id.in_(ids))
        )
        sent_to.append(getattr(Message, kind.person_column).in_(ids))
    batches = sa.select(Message.batch_id).where(Message.batch_id.is_not(None), sa.or_(*sent_to))
    return sa.or_(
        *on_record, sa.and_(AuditEvent.subject_type == "batch", AuditEvent.subject_id.in_(batches))
    )


def conditions(filters: Filters) -> list:
    """The WHERE conditions for `filters`."""
    where = []
    if filters.actor:
        where.append(
            AuditEvent.actor_id.in_(
                sa.select(User.id).where(sa.func.lower(User.username) == filters.actor.lower())
            )
        )
    if filters.action:
        where.append(AuditEvent.action == filters.action)
    if filters.person_id is not None:
        where.append(_about({KINDS.by_singular(filters.person_kind): [filters.person_id]}))
    if filters.person and name_key(filters.person):
        where.append(_about({kind: _named(kind.model, filters.person) for kind in KINDS}))
    start, end = day_bounds(filters.date_from, filters.date_to, filters.zone)
    if start:
        where.append(AuditEvent.created_at >= start)
    if end:
        where.append(AuditEvent.created_at < end)
    return where


@dataclass(frozen=True)
class Entry:
    """One row of the log: the event, what it is about in words, and its details described."""

    event: AuditEvent
    subject: str | None
    record_kind: str | None
    details: Details


@dataclass(frozen=True)
class Page:
    """One page of the log: its entries, where they start among all `total` matching events now
    (`start`, from 0), and the cursors of the pages beside it (None: there is none)."""

    entries: list[Entry]
    total: int
    start: int = 0
    older: Cursor | None = None
    newer: Cursor | None = None

    @property
    def page(self) -> int:
        return self.start // PAGE_SIZE + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_next(self) -> bool:
        return self.older is not None

    @property
    def first(self) -> int:
        """The first entry's place among the matching events, from 1 (as "51–100 of 120" says)."""
        return self.start + 1

    @property
    def last(self) -> int:
        return self.start + len(self.entries)


def _older_than(cursor: Cursor):
    return sa.or_(
        AuditEvent.created_at < cursor.created_at,
        sa.and_(AuditEvent.created_at == cursor.created_at, AuditEvent.id < cursor.id),
    )


def _newer_than(cursor: Cursor):
    return sa.or_(
        AuditEvent.created_at > cursor.created_at,
        sa.and_(AuditEvent.created_at == cursor.created_at, AuditEvent.id > cursor.id),
    )


NEWEST_FIRST = (AuditEvent.created_at.desc(), AuditEvent.id.desc())
OLDEST_FIRST = (AuditEvent.created_at.asc(), AuditEvent.id.asc())


def search(session: so.Session, filters: Filters, page: int = 1) -> Page:
    """One page of matching events, newest first: those just older (or newer) than the cursor
    filters.older (filters.newer) when a link carries one, else page `page`.

    Older and Newer page by (created_at, id) as exports.sent_rows does, so events added or
    removed meanwhile neither repeat nor skip a row; where the page starts is counted now.
    """
    where = conditions(filters)

    def count(*more) -> int:
        query = sa.select(sa.func.count()).select_from(AuditEvent).where(*where, *more)
        return session.scalar(query) or 0

    total = count()
    events: list[AuditEvent]
    select = sa.select(AuditEvent).where(*where)
    # One more than a page is read, to know whether there is a page beyond it.
    if filters.older is not None:
        events = list(
            session.scalars(
                select.where(_older_than(filters.older))
                .order_by(*NEWEST_FIRST)
                .limit(PAGE_SIZE + 1)
            )
        )
        start = count(sa.not_(_older_than(filters.older)))
        more_older = len(events) > PAGE_SIZE
    else:
        events = []
        if filters.newer is not None:
            events = list(
                session.scalars(
                    select.where(_newer_than(filters.newer))
                    .order_by(*OLDEST_FIRST)
                    .limit(PAGE_SIZE + 1)
                )
            )
            events.reverse()
        if len(events) > PAGE_SIZE:
            # More than a page is newer: the page just newer than the cursor, and the events
            # newer still counted before it.
            events = events[1:]
            start = count(_newer_than(Cursor.of(events[0])))
            more_older = True  # the page the reader came from, at least
        else:
            # The newest page (a Newer that reaches the top shows the whole first page), or the
            # page a number names (a bookmark).
            offset = 0 if filters.newer is not None else (page - 1) * PAGE_SIZE
            events = list(
                session.scalars(select.order_by(*NEWEST_FIRST).offset(offset).limit(PAGE_SIZE + 1))
            )
            start = offset
            more_older = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    names = _subject_names(session, events)
    described = _name_people(session, [describe(event.action, event.details) for event in events])
    # Only a record that still exists is linked; a removed one would be a link to a 404.
    entries = [
        Entry(
            event,
            _subject_label(event, names),
            RECORD_KINDS.get(event.subject_type or "")
            if (event.subject_type, event.subject_id) in names
            else None,
            details,
        )
        for event, details in zip(events, described, strict=True)
    ]
    return Page(
        entries=entries,
        total=total,
        start=start,
        older=Cursor.of(events[-1]) if events and more_older else None,
        newer=Cursor.of(events[0]) if events and start > 0 else None,
    )


def _name_people(session: so.Session, described: list[Details]) -> list[Details]:
    """Name the people an entry records by id and number only, as their records are named now."""
    wanted = {(p.record_kind, p.id) for d in described for p in d.people if not p.named and p.id}
    names: dict[tuple[str | None, int | None], str] = {}
    for kind in KINDS:
        model = kind.model
        ids = sorted(number for k, number in wanted if k == kind.segment)
        for start in range(0, len(ids), 1_000):
            rows = session.execute(
                sa.select(model.id, model.first_name, model.last_name).where(
                    model.id.in_(ids[start : start + 1_000])
                )
            )
            names.update({(kind.segment, row.id): person_name(row) for row in rows})

    def named(person: PersonRef) -> PersonRef:
        if person.named or not person.id:
            return person
        if (person.record_kind, person.id) in names:
            return replace(person, name=names[(person.record_kind, person.id)], named=True)
        return replace(person, name=f"{person.name} (removed)", record_kind=None)

    return [
        replace(d, people=tuple(named(p) for p in d.people)) if d.people else d for d in described
    ]


def _subject_names(session: so.Session, events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    for kind in KINDS:
        model, subject = kind.model, kind.singular
        ids = {
            e.subject_id for e in events if e.subject_type == subject and e.subject_id is not None
        }
        if ids:
            rows = session.execute(
                sa.select(model.id, model.first_name, model.last_name).where(model.id.in_(ids))
            )
            names.update({(subject, row.id): person_name(row) for row in rows})
    # Most user events keep no username (an edit, two-factor, a password change): they are named
    # as the user is now, with one query for the page.
    users = {e.subject_id for e in events if e.subject_type == "user" and e.subject_id is not None}
    if users:
        rows = session.execute(sa.select(User.id, User.username).where(User.id.in_(users)))
        names.update({("user", row.id): row.username for row in rows})
    return names


def _subject_label(event: AuditEvent, names: dict[tuple[str, int], str]) -> str | None:
    kind, number = event.subject_type, event.subject_id
    if kind is None:
        return None
    if number is None:
        return kind
    if kind in NAMED_SUBJECTS:
        # Named as they were when the event was written: a later rename does not rewrite history.
        # An event that kept no name is named as its subject is now, when that was looked up.
        noun, key = NAMED_SUBJECTS[kind]
        name = event.details.get(key) if isinstance(event.details, dict) else None
        if not (isinstance(name, str) and name):
            name = names.get((kind, number))
        return f"{noun} “{name}”" if name else f"{noun} {number}"
    if (kind, number) in names:
        return names[(kind, number)]
    if kind == "batch":
        return f"SMS batch {number}"
    if kind in PERSON_KINDS:
        return f"{PERSON_KINDS[kind]} {number} (removed)"
    return f"{kind} {number}"


# --- details in words -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRef:
    """Someone named in an event's details; `record_kind` is set when their record can be linked."""

    name: str
    record_kind: str | None
    id: int | None
    mobile: str
    named: bool = True  # False while `name` is only "Candidate 12", until the record is looked up


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Details:
    """An event's details JSON as text: people with a reason (Ignore), changes, added/removed,
    lines."""

    people: tuple[PersonRef, ...] = ()
    reason: str | None = None
    changes: tuple[Change, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    lines: tuple[tuple[str, str | datetime], ...] = ()  # a time as a datetime, for the page
    overridden: bool = False
    people_count: int = 0  # may exceed len(people): beyond a cap an entry records ids only
    person_ids: str = ""  # those ids, as ranges ("Candidate ids 1–40, 52")


def as_text(value: Any) -> str:
    """Any JSON value as plain text: never markup, never code. Nothing ("", None) is "—", so a
    change from an empty setting reads "originator: — → +61400000000"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {as_text(item)}" for key, item in value.items()) or "—"
    return str(value)


def _label(field: str) -> str:
    return PRIVACY_FIELDS.get(field) or field.replace("_", " ")


def describe(action: str, details: Any) -> Details:
    """Turn an event's details into readable parts; anything unexpected falls back to key: value."""
    if not isinstance(details, dict):
        return Details(lines=(("details", as_text(details)),) if details not in (None, {}) else ())
    rest = dict(details)
    # An Add form's one-time token (webapp.people.records.add_person) means nothing to a reader.
    rest.pop("form_token", None)
    # Each part takes its keys out of `rest`; what no part understood is shown as key: value.
    parts: dict[str, Any] = {}
    if action == "sms.ignore_opt_out" and (
        isinstance(rest.get("people"), list) or _is_id(rest.get("people_count"))
    ):
        parts.update(_overridden(rest))
    if (
        action == "sms_account.changed"
        and isinstance(rest.get("changes"), dict)
        and "secrets_changed" in rest["changes"]
    ):
        # Events written before the names of changed secrets were kept beside the changes.
        changes = dict(rest["changes"])
        rest["secrets_changed"] = changes.pop("secrets_changed")
        if changes:
            rest["changes"] = changes
        else:
            del rest["changes"]
    if isinstance(rest.get("changes"), dict) and all(
        isinstance(pair, list) and len(pair) == 2 for pair in rest["changes"].values()
    ):
        parts["changes"] = tuple(
            Change(_label(str(field)), _value(field, old), _value(field, new))
            for field, (old, new) in rest.pop("changes").items()
        )
    if action == "role.permissions_changed":
        for key in ("added", "removed"):
            if key in rest:
                parts[key] = _names(rest.pop(key))
    if action == "user.daily_limit_changed":
        # A user's own limit: 0 is no limit; none (—) is their roles' default.
        for key in ("old", "new"):
            if key in rest and rest[key] == 0 and not isinstance(rest[key], bool):
                rest[key] = "no limit"
    lines = tuple(
        (str(key).replace("_", " "), (key in MOMENT_KEYS and _moment(value)) or as_text(value))
        for key, value in rest.items()
    )
    return Details(lines=lines, **parts)


def _moment(value: Any) -> datetime | None:
    """A time the details hold in ISO form with its offset (a lock's `until`), as an aware datetime
    for the page to show in the reader's zone; None for anything else (a year outside 1900-2999
    too: at Python's ends, "0001-01-01T00:00+14:00" would overflow in the reader's zone)."""
    if not isinstance(value, str) or not ISO_MOMENT.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if FIRST_DAY.year <= moment.year <= LAST_DAY.year else None


def _overridden(rest: dict) -> dict[str, Any]:
    """The people an Ignore was used for, how many, and why."""
    # Stored logs hold both shapes: the kind once and each person as [id, number] (the size cap's),
    # or each person in full.
    kind = RECORD_KINDS.get(rest.pop("kind")) if isinstance(rest.get("kind"), str) else None
    people = ()
    if isinstance(rest.get("people"), list):
        people = tuple(_person(item, kind) for item in rest.pop("people"))
    count = rest.pop("people_count", None)
    person_ids = ""
    if isinstance(rest.get("ids"), str):
        noun = RECORD_NOUNS.get(kind, "Person")
        person_ids = f"{noun} ids " + rest.pop("ids").replace("-", "–").replace(",", ", ")
    given = rest.pop("reason", None)
    return {
        "overridden": True,
        "people": people,
        "people_count": count if _is_id(count) else len(people),
        "person_ids": person_ids,
        "reason": as_text(given).strip() if given else "",
    }


def _value(field: Any, value: Any) -> str:
    if field in PRIVACY_FIELDS and isinstance(value, bool):
        return "ticked" if value else "not ticked"
    if field == ROLE_LIMITS_KEY and isinstance(value, dict):
        return "; ".join(f"{role}: {_limit(limit)}" for role, limit in value.items()) or "—"
    if field == ORGANISATION_LIMIT_KEY:
        return _limit(value)
    return as_text(value)


def _limit(value: Any) -> str:
    """A daily limit as the pages say it: 0 is "no limit", not a limit of nothing."""
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return "no limit"
    return as_text(value)


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(as_text(item) for item in value)
    return (as_text(value),)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _person(item: Any, kind: str | None = None) -> PersonRef:
    if isinstance(item, list) and len(item) == 2:  # [id, number], of the entry's kind
        number = item[0] if _is_id(item[0]) else None
        name = f"{RECORD_NOUNS.get(kind, 'Person')} {number or '?'}"
        return PersonRef(
            name=name,
            record_kind=kind if number else None,
            id=number,
            mobile=as_text(item[1]) if item[1] else "",
            named=False,
        )
    if not isinstance(item, dict):
        return PersonRef(name=as_text(item), record_kind=None, id=None, mobile="")
    number = item.get("id")
    number = number if _is_id(number) else None
    kind = RECORD_KINDS.get(item.get("kind")) if isinstance(item.get("kind"), str) else None
    name = as_text(item.get("name")) if item.get("name") else f"{kind or 'person'} {number or '?'}"
    return PersonRef(
        name=name,
        record_kind=kind if number else None,
        id=number,
        mobile=as_text(item.get("mobile")) if item.get("mobile") else "",
    )
