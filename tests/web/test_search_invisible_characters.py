"""Invisible format characters (a zero-width space, a byte-order mark, a word joiner, a soft
hyphen) between what a search box and a record form are given: the search leaves them out of what
is typed, and a person's names and searched details are saved without them, so "smith" pasted with
one finds Smith, and a name pasted with one is found by what it reads."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests import html_tree
from tests.pages import candidate_form, opened, rows, text
from webapp.models import Candidate, ClientContact

INVISIBLE = ["\u200b", "\ufeff", "\u2060", "\u00ad"]


def found(client, kind: str = "candidates", **search) -> list[str]:
    page = html_tree.html(client.get(f"/{kind}", query_string=search))
    return [cell.text for cell in page.all("td", class_="name")]


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_search_text_with_an_invisible_character_finds_what_it_shows(
    client, login, make_candidate, invisible
):
    login("consultant")
    make_candidate("Ann", "Smith", "0412 345 678", location="Sydney", email="ann@example.com")
    make_candidate("Bob", "Jones", "0412 345 679", location="Perth", email="bob@example.com")

    assert found(client, q=f"smith{invisible}") == ["Ann Smith"]
    assert found(client, q=f"{invisible}ann smi{invisible}th") == ["Ann Smith"]
    assert found(client, location=f"Sydney{invisible}") == ["Ann Smith"]
    assert found(client, q=f"ann@example.com{invisible}") == ["Ann Smith"]
    page = text(client.get("/candidates", query_string={"q": f"smith{invisible}"}))
    assert 'value="smith"' in page  # the box shows back what was searched


def test_a_name_pasted_with_a_soft_hyphen_is_saved_without_it_and_found(client, login, session):
    login("consultant")
    response = client.post(
        "/candidates/new",
        data=candidate_form(
            first_name="\u200bWren",
            last_name="Kowal\u00adczyk",
            email="wren\u2060@example.com",
            job_title="Nurse\ufeff",
            location="Syd\u00adney",
            skills="Tri\u00adage\nWards",
        ),
    )
    assert response.status_code == 302, text(response)

    [wren] = rows(session, Candidate)
    assert (wren.first_name, wren.last_name, wren.email) == (
        "Wren",
        "Kowalczyk",
        "wren@example.com",
    )
    assert (wren.job_title, wren.location, wren.skills) == ("Nurse", "Sydney", "Triage\nWards")
    assert found(client, q="kowalczyk") == ["Wren Kowalczyk"]
    assert found(client, q="wren kowalczyk") == ["Wren Kowalczyk"]
    assert found(client, location="sydney") == ["Wren Kowalczyk"]
    assert found(client, job="triage") == ["Wren Kowalczyk"]


def test_a_contact_pasted_with_invisible_characters_is_saved_without_them(client, login, session):
    login("consultant")
    response = client.post(
        "/contacts/new",
        data={
            "first_name": "Grace\u200b",
            "last_name": "Hop\u00adper",
            "mobile": "0413 222 333",
            "email": "",
            "status": "Active",
            "client": "Harbour Mining",
            "position": "Site\u2060 Manager",
        },
    )
    assert response.status_code == 302, text(response)

    [grace] = rows(session, ClientContact)
    assert (grace.first_name, grace.last_name, grace.position) == (
        "Grace",
        "Hopper",
        "Site Manager",
    )
    assert found(client, "contacts", q="hopper") == ["Grace Hopper"]


def test_editing_a_name_stored_with_a_soft_hyphen_saves_it_without(
    client, login, session, make_candidate
):
    """Stored before names were cleaned: its Edit form shows it without, and any save cleans it."""
    login("consultant")
    wren = make_candidate("Wren", "Kowal\u00adczyk", "0412 345 678")
    url = f"/candidates/{wren.id}/edit"
    form = opened(client, url)
    assert form["last_name"] == "Kowalczyk"

    response = client.post(url, data=form | {"status": "Placed"})

    assert response.status_code == 302, text(response)
    session.rollback()
    assert session.scalar(sa.select(Candidate.last_name)) == "Kowalczyk"
    assert found(client, q="kowalczyk") == ["Wren Kowalczyk"]
