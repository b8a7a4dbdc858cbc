"""The search builds each shape of statement once: a second search of the same shape with
other values runs the very same statement objects, and still finds what its own values match."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.search_people import REGION, add_contacts, add_sortable
from webapp.people import search as ps


@pytest.fixture
def statements(session):
    """The statement objects the session runs, in order."""
    seen: list = []

    def record(state):
        seen.append(state.statement)

    sa.event.listen(session, "do_orm_execute", record)
    yield seen
    sa.event.remove(session, "do_orm_execute", record)


def run(session, statements: list, kind: str, **args) -> tuple[list[str], int, list[int], list]:
    criteria, page, errors = ps.parse(kind, args)
    assert errors == {}
    statements.clear()
    result = ps.search(session, criteria, page, REGION)
    ids = ps.matching_ids(session, criteria, REGION, limit=100)
    assert [row.id for row in result.rows] == ids
    return [row.full_name for row in result.rows], result.total, ids, list(statements)


@pytest.mark.parametrize(
    ("first", "second", "first_found", "second_found"),
    [
        # One word, ranked by name (the ranked branches, the shorter parts of the word bound as
        # one expanding list).
        ({"q": "bea"}, {"q": "zan"}, ["Bea Adams"], ["Al Zane"]),
        ({"q": "al", "sort": "-name"}, {"q": "cy", "sort": "-name"}, ["Al Zane"], ["Cy Adams"]),
        # One word in date order, with a status and a date range.
        (
            {"q": "adams", "sort": "created", "status": "Active", "created_from": "2025-03-01"},
            {"q": "zane", "sort": "created", "status": "Active", "created_from": "2025-01-01"},
            ["Bea Adams", "Cy Adams"],
            ["Al Zane"],
        ),
        # Two words, and a mobile number.
        ({"q": "bea adams"}, {"q": "al zane"}, ["Bea Adams"], ["Al Zane"]),
        ({"q": "0413 000 003"}, {"q": "0413 000 005"}, ["Cy Adams"], ["Zoë Müller"]),
    ],
)
def test_same_shape_reuses_the_statements_with_its_own_values(
    session, make_candidate, statements, first, second, first_found, second_found
):
    add_sortable(make_candidate)
    names_a, total_a, _ids, used_a = run(session, statements, "candidates", **first)
    names_b, total_b, _ids, used_b = run(session, statements, "candidates", **second)
    assert (names_a, total_a) == (first_found, len(first_found))
    assert (names_b, total_b) == (second_found, len(second_found))
    assert used_a and len(used_a) == len(used_b)
    assert all(a is b for a, b in zip(used_a, used_b, strict=True))


def test_contact_filters_reuse_the_statements(session, make_contact, statements):
    add_contacts(make_contact)
    managers, _total, _ids, used_a = run(
        session, statements, "contacts", client="harbour", position="manager"
    )
    payroll, _total, _ids, used_b = run(
        session, statements, "contacts", client="harbour", position="payroll"
    )
    assert managers == ["Grace Hopper"] and payroll == ["Alan Turing"]
    assert all(a is b for a, b in zip(used_a, used_b, strict=True))


def test_a_like_pattern_is_escaped_in_the_bound_value(session, make_contact, statements):
    make_contact("Per", "Cent", "0413 000 001", client=None, position="100% effort")
    make_contact("Any", "Thing", "0413 000 002", client=None, position="100 x effort")
    # Two characters: the LIKE scan on either database, where % must match only itself.
    assert run(session, statements, "contacts", position="0%")[0] == ["Per Cent"]
    assert run(session, statements, "contacts", position="x")[0] == ["Any Thing"]


def test_different_shapes_get_different_statements(session, make_candidate, statements):
    add_sortable(make_candidate)
    *_found, one_word = run(session, statements, "candidates", q="ada")
    *_found, two_words = run(session, statements, "candidates", q="ada adams")
    *_found, filtered = run(session, statements, "candidates", q="ada", status="Active")
    assert not {id(s) for s in one_word} & {id(s) for s in two_words}
    assert not {id(s) for s in one_word} & {id(s) for s in filtered}
