"""Load the people on an SMS as light rows, in the order they were chosen, in one query per
chunk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

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


def _id_in(column, ids: list[int], dialect: str):
    if dialect == "postgresql":
        # One array parameter: PostgreSQL plans "= ANY(array)" far faster than thousands of
        # separate parameters in an IN list.
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _query(kind: str, ids: list[int], dialect: str) -> sa.Select:
    of_kind = KINDS.by_segment(kind)
    model = of_kind.model
    columns = [getattr(model, name) for name in _COMMON]
    if of_kind.has_client:
        return (
            sa.select(*columns, ClientContact.position, Client.name.label("client_name"))
            .outerjoin(Client, ClientContact.client_id == Client.id)
            .where(_id_in(model.id, ids, dialect))
        )
    return sa.select(*columns, Candidate.job_title, Candidate.location).where(
        _id_in(model.id, ids, dialect)
    )


def load(session: so.Session, kind: str, ids: Iterable[int]) -> list[PersonRow]:
    """The people with these ids that exist, in the order of `ids` (first occurrence)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[int, PersonRow] = {}
    dialect = session.get_bind().dialect.name
    has_client = KINDS.by_segment(kind).has_client
    for start in range(0, len(wanted), CHUNK):
        # Rows by position, in _query's column order: a mapping and keywords per row were a
        # third of loading 10,000 people.
        for row in session.execute(_query(kind, wanted[start : start + CHUNK], dialect)):
            if has_client:
                *common, position, name = row
                person = PersonRow(
                    kind, *common, None, None, position, ClientRef(name) if name else None
                )
            else:
                person = PersonRow(kind, *row)
            found[person.id] = person
    return [found[i] for i in wanted if i in found]
