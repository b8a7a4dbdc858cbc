"""Values that show nothing though str.strip() keeps them (a zero-width space, a Hangul filler,
the blank braille pattern): a name of them is refused like an empty one, an optional Client or
Position of them is none; and users' full names are stored without invisible characters whatever
saves them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.html_tree import html
from tests.pages import assert_refused, audits, candidate_form, changed, fresh, opened, text
from tests.web.test_records import details
from webapp.models import Candidate, Client, ClientContact, User
from webapp.users import accounts
from webapp.users.accounts import UserDetails

FILLER, BRAILLE_BLANK = "\u3164", "\u2800"


def contact_form(**overrides) -> dict[str, str]:
    return {
        "first_name": "Alan",
        "last_name": "Turing",
        "mobile": "0413 000 002",
        "email": "",
        "status": "Active",
        "client": "Harbour Mining Pty Ltd",
        "position": "Payroll Officer",
        **overrides,
    }


def contacts(session) -> list[ClientContact]:
    session.rollback()
    return list(session.scalars(sa.select(ClientContact)))


@pytest.mark.parametrize(
    "first_name, last_name, field, message",
    [
        (FILLER, BRAILLE_BLANK, "first_name", "Enter a first name."),
        (FILLER, BRAILLE_BLANK, "last_name", "Enter a last name."),
        ("Ann", " \u1160\u115f ", "last_name", "Enter a last name."),
        ("\uffa0\u200b", "Lee", "first_name", "Enter a first name."),
    ],
    ids=["filler-first", "braille-last", "jamo-fillers", "halfwidth-filler"],
)
def test_a_candidate_named_with_characters_that_show_nothing_is_refused(
    client, login, session, first_name, last_name, field, message
):
    login("consultant")
    response = client.post(
        "/candidates/new", data=candidate_form(first_name=first_name, last_name=last_name)
    )
    assert_refused(response, field, message)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Candidate)) == 0
    assert audits(session, "person.created") == []


def test_a_contact_named_with_a_filler_is_refused(client, login, session):
    login("consultant")
    response = client.post("/contacts/new", data=contact_form(first_name=FILLER))
    assert_refused(response, "first_name", "Enter a first name.")
    assert contacts(session) == []


@pytest.mark.parametrize("blank", ["\u200b", FILLER, " \ufeff\u2800 "], ids=["zw", "filler", "mix"])
def test_a_client_and_position_that_show_nothing_are_none(client, login, session, blank):
    login("consultant")
    response = client.post("/contacts/new", data=contact_form(client=blank, position=blank))
    assert response.status_code == 302, text(response)
    [alan] = contacts(session)
    assert (alan.client, alan.position) == (None, None)
    assert session.scalar(sa.select(sa.func.count()).select_from(Client)) == 0
    shown = details(html(client.get(f"/contacts/{alan.id}")))
    assert (shown["Client"], shown["Position"]) == ("—", "—")


def test_a_job_title_and_location_that_show_nothing_are_none(client, login, session):
    login("consultant")
    data = candidate_form(job_title="\u200b", location=FILLER, skills="\u2800\r\n\u200b")
    assert client.post("/candidates/new", data=data).status_code == 302
    session.rollback()
    zoe = session.scalar(sa.select(Candidate))
    assert (zoe.job_title, zoe.location, zoe.skills) == (None, None, None)


def test_a_client_typed_with_an_invisible_character_is_the_client_of_that_name(
    client, login, session, make_contact
):
    """ "Harbour Mining Pty Ltd" with a zero-width space pasted in was a second client that read
    the same in every list."""
    harbour = make_contact().client
    login("consultant")
    typed = "Harbour Mining\u200b Pty  Ltd\ufeff"
    assert client.post("/contacts/new", data=contact_form(client=typed)).status_code == 302
    alan = next(c for c in contacts(session) if c.last_name == "Turing")
    assert alan.client_id == harbour.id
    response = client.post(
        "/contacts/new",
        data=contact_form(first_name="Kath", mobile="0413 000 003", client="Acme\u200b"),
    )
    assert response.status_code == 302
    session.rollback()
    assert sorted(session.scalars(sa.select(Client.name))) == ["Acme", "Harbour Mining Pty Ltd"]


def test_an_edit_keeps_a_contact_at_a_client_stored_with_an_invisible_character(
    client, login, session, make_contact
):
    """Stored before typed names were cleaned: the edit form posts the name as stored, which
    still names that client, not a new "Acme" beside it."""
    grace = make_contact(client="Acme\u200b")
    stored = grace.client_id
    login("consultant")
    url = f"/contacts/{grace.id}/edit"
    response = client.post(url, data=changed(opened(client, url), position="CFO"))
    assert response.status_code == 302, text(response)
    grace = fresh(session, ClientContact, grace.id)
    assert (grace.client_id, grace.position) == (stored, "CFO")
    assert session.scalar(sa.select(sa.func.count()).select_from(Client)) == 1


def test_a_full_name_saved_through_the_accounts_domain_is_stored_as_it_shows(session, make_user):
    """Every save of a user's details (webapp.users.accounts._apply) stores the full name without
    its invisible format characters, as the user form does: not only when typed on that form."""
    boss = make_user("boss", role="administrator")
    details = UserDetails(
        username="jo",
        full_name=" Jo\u00ad \u200bBloggs\ufeff ",
        email="jo@example.com",
        mobile=None,
        office_id=None,
        roles=("consultant",),
    )
    jo = accounts.create_user(session, boss, details, "a-long-temporary-pw", "AU")
    assert fresh(session, User, jo.id).full_name == "Jo Bloggs"
    renamed = UserDetails(**{**details.__dict__, "full_name": "Jo\u2060 Smith"})
    accounts.edit_user(session, boss, fresh(session, User, jo.id), renamed, "AU")
    assert fresh(session, User, jo.id).full_name == "Jo Smith"
