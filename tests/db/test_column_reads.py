"""Reads of columns straight from the session's connection (webapp.database.read) see what
session.execute would: changes the session holds are flushed first, unless autoflush is off."""

from __future__ import annotations

import sqlalchemy as sa

from webapp import database
from webapp.models import Office


def _named(name: str) -> sa.Select:
    return sa.select(sa.func.count()).select_from(Office).where(Office.name == name)


def test_a_read_sees_what_the_session_has_not_yet_flushed(session):
    session.add(Office(name="Pending"))

    assert database.read(session, _named("Pending")).scalar() == 1
    assert not session.new


def test_with_autoflush_off_a_read_leaves_the_session_s_changes_unwritten(session):
    office = Office(name="Held")
    session.add(office)

    with session.no_autoflush:
        assert database.read(session, _named("Held")).scalar() == 0
    assert office in session.new


def test_parameters_are_bound(session):
    session.add_all([Office(name="Perth"), Office(name="Hobart")])
    session.commit()
    statement = sa.select(Office.name).where(Office.name == sa.bindparam("name"))

    assert database.read(session, statement, {"name": "Hobart"}).scalars().all() == ["Hobart"]
