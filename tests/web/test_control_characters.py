"""Control characters typed, pasted or forged into the record forms, the search and the audit
filters: refused beside the field (or, for a NUL, for the whole request) and nothing stored; a
textarea's line breaks are kept as "\\n"."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from tests.html_tree import html
from tests.pages import candidate_form
from webapp.models import AuditEvent, Candidate


def candidates(session) -> list[Candidate]:
    session.rollback()
    return list(session.scalars(sa.select(Candidate)))


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "last_name",
            "Harri\r\nson",
            "Last name must be one line of plain text: remove the line break, carriage return.",
        ),
        ("first_name", "Ada\tMary", "First name must be one line of plain text: remove the tab."),
        (
            "email",
            "ada@example.com\x85",
            "Email must be one line of plain text: remove the U+0085.",
        ),
        ("location", "Syd\u2028ney", "Location must be one line of plain text: remove the U+2028."),
        ("job_title", "Chef\x7f", "Job title must be one line of plain text: remove the DEL."),
        (
            "skills",
            "Triage\r\nICU\x1b[0m",
            "Skills cannot hold control characters: remove the U+001B.",
        ),
    ],
)
def test_a_control_character_is_refused_beside_its_field_and_nothing_is_saved(
    client, login, session, field, value, message
):
    login("consultant")
    response = client.post("/candidates/new", data=candidate_form(**{field: value}))

    assert response.status_code == 400
    page = html(response)
    control = page.one("textarea" if field == "skills" else "input", name=field)
    assert control.get("aria-invalid") == "true"
    assert page.one("span", id=f"{field}-error").text == message
    assert candidates(session) == []


def test_an_edit_that_would_put_a_line_break_in_a_name_changes_nothing(
    client, login, make_candidate, session
):
    ada = make_candidate("Ada", "Lovelace")
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/edit", data=candidate_form(last_name="Love\nlace")
    )

    assert response.status_code == 400
    assert [person.last_name for person in candidates(session)] == ["Lovelace"]
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.edited")) is None


def test_the_invisible_controls_that_reorder_text_are_dropped_from_one_line_fields(
    client, login, session
):
    """Kept before, a right-to-left override showed the record's heading reversed and went out
    in SMS merges; a number pasted from a contact card comes wrapped in an embedding."""
    login("consultant")
    form = candidate_form(last_name="Lee\u202e", mobile="\u202a+61 412 999 888\u202c")
    response = client.post("/candidates/new", data=form)

    assert response.status_code == 302
    [person] = candidates(session)
    assert (person.last_name, person.mobile_e164) == ("Lee", "+61412999888")


def test_skills_keep_their_line_breaks_as_newlines(client, login, session):
    login("consultant")
    response = client.post("/candidates/new", data=candidate_form(skills="Triage\r\nICU\rTheatre"))

    assert response.status_code == 302
    assert [person.skills for person in candidates(session)] == ["Triage\nICU\nTheatre"]


@pytest.mark.parametrize(
    "url",
    [
        "/candidates/new",
        "/candidates?q=Ada%00",
        "/audit?person=%00",
        "/templates?folder=%00",
        "/admin/users?q=a%00b",
        "/sms/compose/x%00y",
    ],
)
def test_a_nul_anywhere_is_refused_with_a_message_before_any_query(client, login, url):
    login("administrator")
    if url.endswith("/new"):
        response = client.post(url, data=candidate_form(first_name="Ada\x00"))
    else:
        response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_an_htmx_request_with_a_nul_gets_the_message_as_an_alert(client, login):
    login("consultant")
    response = client.get("/candidates?q=%00", htmx=True)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#live-alert"
    assert "NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "args, field, message",
    [
        ("q=Ada%1B%5B2J", "q", "Search cannot hold control characters (U+001B); it was left out."),
        # Control characters str.split() takes for spaces are refused all the same.
        ("q=Ada%1FLove", "q", "Search cannot hold control characters (U+001F); it was left out."),
        (
            "q=Ada%C2%85Love",
            "q",
            "Search cannot hold control characters (U+0085); it was left out.",
        ),
        ("q=Ada%0BLove", "q", "Search cannot hold control characters (U+000B); it was left out."),
        (
            "job=" + "x" * 201,
            "job",
            "Job title / skills can be at most 200 characters; it was left out.",
        ),
    ],
)
def test_a_search_value_that_cannot_be_used_is_named_beside_its_box(
    client, login, make_candidate, args, field, message
):
    make_candidate("Ada", "Lovelace")
    login("consultant")
    response = client.get(f"/candidates?{args}")

    assert response.status_code == 400
    page = html(response)
    box = page.one("input", name=field)
    assert box.get("aria-invalid") == "true"
    assert f"{field}-error" in box.get("aria-describedby").split()
    assert page.one("span", id=f"{field}-error").text == message
    # Back in its box as typed (it came back empty), to be shortened rather than typed again.
    assert box.get("value") == parse_qs(args)[field][0]
    # The rest of the search still runs: Ada is listed.
    assert "Lovelace" in page.one("section", id="results").text


def test_an_audit_name_filter_with_a_control_character_is_named_beside_its_box(client, login):
    login("administrator")
    response = client.get("/audit?person=Ada%07")
    assert response.status_code == 400
    page = html(response)
    assert page.one("input", name="person").get("aria-invalid") == "true"
    assert (
        page.one("span", id="person-error").text
        == "Name cannot hold control characters (U+0007); it was left out."
    )


def test_a_right_to_left_override_in_a_search_or_filter_is_dropped_not_echoed(
    client, login, make_user
):
    """The value is shown back in the heading and the box: a U+202E would reverse it and the rest
    of its line."""
    admin = login("administrator")
    make_user("abc-jo")
    response = client.get("/admin/users?q=%E2%80%AEabc")
    assert response.status_code == 200
    assert "\u202e" not in response.get_data(as_text=True)
    assert "matching “abc”" in html(response).one("h2", id="results-heading").text
    assert "abc-jo" in response.get_data(as_text=True)

    response = client.get(f"/audit?actor=%E2%80%AE{admin.username}")
    assert response.status_code == 200
    assert "\u202e" not in response.get_data(as_text=True)
    assert html(response).one("input", name="actor").get("value") == admin.username
