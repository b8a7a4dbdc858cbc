"""An Edit that gives a person the mobile or email of someone of the same kind already stored is
refused once, naming them, as Add is, until Save anyway confirms it: two records sharing a number
leave its replies unmatched, and a STOP from it unticks SMS on both."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.html_tree import html
from tests.pages import audits, changed, fresh, held, opened
from tests.replying import receive
from webapp.models import Candidate, ClientContact


@pytest.fixture
def zoe(make_candidate):
    return make_candidate("Zoë", "Müller", "0499 111 222", email="zoe@example.de")


@pytest.fixture
def ann(make_candidate):
    return make_candidate("Ann", "Lee", None, email="Ann.Lee@Example.com")


def test_an_edit_to_anothers_mobile_and_email_is_refused_naming_them(
    client, login, session, ada, ann, zoe
):
    login("consultant")
    url = f"/candidates/{zoe.id}/edit"
    # Ada's number typed another way (+61412345678), Ann's email in other letters.
    data = changed(opened(client, url), mobile="+61 412 345 678", email="ann.lee@example.COM")

    response = client.post(url, data=data)

    assert response.status_code == 409
    page = html(response).one("main")
    alert = page.one("p", role="alert")
    assert alert.text == (
        "Not saved: a candidate with this mobile or email is already stored (Ada Lovelace, "
        "Ann Lee). Open them, or press Save anyway if this is someone else."
    )
    assert "autofocus" in alert.attrs  # heard first, as on Add; the next Tab is the form
    links = page.one("ul", **{"aria-label": "Already stored"}).all("a")
    assert [(a.text, a.get("href")) for a in links] == [
        ("Ada Lovelace", f"/candidates/{ada.id}"),
        ("Ann Lee", f"/candidates/{ann.id}"),
    ]
    stored = fresh(session, Candidate, zoe.id)
    assert (stored.mobile_e164, stored.email) == ("+61499111222", "zoe@example.de")
    assert audits(session, "person.edited") == []
    # The form keeps what was typed; Enter in a field presses Save (refused again), never Save
    # anyway.
    form = page.one("form", method="post")
    assert form.one("input", name="email").get("value") == "ann.lee@example.COM"
    assert not form.one("input", name="first_name").get("autofocus")
    buttons = form.all("button", type="submit")
    assert [(b.text, b.get("name")) for b in buttons] == [
        ("Save", None),
        ("Save anyway", "save_anyway"),
    ]
    assert client.post(url, data=held(html(response), url)).status_code == 409


def test_save_anyway_saves_the_edit(client, login, session, ada, zoe):
    login("consultant")
    url = f"/candidates/{zoe.id}/edit"
    refused = client.post(url, data=changed(opened(client, url), mobile="0412 345 678"))
    assert refused.status_code == 409

    response = client.post(url, data=held(html(refused), url) | {"save_anyway": "y"})

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/candidates/{zoe.id}"
    assert fresh(session, Candidate, zoe.id).mobile_e164 == "+61412345678"
    [event] = audits(session, "person.edited")
    assert event.details["changes"] == {"mobile": ["0499 111 222", "0412 345 678"]}


def test_a_mobile_or_email_left_as_it_was_is_not_checked_again(
    client, login, session, make_candidate, ada
):
    # Already sharing Ada's number (saved anyway, or imported): the rest can still be edited.
    twin = make_candidate("Ada", "Twin", "0412 345 678", email="ada@example.com")
    login("consultant")
    url = f"/candidates/{twin.id}/edit"

    retyped = changed(opened(client, url), mobile="+61412345678", email="ADA@example.com")
    response = client.post(url, data=changed(retyped, job_title="Chef"))

    assert response.status_code == 302
    assert fresh(session, Candidate, twin.id).job_title == "Chef"


def test_the_persons_own_mobile_and_email_are_no_match(client, login, session, zoe):
    login("consultant")
    url = f"/candidates/{zoe.id}/edit"
    data = changed(opened(client, url), mobile="+61 499 111 222", email="ZOE@example.de")
    assert client.post(url, data=data).status_code == 302
    assert fresh(session, Candidate, zoe.id).email == "ZOE@example.de"


def test_a_person_of_the_other_kind_with_the_number_is_no_match(
    client, login, session, ada, make_contact
):
    grace = make_contact()
    login("consultant")
    url = f"/contacts/{grace.id}/edit"
    response = client.post(url, data=changed(opened(client, url), mobile="0412 345 678"))
    assert response.status_code == 302
    assert fresh(session, type(grace), grace.id).mobile_e164 == "+61412345678"


def test_a_number_that_replied_stop_stays_opted_out_on_a_record_given_it_anyway(
    app, client, login, session, ada, zoe
):
    """Save anyway (or Add anyway) gave a ticked record the number that had replied STOP, and a
    consultant could then send to it: the new record carries the withdrawal, so ticking SMS again
    needs the authority Ignore needs, as on the first record."""
    receive(app, session, "STOP", from_number="61412345678")  # Ada's phone opts out
    login("consultant")
    url = f"/candidates/{zoe.id}/edit"
    refused = client.post(url, data=changed(opened(client, url), mobile="0412 345 678"))

    assert client.post(url, data=held(html(refused), url) | {"save_anyway": "y"}).status_code == 302

    stored = fresh(session, Candidate, zoe.id)
    assert (stored.mobile_e164, stored.sms_consent) == ("+61412345678", False)
    [carried] = [e for e in audits(session, "consent.sms_withdrawn") if e.subject_id == zoe.id]
    assert carried.details["carried_from"] == f"candidate {ada.id}"
    page = html(client.get(f"/candidates/{zoe.id}")).one("section", id="privacy")
    assert "Only a user allowed to ignore opt-outs can tick SMS again" in page.text


def test_a_contact_given_a_number_that_replied_stop_starts_opted_out(
    app, client, login, session, ada, make_contact
):
    receive(app, session, "STOP", from_number="61412345678")
    contact = make_contact("Con", "Tact", "0499 000 111")
    login("consultant")
    url = f"/contacts/{contact.id}/edit"

    response = client.post(url, data=changed(opened(client, url), mobile="0412 345 678"))

    assert response.status_code == 302  # another kind: no duplicate to confirm
    assert fresh(session, ClientContact, contact.id).sms_consent is False
