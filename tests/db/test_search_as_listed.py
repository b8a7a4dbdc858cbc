"""A person is found by what their row shows: by a mobile kept as an invalid number ("0412 345
invalid number" on the list, stored as +61412345) typed as it shows or in any form of its digits,
and by text typed or pasted with an invisible format character in it (a zero-width space, a
byte-order mark). On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.search_people import REGION
from webapp.people import search as ps


def found(session, kind: str = "candidates", **args) -> set[str]:
    criteria, page, errors = ps.parse(kind, args)
    assert errors == {}
    return {row.full_name for row in ps.search(session, criteria, page, REGION).rows}


def counted(session, **args) -> int:
    criteria, _page, _errors = ps.parse("candidates", args)
    return len(ps.matching_ids(session, criteria, REGION, limit=100))


@pytest.fixture
def people(make_candidate):
    ivy = make_candidate("Ivy", "Invalid", "0412 345")
    assert (ivy.mobile_e164, ivy.mobile_valid) == ("+61412345", False)
    make_candidate("Ada", "Lovelace", "0412 345 678")
    make_candidate("Sam", "Student", None, email="20231234@student.example.edu")
    make_candidate("Ann", "Smith", "0413 000 001", location="Sydney", email="ann@example.com")


@pytest.mark.parametrize("typed", ["0412 345", "0412345", "+61412345", "+61 412 345"])
def test_a_mobile_kept_as_an_invalid_number_is_found_by_its_digits(session, people, typed):
    assert found(session, q=typed) == {"Ivy Invalid"}
    assert counted(session, q=typed) == 1
    assert found(session, q=typed, sort="-created") == {"Ivy Invalid"}


def test_digits_of_no_real_number_still_find_an_address_starting_with_them(session, people):
    assert found(session, q="20231234") == {"Sam Student"}
    assert found(session, q="202312") == {"Sam Student"}


def test_a_whole_mobile_finds_only_its_own_number(session, people):
    assert found(session, q="0412 345 678") == {"Ada Lovelace"}
    assert found(session, q="0412 34") == set()  # the start of her number is no number of hers


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060", "\u00ad"])
def test_search_text_pasted_with_an_invisible_character_finds_what_it_shows(
    session, people, invisible
):
    assert found(session, q=f"smith{invisible}") == {"Ann Smith"}
    assert found(session, q=f"ann{invisible} smith") == {"Ann Smith"}
    assert found(session, q=f"ann@example.com{invisible}") == {"Ann Smith"}
    assert found(session, location=f"Syd{invisible}ney") == {"Ann Smith"}
