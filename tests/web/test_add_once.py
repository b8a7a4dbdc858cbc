"""Adding a person once: the Add form's one-time token makes a repeat of the same submission (a
second Enter on a slow network, a resent form) go to the person it added, and an Add of someone
whose mobile or email a person of the same kind already has is refused once, naming them, until
Add anyway confirms it."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import sqlalchemy as sa

from tests.html_tree import html
from tests.pages import audits, candidate_form, posted_at_once
from webapp.models import Candidate, ClientContact
from webapp.people import records


def add_form(client, kind: str = "candidates") -> dict[str, str]:
    """The hidden values of a freshly loaded Add form (its token among them)."""
    form = html(client.get(f"/{kind}/new")).one("main").one("form", method="post")
    return {
        node.get("name"): node.get("value") or ""
        for node in form.all("input", type="hidden")
        if node.get("name") != "csrf_token"
    }


def people(session, model=Candidate) -> list:
    session.rollback()
    return list(session.scalars(sa.select(model).order_by(model.id)))


def test_the_add_form_carries_a_one_time_token_of_its_own(client, login):
    login("consultant")
    first, second = add_form(client)["add_token"], add_form(client)["add_token"]
    assert len(first) == 32 and first != second


def test_the_same_add_form_posted_three_times_adds_one_person(client, login, session):
    login("consultant")
    data = candidate_form(email="zoe@example.de") | add_form(client)

    responses = [client.post("/candidates/new", data=data) for _ in range(3)]

    [zoe] = people(session)
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert {urlsplit(r.headers["Location"]).path for r in responses} == {f"/candidates/{zoe.id}"}
    assert len(audits(session, "person.created")) == 1
    page = html(client.get(f"/candidates/{zoe.id}")).one("main").text
    assert "Zoë Müller was already added (the form was sent twice): not added again." in page


def test_two_posts_of_one_add_form_racing_add_one_person(app, client, login, session, monkeypatch):
    user = login("consultant")
    looked_up = records.same_people

    def slowly(*args, **kwargs):
        # Between the token's look-up and the save: the other post comes now, and must wait.
        time.sleep(0.5)
        return looked_up(*args, **kwargs)

    monkeypatch.setattr(records, "same_people", slowly)
    data = candidate_form() | add_form(client)

    answers = posted_at_once(app, client, user.username, "/candidates/new", data)

    assert answers == [302, 302]
    assert len(people(session)) == 1


def test_another_form_with_the_same_person_is_refused_naming_them(client, login, session, ada):
    login("consultant")
    # Typed another way, the same number (E.164 +61412345678) as Ada's.
    data = candidate_form(mobile="+61 412 345 678") | add_form(client)

    response = client.post("/candidates/new", data=data)

    assert response.status_code == 409
    page = html(response).one("main")
    alert = page.one("p", role="alert").text
    assert alert.startswith("Not added: a candidate with this mobile or email is already stored")
    assert "Ada Lovelace" in alert
    [link] = page.one("ul", **{"aria-label": "Already stored"}).all("a")
    assert (link.text, link.get("href")) == ("Ada Lovelace", f"/candidates/{ada.id}")
    assert [person.id for person in people(session)] == [ada.id]
    assert audits(session, "person.created") == []
    # The form keeps what was typed, and its token, for Add anyway.
    form = page.one("form", method="post")
    assert form.one("input", name="first_name").get("value") == "Zoë"
    assert form.one("input", name="add_token").get("value") == data["add_token"]
    buttons = form.all("button", type="submit")
    # Enter in a field presses the first button: Add again, refused again, never Add anyway.
    assert [(b.text, b.get("name")) for b in buttons] == [
        ("Add candidate", None),
        ("Add anyway", "add_anyway"),
    ]


def test_add_anyway_adds_the_person_once(client, login, session, ada):
    login("consultant")
    data = candidate_form() | add_form(client)
    assert client.post("/candidates/new", data=data).status_code == 409

    confirmed = data | {"add_anyway": "y"}
    first = client.post("/candidates/new", data=confirmed)
    again = client.post("/candidates/new", data=confirmed)

    stored = people(session)
    assert [p.full_name for p in stored] == ["Ada Lovelace", "Zoë Müller"]
    assert first.headers["Location"] == again.headers["Location"]
    assert urlsplit(first.headers["Location"]).path == f"/candidates/{stored[1].id}"


def test_the_same_email_in_other_letters_is_the_same_person(client, login, session, make_candidate):
    ann = make_candidate("Ann", "Lee", None, email="Ann.Lee@Example.com")
    login("consultant")
    data = candidate_form(mobile="", email="ann.lee@example.COM") | add_form(client)
    response = client.post("/candidates/new", data=data)
    assert response.status_code == 409
    assert "Ann Lee" in html(response).one("p", role="alert").text
    assert [person.id for person in people(session)] == [ann.id]


def test_a_person_of_the_other_kind_with_the_number_is_no_match(client, login, session, ada):
    login("consultant")
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "mobile": "0412 345 678",
        "status": "Active",
        "client": "Harbour Mining Pty Ltd",
    } | add_form(client, "contacts")
    assert client.post("/contacts/new", data=data).status_code == 302
    assert len(people(session, ClientContact)) == 1


def test_the_audit_log_does_not_show_the_form_token(client, login, session):
    login("administrator")
    data = candidate_form() | add_form(client)
    client.post("/candidates/new", data=data)
    [event] = audits(session, "person.created")
    assert event.details["form_token"] == data["add_token"]
    assert data["add_token"] not in client.get("/audit").get_data(as_text=True)
