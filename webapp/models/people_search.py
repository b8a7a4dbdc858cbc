"""Search over Candidates and Client Contacts: criteria parsed from a query string, turned into SQL.

The search page and the SMS screen ("select all N matching") share this, so a selection made by
criteria is re-run on the server and never carried as a list of names or numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.people import (
    CANDIDATE_STATUSES, CONTACT_STATUSES, Candidate, Client, ClientContact, name_key,
)
from webapp.ids import as_id
from webapp.sms.numbers import search_key

PAGE_SIZE = 50
MAX_PAGE = 2_000
COUNT_CAP = 1_000
SORTS = {"name": "Name A–Z", "-name": "Name Z–A", "-created": "Newest first", "created": "Oldest first"}
CONSENT_CHOICES = {"any": "Any", "yes": "Ticked", "no": "Not ticked"}
# Above every character a name can hold, so [key, key + TOP) is exactly "starts with key".
TOP = "\U0010ffff"
MODELS = {"candidates": Candidate, "contacts": ClientContact}


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

    @property
    def model(self) -> type[Candidate] | type[ClientContact]:
        return MODELS[self.kind]

    @property
    def statuses(self) -> tuple[str, ...]:
        return CANDIDATE_STATUSES if self.kind == "candidates" else CONTACT_STATUSES

    def params(self) -> dict[str, str]:
        """The non-default criteria as query-string values (for links and hidden fields)."""
        out = {}
        for f in fields(self):
            if f.name == "kind":
                continue
            value = getattr(self, f.name)
            if value in (None, "", f.default):
                continue
            out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @property
    def is_filtered(self) -> bool:
        return any(key != "sort" for key in self.params())


def parse(kind: str, args: Mapping[str, str]) -> tuple[Criteria, int, dict[str, str]]:
    """Read criteria and the page number from request arguments.

    Returns (criteria, page, errors): a bad value is dropped (the search still runs without it)
    and its field named in `errors` with a message for the form.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown kind {kind!r}")
    errors: dict[str, str] = {}
    text = {key: (args.get(key) or "").strip() for key in
            ("q", "status", "location", "job", "consent", "client", "position", "sort")}
    values: dict = {"kind": kind}
    for key in ("q", "location", "job"):
        values[key] = text[key][:200]
    if kind == "contacts":
        values["client"] = text["client"][:200]
        values["position"] = text["position"][:200]

    statuses = CANDIDATE_STATUSES if kind == "candidates" else CONTACT_STATUSES
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
            try:
                values[key] = date.fromisoformat(raw)
            except ValueError:
                errors[key] = f"{label} must be a date like 2026-01-31."
    criteria = Criteria(**values)
    if criteria.created_from and criteria.created_to and criteria.created_from > criteria.created_to:
        errors["created_to"] = "Created to is before Created from."
        criteria = replace(criteria, created_to=None)

    page = 1
    raw_page = (args.get("page") or "").strip()
    if raw_page:
        number = as_id(raw_page)
        if number is None or number > MAX_PAGE:
            errors["page"] = f"Page must be a number from 1 to {MAX_PAGE:,}; narrow the search to see more."
        else:
            page = number
    return criteria, page, errors


def _prefix(column, text: str):
    key = name_key(text)
    return sa.and_(column >= key, column < key + TOP)


def _text_condition(model, q: str, default_region: str, dialect: str):
    e164 = search_key(q, default_region)
    if e164:
        return model.mobile_e164 == e164
    if "@" in q:
        return _prefix(model.email_key, q)
    words = q.split()
    if len(words) == 1:
        return sa.or_(_prefix(model.first_name_key, q), _prefix(model.last_name_key, q),
                      _prefix(model.email_key, q))
    first, rest = words[0], " ".join(words[1:])
    last, before = words[-1], " ".join(words[:-1])
    return sa.or_(
        # "ada love", "lovelace ada", or one name of several words ("van der Berg"): each is one
        # range on an indexed key.
        _prefix(model.full_name_key, q), _prefix(model.reverse_name_key, q),
        _prefix(model.last_name_key, q), _prefix(model.first_name_key, q),
        # Both words shortened ("ad lo", "love a") or a middle name skipped ("Mary Watson"): a
        # range on one name with the other checked inside the same composite index.
        *_both_names(model, (first, rest), (before, last), (first, last), dialect=dialect,
                     first_column=model.first_name_key, second_column=model.last_name_key),
        *_both_names(model, (first, rest), (first, last), dialect=dialect,
                     first_column=model.last_name_key, second_column=model.first_name_key),
    )


def _both_names(model, *pairs: tuple[str, str], dialect: str, first_column, second_column) -> list:
    """`first_column` starts with a and `second_column` with b, for each distinct (a, b).

    PostgreSQL checks the second range inside the index by itself (and can OR such scans
    together). SQLite would read every table row the first range finds, so there the same test
    is a subquery of ids, which it answers from the index alone.
    """
    terms = [sa.and_(_prefix(first_column, a), _prefix(second_column, b))
             for a, b in dict.fromkeys(pairs)]
    if dialect == "postgresql":
        return terms
    return [model.id.in_(sa.select(model.id).where(sa.or_(*terms)))]



def conditions(criteria: Criteria, default_region: str, dialect: str = "sqlite") -> list:
    """The WHERE conditions for `criteria`, written so indexes can serve the common ones."""
    model = criteria.model
    where = []
    if criteria.q:
        where.append(_text_condition(model, criteria.q, default_region, dialect))
    if criteria.status:
        where.append(model.status == criteria.status)
    if criteria.consent != "any":
        where.append(model.sms_consent.is_(criteria.consent == "yes"))
    if criteria.created_from:
        where.append(model.created_at >= _start_of(criteria.created_from))
    if criteria.created_to:
        where.append(model.created_at < _start_of(criteria.created_to + timedelta(days=1)))
    if criteria.kind == "candidates":
        if criteria.location:
            where.append(_prefix(Candidate.location_key, criteria.location))
        if criteria.job:
            where.append(sa.or_(_contains(Candidate.job_title, criteria.job),
                                _contains(Candidate.skills, criteria.job)))
    else:
        if criteria.client:
            where.append(ClientContact.client_id.in_(
                sa.select(Client.id).where(_prefix(Client.name_key, criteria.client))))
        if criteria.position:
            where.append(_contains(ClientContact.position, criteria.position))
    return where


def _contains(column, text: str):
    """Case-insensitive substring match (SQLite's lower() is made Unicode-aware in database.py)."""
    return sa.func.lower(column).contains(text.lower(), autoescape=True)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _order(criteria: Criteria, model=None) -> list:
    model = model if model is not None else criteria.model
    if criteria.sort == "name":
        return [model.last_name_key, model.first_name_key, model.id]
    if criteria.sort == "-name":
        return [model.last_name_key.desc(), model.first_name_key.desc(), model.id.desc()]
    if criteria.sort == "created":
        return [model.created_at, model.id]
    return [model.created_at.desc(), model.id.desc()]


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


def _page_query(criteria: Criteria, default_region: str, dialect: str) -> tuple[sa.Select, type]:
    """The results in order. A name, email or number of three or more characters matches few
    people: collect them first (a materialized CTE), then sort. Otherwise PostgreSQL tends to
    walk the whole name index in order, hoping to meet matches early, which costs ~50 ms at a
    million rows. A broad search (no text, or one or two letters) is read in index order."""
    model = criteria.model
    where = conditions(criteria, default_region, dialect)
    if len(criteria.q.strip()) < 3:
        return sa.select(model).where(*where).order_by(*_order(criteria)), model
    matched = sa.select(model).where(*where).cte("matched").prefix_with("MATERIALIZED")
    found = so.aliased(model, matched)
    return sa.select(found).order_by(*_order(criteria, found)), found


def _dialect(session: so.Session) -> str:
    return session.get_bind().dialect.name


def search(session: so.Session, criteria: Criteria, page: int, default_region: str) -> ResultPage:
    """One page of results and a count bounded at COUNT_CAP (so a broad search stays fast)."""
    query, entity = _page_query(criteria, default_region, _dialect(session))
    if criteria.model is ClientContact:
        query = query.options(so.joinedload(entity.client))
    rows = list(session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    total, capped = count(session, criteria, default_region)
    return ResultPage(rows=rows[:PAGE_SIZE], page=page, total=total, capped=capped,
                      has_next=len(rows) > PAGE_SIZE)


def count(session: so.Session, criteria: Criteria, default_region: str,
          cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many match, counting no further than `cap` (returns (cap, True) beyond it)."""
    model = criteria.model
    limited = (sa.select(model.id).where(*conditions(criteria, default_region, _dialect(session)))
               .limit(cap + 1))
    n = session.scalar(sa.select(sa.func.count()).select_from(limited.subquery())) or 0
    return (cap, True) if n > cap else (n, False)


def matching_ids(session: so.Session, criteria: Criteria, default_region: str,
                 limit: int) -> list[int]:
    """Ids of everyone matching, in the search's order, at most `limit` of them."""
    model = criteria.model
    query = (sa.select(model.id).where(*conditions(criteria, default_region, _dialect(session)))
             .order_by(*_order(criteria)).limit(limit))
    return list(session.scalars(query))

