"""A satellite or international-network mobile (phonenumbers' region "001", a valid mobile of no
country) typed on the Add and Edit forms: refused beside the field with the number kept, where it
was a 500 on PostgreSQL and stored with region "001" on SQLite."""

from __future__ import annotations

import pytest

from tests.html_tree import html
from tests.pages import candidate_form, fresh, opened
from webapp.models import Candidate

WHY = "is a satellite or international-network number: SMS Desk sends to the mobile numbers of"


@pytest.mark.parametrize("mobile", ["+881612345678", "+870 773111632", "+882 342 1234"])
def test_a_satellite_mobile_is_refused_on_add_and_kept_on_the_form(client, login, session, mobile):
    login("consultant")
    response = client.post("/candidates/new", data=candidate_form(mobile=mobile))

    assert response.status_code == 400
    doc = html(response)
    field = doc.one("input", name="mobile")
    assert (field.get("aria-invalid"), field.get("value")) == ("true", mobile)
    assert f"“{mobile}” {WHY}" in doc.one("span", id="mobile-error").text
    assert doc.one("input", name="first_name").get("value") == "Zoë"
    session.rollback()
    assert session.query(Candidate).count() == 0


def test_a_satellite_mobile_is_refused_on_edit_and_the_stored_one_stands(
    client, login, session, ada
):
    login("consultant")
    url = f"/candidates/{ada.id}/edit"
    form = opened(client, url) | {"mobile": "+870 773111632"}

    response = client.post(url, data=form)

    assert response.status_code == 400
    doc = html(response)
    assert doc.one("input", name="mobile").get("value") == "+870 773111632"
    assert f"“+870 773111632” {WHY}" in doc.one("span", id="mobile-error").text
    person = fresh(session, Candidate, ada.id)
    assert (person.mobile_e164, person.mobile_region, person.mobile_valid) == (
        "+61412345678",
        "AU",
        True,
    )
