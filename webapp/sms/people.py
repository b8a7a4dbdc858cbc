"""Load the people on an SMS as light rows, in the order they were chosen, in one query per
chunk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

from webapp import database
from webapp.models import Candidate, Client, ClientContact
from webapp.models.people import person_name
from webapp.people.kinds import KINDS

CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ClientRef:
    name: str


class PersonRow(NamedTuple):
    """What analysis, merge fields and sending need of a Candidate or Client Contact.

    A named tuple rather than a frozen dataclass: making 10,000 of those was a fifth of loading
    them."""

    kind: str
    id: int
    first_name: str
    last_name: str
    email: str | None
    mobile_raw: str | None
    mobile_e164: str | None
    mobile_region: str | None
    mobile_valid: bool
    sms_consent: bool
    job_title: str | None = None
    location: str | None = None
    position: str | None = None
    client: ClientRef | None = None

    full_name = property(person_name)


# Read by position into a PersonRow (see load): the columns both kinds have are its own fields, in
# its order, after the kind.
_COMMON = PersonRow._fields[1 : PersonRow._fields.index("job_title")]


def _ids_parameter(ids: list[int], dialect: str) -> str:
    """The value of the one `ids` parameter of _query: the ids as text, an array literal cast to
    an array on PostgreSQL (psycopg dumping a list of 5,000 ints one by one took 8 ms), a JSON
    array read by json_each on SQLite."""
    listed = ",".join(map(str, ids))
    return f"{{{listed}}}" if dialect == "postgresql" else f"[{listed}]"


@lru_cache(maxsize=8)
def _query(kind: str, dialect: str) -> sa.Select:
    """The people of `kind` whose ids are in the bound `ids` (see _ids_parameter).

    One parameter for all the ids: PostgreSQL plans "= ANY(array)" far faster than thousands of
    separate parameters in an IN list, and SQLite reads a JSON array with json_each, where
    SQLAlchemy spent longer building and expanding 5,000 parameters than SQLite took to answer.
    """
    of_kind = KINDS.by_segment(kind)
    model = of_kind.model
    columns = [getattr(model, name) for name in _COMMON]
    if dialect == "postgresql":
        ids = sa.cast(sa.bindparam("ids", type_=sa.String), postgresql.ARRAY(sa.Integer))
        wanted = model.id == sa.any_(ids)
    else:
        listed = sa.func.json_each(sa.bindparam("ids", type_=sa.String)).table_valued("value")
        wanted = model.id.in_(sa.select(listed.c.value))
    if of_kind.has_client:
        return (
            sa.select(*columns, ClientContact.position, Client.name.label("client_name"))
            .outerjoin(Client, ClientContact.client_id == Client.id)
            .where(wanted)
        )
    return sa.select(*columns, Candidate.job_title, Candidate.location).where(wanted)


def load(session: so.Session, kind: str, ids: Iterable[int]) -> list[PersonRow]:
    """The people with these ids that exist, in the order of `ids` (first occurrence)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[int, PersonRow] = {}
    dialect = session.get_bind().dialect.name
    has_client = KINDS.by_segment(kind).has_client
    for start in range(0, len(wanted), CHUNK):
        # Rows by position, in _query's column order, straight from the connection: a mapping
        # and keywords per row were a third of loading 10,000 people, the ORM's own pass over
        # the rows a fifth of what was left.
        chunk = _ids_parameter(wanted[start : start + CHUNK], dialect)
        for row in database.read(session, _query(kind, dialect), {"ids": chunk}):
            if has_client:
                *common, position, name = row
                person = PersonRow(
                    kind, *common, None, None, position, ClientRef(name) if name else None
                )
            else:
                person = PersonRow(kind, *row)
            found[person.id] = person
    return [found[i] for i in wanted if i in found]
