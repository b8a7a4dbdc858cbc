"""Search over Candidates and Client Contacts: criteria parsed from a query string, turned into SQL.

The search page and the SMS screen ("select all N matching") share this, so a selection made by
criteria is re-run on the server and never carried as a list of names or numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.sql import visitors

from webapp import database
from webapp.filters import day_bounds, filter_day, page_number, query_params, zone_field
from webapp.models.people import Candidate, Client, ClientContact, name_key, person_name
from webapp.people import trigrams
from webapp.people.kinds import KINDS, Kind
from webapp.phones import searched_number
from webapp.text import filter_value

PAGE_SIZE = 50
MAX_PAGE = 2_000
MAX_TEXT = 200
TEXT_LABELS = {
    "q": "Search",
    "location": "Location",
    "job": "Job title / skills",
    "client": "Client",
    "position": "Position",
}
COUNT_CAP = 1_000
# A contains-term the trigram table finds this often is common enough that a walk in the sort
# order meets a page of matches within a few thousand rows; a rarer one is collected and sorted.
DENSE = 20_000
SORTS = {
    "name": "Name A–Z",
    "-name": "Name Z–A",
    "-created": "Newest first",
    "created": "Oldest first",
}
CONSENT_CHOICES = {"any": "Any", "yes": "Ticked", "no": "Not ticked"}
# Above every character a name can hold, so [key, key + TOP) is exactly "starts with key".
TOP = "\U0010ffff"


@dataclass(frozen=True)
class Criteria:
    """What a search asks for; every field is optional and '' means "any"."""

    kind: str = "candidates"
    q: str = ""
    status: str = ""
    location: str = ""
    job: str = ""
    consent: str = "any"
    created_from: date | None = None
    created_to: date | None = None
    client: str = ""
    position: str = ""
    sort: str = "name"
    zone: tzinfo = zone_field()  # the created dates are whole days here (the reader's zone)

    @property
    def of_kind(self) -> Kind:
        return KINDS.by_segment(self.kind)

    @property
    def model(self) -> type[Candidate] | type[ClientContact]:
        return self.of_kind.model

    @property
    def statuses(self) -> tuple[str, ...]:
        return self.of_kind.statuses

    def params(self) -> dict[str, str]:
        """The non-default criteria as query-string values (for links and hidden fields); the
        kind is in the path."""
        return query_params(self, leave_out=("kind",))

    @property
    def is_filtered(self) -> bool:
        return any(key != "sort" for key in self.params())


def parse(
    kind: str, args: Mapping[str, str], zone: tzinfo | None = None
) -> tuple[Criteria, int, dict[str, str]]:
    """Read criteria and the page number from request arguments (the created dates as days in
    `zone`, the reader's; UTC when none is given).

    Returns (criteria, page, errors): a bad value is dropped (the search still runs without it)
    and its field named in `errors` with a message for the form.
    """
    if kind not in KINDS.segments:
        raise ValueError(f"unknown kind {kind!r}")
    of_kind = KINDS.by_segment(kind)
    errors: dict[str, str] = {}
    text = {
        key: (args.get(key) or "").strip()
        for key in ("q", "status", "location", "job", "consent", "client", "position", "sort")
    }
    values: dict = {"kind": kind}
    if zone is not None:
        values["zone"] = zone
    # Location and job are checked on either kind's page: a bad one is answered with 400 on both.
    # Only the kind's own are kept: one it has no box for would otherwise ride along in its page
    # links and the Bulk SMS form's hidden fields, which the search form as typed never matches.
    for key in dict.fromkeys(("q", "location", "job", *of_kind.filters)):
        value, problem = filter_value(TEXT_LABELS[key], args.get(key), MAX_TEXT)
        if problem:
            errors[key] = problem
        elif key == "q" or key in of_kind.filters:
            values[key] = value

    statuses = of_kind.statuses
    if text["status"] and text["status"] not in statuses:
        errors["status"] = f"Status must be one of {', '.join(statuses)}."
    else:
        values["status"] = text["status"]
    if text["consent"] and text["consent"] not in CONSENT_CHOICES:
        errors["consent"] = "SMS consent must be any, ticked or not ticked."
    else:
        values["consent"] = text["consent"] or "any"
    if text["sort"] and text["sort"] not in SORTS:
        errors["sort"] = "Unknown sort order; sorted by name instead."
    else:
        values["sort"] = text["sort"] or "name"
    for key, label in (("created_from", "Created from"), ("created_to", "Created to")):
        raw = (args.get(key) or "").strip()
        if raw:
            day, problem = filter_day(raw, label)
            if problem:
                errors[key] = problem
            else:
                values[key] = day
    criteria = Criteria(**values)
    if (
        criteria.created_from
        and criteria.created_to
        and criteria.created_from > criteria.created_to
    ):
        errors["created_to"] = "Created to is before Created from."
        criteria = replace(criteria, created_to=None)

    page = page_number(
        (args.get("page") or "").strip(), MAX_PAGE, errors, "; narrow the search to see more"
    )
    return criteria, page, errors


# Each statement is built once per *shape* and reused. SQLAlchemy caches the compiled SQL, but
# building the Select and generating its cache key on every request cost about as much CPU as
# the rest of the search. So no value (a name key, a status, a date, a LIMIT) is written into a
# statement: each is a named sa.bindparam, and the statements are cached (lru_cache) by a Shape,
# everything that changes their structure (the kind, which filters are present, the sort, the
# dialect, the class of q: a number, an address, one word, two or more). _bind() reads the shape
# and the values from the criteria in one pass, so the two cannot disagree, and the statement is
# executed with the values as its parameters (a value missing from them is an error, not a
# stale one). The cached statements are never changed, so threads can share them.
class Shape(NamedTuple):
    """What a search's SQL depends on besides its values."""

    kind: str
    dialect: str
    sort: str
    q: str  # "", "mobile", "email", "number" (of no real number), "word", "two" or "many" (words)
    short_q: bool  # q has fewer than three characters (read in index order)
    short_key: bool  # the (first) word's key is one character: it has no shorter part
    status: bool
    consent: str
    start: bool
    end: bool
    location: bool
    client: bool
    contains: bool  # the kind's contains-filter (job / position)
    usable: bool  # ...long enough for the trigram table
    only_contains: bool  # ...and nothing else
    dense: bool = False  # see _dense

    @property
    def model(self) -> type[Candidate] | type[ClientContact]:
        return KINDS.by_segment(self.kind).model


def _bind(criteria: Criteria, default_region: str, dialect: str) -> tuple[Shape, dict]:
    """The shape of `criteria`'s statements and the values of their parameters."""
    values: dict = {}

    def prefix(name: str, text: str) -> None:
        values[name] = key = name_key(text)
        values[f"{name}_top"] = key + TOP

    # "Lovelace, Ada" as a list or a letter writes it: the comma parts words as a space does. A
    # word that is only accents has no key: as a prefix it would match everyone.
    words = [word for word in criteria.q.replace(",", " ").split() if name_key(word)]
    q = " ".join(words)
    q_class = ""
    if q:
        number = searched_number(q, default_region)
        if number.real:
            q_class, values["e164"] = "mobile", number.e164
        elif "@" in q:
            q_class = "email"
        elif number.e164:
            q_class, values["e164"] = "number", number.e164
        elif len(words) == 1:
            q_class = "word"
        else:
            q_class = "two" if len(words) == 2 else "many"
            prefix("first", words[0])
            prefix("rest", " ".join(words[1:]))
            prefix("before", " ".join(words[:-1]))
            prefix("last", words[-1])
        if q_class != "mobile":
            prefix("q", q)
    key = values.get("q", "")
    if q_class == "word":
        values["shorter"] = [key[:n] for n in range(1, len(key))]
        values["q_length"] = len(key)
    if criteria.status:
        values["status"] = criteria.status
    values["start"], values["end"] = day_bounds(
        criteria.created_from, criteria.created_to, criteria.zone
    )
    applies = criteria.of_kind.filters
    location = bool(criteria.location) and "location" in applies
    if location:
        prefix("location", criteria.location)
    client = bool(criteria.client) and "client" in applies
    if client:
        prefix("client", criteria.client)
    text = _contains_text(criteria)
    if text:
        # What contains(text.lower(), autoescape=True) would bind, escaped here instead.
        escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
        values["contains"] = escaped
        values["phrase"] = trigrams.match_phrase(text)
    shape = Shape(
        kind=criteria.kind,
        dialect=dialect,
        sort=criteria.sort,
        q=q_class,
        short_q=len(q) < 3,
        short_key=q_class in ("word", "two", "many") and len(values.get("first", key)) < 2,
        status=bool(criteria.status),
        consent=criteria.consent,
        start=values["start"] is not None,
        end=values["end"] is not None,
        location=location,
        client=client,
        contains=bool(text),
        usable=bool(text) and trigrams.usable(text),
        only_contains=_only_contains(criteria),
    )
    return shape, values


def _param(name: str, type_=None) -> sa.BindParameter:
    """A placeholder for the value _bind gives `name` (typed like the column it is compared
    with unless told)."""
    return sa.bindparam(name, type_=type_)


def _prefix(column, name: str):
    """`column` starts with the text bound as `name` (see _bind's prefix)."""
    return sa.and_(column >= _param(name), column < _param(f"{name}_top"))


def _text_condition(s: Shape):
    model = s.model
    if s.q == "mobile":
        return model.mobile_e164 == _param("e164")
    if s.q == "email":
        return _prefix(model.email_key, "q")
    if s.q in ("word", "number"):
        return sa.or_(
            # Digits of no real number: a mobile kept as typed ("0412 345", listed as an invalid
            # number) is stored in E.164 all the same, and an address may start with them.
            *([model.mobile_e164 == _param("e164")] if s.q == "number" else []),
            _prefix(model.first_name_key, "q"),
            _prefix(model.last_name_key, "q"),
            _prefix(model.email_key, "q"),
        )
    # Two words: "rest" is "last" and "before" is "first"; more give three distinct pairs.
    pairs = [("first", "last")] if s.q == "two" else [("first", "rest"), ("before", "last")]
    return sa.or_(
        # "ada love", "lovelace ada", or one name of several words ("van der Berg"): each is one
        # range on an indexed key.
        _prefix(model.full_name_key, "q"),
        _prefix(model.reverse_name_key, "q"),
        _prefix(model.last_name_key, "q"),
        _prefix(model.first_name_key, "q"),
        # Both words shortened ("ad lo", "love a") or a middle name skipped ("Mary Watson"): a
        # range on one name with the other checked inside the same composite index.
        *_both_names(
            s,
            dict.fromkeys([*pairs, ("first", "last")]),
            first_column=model.first_name_key,
            second_column=model.last_name_key,
        ),
        *_both_names(
            s,
            dict.fromkeys([pairs[0], ("first", "last")]),
            first_column=model.last_name_key,
            second_column=model.first_name_key,
        ),
    )


def _both_names(s: Shape, pairs, first_column, second_column) -> list:
    """`first_column` starts with a and `second_column` with b, for each (a, b) of `pairs`
    (names of bound texts).

    PostgreSQL checks the second range inside the index by itself (and can OR such scans
    together). SQLite would read every table row the first range finds, so there the same test
    is a subquery of ids, which it answers from the index alone. From a first name it would read
    every entry of that range ("olivia": 16,000 at a million) to test the surname: first names
    repeat, so there the subquery takes each distinct first name of the range
    (_distinct_values) and one range of the composite index within it. Surnames are too varied
    for a probe each, and so is the start of a first name of one letter.
    """
    terms = [sa.and_(_prefix(first_column, a), _prefix(second_column, b)) for a, b in pairs]
    if s.dialect == "postgresql":
        return terms
    model = s.model
    if s.short_key or first_column is not model.first_name_key:
        return [model.id.in_(sa.select(model.id).where(sa.or_(*terms)))]
    distinct = {a: _distinct_values(first_column, a) for a, _b in pairs}
    ids = [
        sa.select(model.id)
        .select_from(distinct[a])
        .join(model, first_column == distinct[a].c.value)
        .where(_prefix(second_column, b))
        for a, b in pairs
    ]
    return [model.id.in_(sa.union_all(*ids) if len(ids) > 1 else ids[0])]


def conditions(
    criteria: Criteria, default_region: str, dialect: str = "sqlite", scan: bool = False
) -> list:
    """The WHERE conditions for `criteria`, with its values (for a query of one's own; the
    search's statements are built from _conditions and cached)."""
    shape, values = _bind(criteria, default_region, dialect)

    def fill(bind: sa.BindParameter) -> None:
        bind.value, bind.required = values[bind.key], False

    return [
        visitors.cloned_traverse(condition, {}, {"bindparam": fill})
        for condition in _conditions(shape, scan)
    ]


def _conditions(s: Shape, scan: bool = False) -> list:
    """The WHERE conditions of a search of shape `s`, written so indexes can serve the common
    ones.

    `scan` tests a contains-filter on each row read instead of collecting its matches from the
    trigram table first (better when the rows are walked in order and matches are common).
    """
    model = s.model
    where = []
    if s.q:
        where.append(_text_condition(s))
    if s.status:
        status = model.status
        if model is Candidate and not s.location and s.dialect.startswith("sqlite"):
            # Without a location, ix_candidates_status_location serves no range: with table
            # statistics SQLite would still take it for status = ? and then sort every match
            # (~500 ms for "Placed" at a million) rather than walk the name order and stop after
            # a page. An expression keeps the index out.
            status = status.concat(sa.literal_column("''"))
        where.append(status == _param("status"))
    if s.consent != "any":
        where.append(model.sms_consent.is_(s.consent == "yes"))
    if s.start:
        where.append(model.created_at >= _param("start"))
    if s.end:
        where.append(model.created_at < _param("end"))
    # Each kind's own filters, location or client then the contains-filter (job or position);
    # _bind leaves out a value given for the other kind's (location on contacts).
    if s.location:
        where.append(_prefix(Candidate.location_key, "location"))
    if s.client:
        where.append(
            ClientContact.client_id.in_(
                sa.select(Client.id).where(_prefix(Client.name_key, "client"))
            )
        )
    if s.contains:
        where.append(_contains_any(s) if not scan else _scan_any(s))
    return where


def _contains_columns(s: Shape) -> tuple:
    if s.model is Candidate:
        return (Candidate.job_title, Candidate.skills)
    return (ClientContact.position,)


def _scan_any(s: Shape):
    """Case-insensitive substring match on any of the columns (SQLite's lower() is made
    Unicode-aware in database.py); the bound text is lower-cased and LIKE-escaped by _bind."""
    return sa.or_(
        *(
            sa.func.lower(column).contains(_param("contains"), escape="/")
            for column in _contains_columns(s)
        )
    )


def _trigram_match(model) -> sa.Select:
    """Ids whose searched columns contain the bound phrase, from the SQLite trigram table (see
    trigrams)."""
    name = trigrams.table_for(model.__tablename__)
    table = sa.table(name, sa.column("rowid"))
    return sa.select(table.c.rowid).where(sa.literal_column(name).op("MATCH")(_param("phrase")))


def _contains_any(s: Shape):
    """Any of the columns contains the text: from the trigram table on SQLite when it has one
    and the text is long enough for it, else as LIKE on each row (PostgreSQL's pg_trgm indexes
    serve that)."""
    if s.dialect == "sqlite" and s.usable:
        return s.model.id.in_(_trigram_match(s.model))
    return _scan_any(s)


def _contains_text(criteria: Criteria) -> str:
    """The contains-filter's text that applies to this kind, or ''."""
    applies = criteria.of_kind.filters
    if "job" in applies:
        return criteria.job
    if "position" in applies:
        return criteria.position
    return ""


def _only_contains(criteria: Criteria) -> bool:
    """Whether the contains-filter is the only criterion (so the trigram table alone counts)."""
    c = criteria
    others = [getattr(c, key) for key in c.of_kind.filters if key not in ("job", "position")]
    return not any((c.q, c.status, c.consent != "any", c.created_from, c.created_to, *others))


@lru_cache(maxsize=64)
def _dense_statement(model) -> sa.Select:
    matched = _trigram_match(model).limit(_param("dense", sa.Integer)).subquery()
    return sa.select(sa.func.count()).select_from(matched)


def _dense(session: so.Session, s: Shape, values: dict) -> bool:
    """Whether the trigram table finds the contains-filter's text at least DENSE times."""
    if s.dialect != "sqlite" or not s.usable:
        return False
    found = database.read(session, _dense_statement(s.model), {**values, "dense": DENSE}).scalar()
    return (found or 0) >= DENSE


def _order(criteria: Criteria | Shape, model=None) -> list:
    model = model if model is not None else criteria.model
    if criteria.sort == "name":
        return [model.last_name_key, model.first_name_key, model.id]
    if criteria.sort == "-name":
        return [model.last_name_key.desc(), model.first_name_key.desc(), model.id.desc()]
    if criteria.sort == "created":
        return [model.created_at, model.id]
    return [model.created_at.desc(), model.id.desc()]


class ResultRow(NamedTuple):
    """What a results table shows of one person, read as plain columns rather than loaded as a
    record: building 50 full ORM objects cost more than the query that found them."""

    id: int
    first_name: str
    last_name: str
    mobile_raw: str | None
    mobile_e164: str | None
    mobile_valid: bool
    sms_consent: bool
    status: str
    job_title: str | None = None
    location: str | None = None
    position: str | None = None
    client_name: str | None = None

    full_name = property(person_name)


def _row_query(model, entity) -> sa.Select:
    """SELECT of ResultRow's columns, in its order, from `entity` (the model or an alias of it)."""
    columns = [
        getattr(entity, name) for name in ResultRow._fields[: ResultRow._fields.index("job_title")]
    ]
    if model is Candidate:
        return sa.select(*columns, entity.job_title, entity.location)
    return sa.select(
        *columns,
        sa.null().label("job_title"),
        sa.null().label("location"),
        entity.position,
        Client.name.label("client_name"),
    ).outerjoin(Client, Client.id == entity.client_id)


@dataclass
class ResultPage:
    rows: list
    page: int
    total: int
    capped: bool
    has_next: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _word_branches(s: Shape) -> list | None:
    """A one-word search as disjoint conditions: surname, first name, then email prefix.

    Each can be ranked by name from an index that holds both name keys and the id (the surname
    branch straight from index order) and the best of them merged; collecting every match of a
    common prefix and sorting whole rows instead cost ~50 ms at a million people.

    Most addresses start with their owner's name ("olivia.smith@…"), so "oli" would read every
    Olivia's address again only to find her already matched. Such an address can match a word
    its owner's name does not only when that name is a shorter part of the word ("kel" for Ke
    Zed, kelpie@…): those few are looked up by name (the bound "shorter" parts), and the rest of
    the addresses are read from email_other_key, which leaves out the ones starting with the
    owner's name. None when the query is not a single word.
    """
    if s.q != "word":
        return None
    model = s.model
    last = _prefix(model.last_name_key, "q")
    first = _prefix(model.first_name_key, "q")
    neither = [sa.not_(first), sa.not_(last)]
    branches = [last, sa.and_(first, sa.not_(last))]
    if s.short_key:
        return branches + [sa.and_(_prefix(model.email_other_key, "q"), *neither)]
    shorter = sa.bindparam("shorter", expanding=True)
    named_shorter = sa.or_(model.first_name_key.in_(shorter), model.last_name_key.in_(shorter))
    starts = sa.func.substr(model.email_key, 1, _param("q_length", sa.Integer)) == _param(
        "q", sa.String
    )
    return branches + [
        sa.and_(_prefix(model.email_other_key, "q"), sa.not_(named_shorter), *neither),
        # Not a range on email_key: the planner must reach these few rows by their names.
        sa.and_(named_shorter, starts, *neither),
    ]


def _ranked_by_name(s: Shape, branches: list, filters: list, top) -> sa.Subquery:
    """(id, last, first) of the `top` first people by name in each branch, as one subquery.

    The surname branch reads its index in order and stops at `top`. The first-name branch goes
    one first name at a time, each in index order (see _by_each_first_name and
    _up_to_each_first_name): sorting every match of a common first name cost 2-5 ms on SQLite.
    The email branches, and on SQLite the first names of a one-letter word, read their covering
    index and keep the best `top`, which SQLite plans well by itself. PostgreSQL, left to
    itself, walks the surname index in order hoping to meet the other branches' matches early,
    and when there are none that is the whole table (seconds at a million rows): there the email
    branches are collected first (a materialized CTE).
    """
    model = s.model
    parts = []
    for n, branch in enumerate(branches):
        if n == 1 and s.dialect == "postgresql":
            ranked = _by_each_first_name(s, branch, filters, top)
        elif n == 1 and not s.short_key:
            # (One letter starts too many first names for a probe each; those are sorted.)
            ranked = _up_to_each_first_name(s, branch, filters, top)
        elif n and s.dialect == "postgresql":
            matched = (
                _name_keys(model)
                .where(branch, *filters)
                .cte(f"branch_{n}")
                .prefix_with("MATERIALIZED")
            )
            ranked = sa.select(matched).order_by(*_ranked_order(s, matched)).limit(top)
        elif n == 3:
            # The few people named by a shorter part of the word: with table statistics SQLite
            # would walk the whole name index in order for them (~300 ms at a million) rather
            # than look both names up and sort the handful; a key that is an expression keeps
            # the index out of the ordering.
            keys = _name_keys(model).where(branch, *filters).subquery()
            ranked = sa.select(keys).order_by(*_ranked_order(s, keys, unindexed=True)).limit(top)
        else:
            ranked = _name_keys(model).where(branch, *filters).order_by(*_order(s)).limit(top)
        parts.append(sa.select(ranked.subquery()))
    return sa.union_all(*parts).subquery("ranked")


def _distinct_values(column, name: str) -> sa.CTE:
    """The distinct values of `column` starting with the text bound as `name`, one index probe
    each (a "loose index scan"), and a NULL after the last: a common value is then one step
    rather than all of its rows."""
    low, high = _param(name), _param(f"{name}_top")
    values = (
        sa.select(sa.func.min(column).label("value"))
        .where(column >= low, column < high)
        .cte(f"{column.key}_{name}", recursive=True)
    )
    after = sa.select(sa.func.min(column)).where(column > values.c.value, column < high)
    following = sa.select(after.scalar_subquery()).where(values.c.value.is_not(None))
    return values.union_all(following)


def _by_each_first_name(s: Shape, branch, filters: list, top) -> sa.Select:
    """The first-name branch on PostgreSQL: the distinct first names starting with the word,
    and for each the `top` first people in index order. A common first name is then ~50 index
    entries rather than all of its ~16,000."""
    model = s.model
    names = _distinct_values(model.first_name_key, "q")
    each = (
        _name_keys(model)
        .where(model.first_name_key == names.c.value, branch, *filters)
        .order_by(*_order(s))
        .limit(top)
        .lateral("each_name")
    )
    return (
        sa.select(each)
        .select_from(names)
        .join(each, sa.true())
        .order_by(*_ranked_order(s, each))
        .limit(top)
    )


def _up_to_each_first_name(s: Shape, branch, filters: list, top) -> sa.Select:
    """The first-name branch on SQLite, which has no LATERAL: for each distinct first name
    starting with the word, the surname of its `top`-th person in order (or of its last, when
    it has fewer), read in index order; then that name's people up to that surname, one range
    of the same index. The best `top` of those are the branch's: ties on the bounding surname
    are read too, and the LIMIT drops them."""
    model = s.model
    first, last = model.first_name_key, model.last_name_key
    names = _distinct_values(first, "q")
    backwards = _order(s._replace(sort="-name" if s.sort == "name" else "name"))

    def surname(order: list, offset) -> sa.ScalarSelect:
        return (
            sa.select(last)
            .where(first == names.c.value, branch, *filters)
            .order_by(*order)
            .limit(1)
            .offset(offset)
            .scalar_subquery()
        )

    bounds = (
        sa.select(
            names.c.value.label("name"),
            sa.func.coalesce(surname(_order(s), top - 1), surname(backwards, 0)).label("surname"),
        )
        .where(names.c.value.is_not(None))
        .cte(f"{first.key}_bounds")
    )
    within = last <= bounds.c.surname if s.sort == "name" else last >= bounds.c.surname
    return (
        _name_keys(model)
        .select_from(bounds)
        .join(model, sa.and_(first == bounds.c.name, within))
        .where(branch, *filters)
        .order_by(*_order(s))
        .limit(top)
    )


def _name_keys(model) -> sa.Select:
    return sa.select(
        model.id.label("id"),
        model.last_name_key.label("last_key"),
        model.first_name_key.label("first_key"),
    )


def _ranked_order(s: Shape, ranked: sa.Subquery, unindexed: bool = False) -> list:
    keys = [ranked.c.last_key, ranked.c.first_key, ranked.c.id]
    if unindexed:
        keys = [keys[0].concat(""), keys[1].concat(""), keys[2] + 0]
    return keys if s.sort == "name" else [key.desc() for key in keys]


def _filters(s: Shape) -> list:
    return _conditions(s._replace(q=""))


@lru_cache(maxsize=512)
def _page_query(s: Shape) -> sa.Select:
    """The results in order, the bound `limit` of them from `offset` (`top` is their sum).

    A one-word search sorted by name merges its ranked branches (see _word_branches). Other
    names, emails and numbers of three or more characters match few people: collect them first
    (a materialized CTE), then sort. Otherwise PostgreSQL tends to walk the whole name index in
    order, hoping to meet matches early. A broad search (no text, or one or two letters of
    several words) is read in index order.
    """
    model = s.model
    limit, offset = _param("limit", sa.Integer), _param("offset", sa.Integer)
    if _ranked(s):
        ranked = _ranked_by_name(s, _word_branches(s), _filters(s), _param("top", sa.Integer))
        query = (
            _row_query(model, model)
            .join(ranked, model.id == ranked.c.id)
            .order_by(*_ranked_order(s, ranked))
        )
        return query.limit(limit).offset(offset)
    where = _conditions(s, scan=s.dense)
    # Location + status sorted by name is served by ix_candidates_status_location: SQLite
    # sorts its index entries (status, location, name keys) and reads the rows of one page.
    if s.short_q:
        query = _row_query(model, model).where(*where).order_by(*_order(s))
    else:
        matched = sa.select(model).where(*where).cte("matched").prefix_with("MATERIALIZED")
        entity = so.aliased(model, matched)
        query = _row_query(model, entity).order_by(*_order(s, entity))
    return query.limit(limit).offset(offset)


def _dialect(session: so.Session) -> str:
    """The database's dialect name; "sqlite-scan" for SQLite without the trigram tables."""
    name = session.get_bind().dialect.name
    if name != "sqlite":
        return name
    connection = session.connection()
    return "sqlite" if trigrams.present(connection.info, connection) else "sqlite-scan"


def _ranked(s: Shape) -> bool:
    """Whether the results are the one-word branches merged by name (see _word_branches)."""
    return s.q == "word" and s.sort in ("name", "-name")


def _prepare(session: so.Session, criteria: Criteria, default_region: str) -> tuple[Shape, dict]:
    shape, values = _bind(criteria, default_region, _dialect(session))
    if not _ranked(shape):
        shape = shape._replace(dense=_dense(session, shape, values))
    return shape, values


def search(session: so.Session, criteria: Criteria, page: int, default_region: str) -> ResultPage:
    """One page of results and a count bounded at COUNT_CAP (so a broad search stays fast): one
    query on the last page, two on any other."""
    shape, values = _prepare(session, criteria, default_region)
    offset = (page - 1) * PAGE_SIZE
    limit = PAGE_SIZE + 1
    page_values = {**values, "limit": limit, "offset": offset, "top": offset + limit}
    rows = [ResultRow(*row) for row in database.read(session, _page_query(shape), page_values)]
    if rows and len(rows) <= PAGE_SIZE and offset + len(rows) <= COUNT_CAP:
        # The last page is in hand: how many match is known without counting them again.
        total, capped = offset + len(rows), False
    else:
        total, capped = _count(session, shape, values, COUNT_CAP)
    return ResultPage(
        rows=rows[:PAGE_SIZE], page=page, total=total, capped=capped, has_next=len(rows) > PAGE_SIZE
    )


@lru_cache(maxsize=512)
def _count_query(s: Shape) -> sa.Select:
    """SELECT of how many match, counting no further than the bound `cap` (the cap + 1).

    A one-word search counts its disjoint branches one after another inside its own index, and
    the LIMIT on the whole stops before a later branch is read once the cap is passed (a common
    surname never reads the first-name or email index at all).
    """
    model = s.model
    cap = _param("cap", sa.Integer)
    branches = _word_branches(s)
    if s.dialect == "sqlite" and s.usable and s.only_contains:
        # Straight from the trigram table, which stops after cap + 1.
        counted = _trigram_match(model).limit(cap).subquery()
    elif branches:
        filters = _filters(s)
        parts = [
            sa.select(model.id).where(branch, *filters).limit(cap).subquery() for branch in branches
        ]
        counted = sa.union_all(*(sa.select(part) for part in parts)).limit(cap).subquery()
    else:
        counted = sa.select(model.id).where(*_conditions(s)).limit(cap).subquery()
    return sa.select(sa.func.count()).select_from(counted)


def _count(session: so.Session, s: Shape, values: dict, cap: int) -> tuple[int, bool]:
    # The count does not depend on the order or on how the page is read.
    statement = _count_query(s._replace(sort="name", dense=False))
    n = database.read(session, statement, {**values, "cap": cap + 1}).scalar() or 0
    return (cap, True) if n > cap else (n, False)


def count(
    session: so.Session, criteria: Criteria, default_region: str, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many match, counting no further than `cap` (returns (cap, True) beyond it)."""
    shape, values = _bind(criteria, default_region, _dialect(session))
    return _count(session, shape, values, cap)


@lru_cache(maxsize=512)
def _ids_query(s: Shape) -> sa.Select:
    """Ids of everyone matching, in the search's order, at most the bound `limit` of them."""
    limit = _param("limit", sa.Integer)
    if _ranked(s):
        ranked = _ranked_by_name(s, _word_branches(s), _filters(s), limit)
        return sa.select(ranked.c.id).order_by(*_ranked_order(s, ranked)).limit(limit)
    return (
        sa.select(s.model.id).where(*_conditions(s, scan=s.dense)).order_by(*_order(s)).limit(limit)
    )


def matching_ids(
    session: so.Session, criteria: Criteria, default_region: str, limit: int
) -> list[int]:
    """Ids of everyone matching, in the search's order, at most `limit` of them."""
    shape, values = _prepare(session, criteria, default_region)
    return list(session.scalars(_ids_query(shape), {**values, "limit": limit}))
