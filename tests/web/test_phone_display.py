"""Phone numbers are shown one way on every page: national for the default region (the admin's
setting, else SMS_DEFAULT_REGION), international otherwise, with the E.164 form in a title."""

from __future__ import annotations

import pytest

from tests.html_tree import Node, html
from webapp.models import Setting

AU, NZ = "+61412345678", "+64211234567"


@pytest.fixture
def people(make_candidate):
    """Ada on an Australian mobile (the tests' default region) and Kiri on a New Zealand one."""
    return (
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Kiri", "Te Kanawa", "+64 21 123 4567"),
    )


def numbers(doc: Node) -> dict[str, str]:
    """{E.164 in the title: the number as shown} for every number on the page."""
    return {
        span.get("title"): span.text
        for span in doc.all("span")
        if (span.get("title") or "").startswith("+")
    }


def test_search_results_show_local_numbers_nationally_others_internationally(client, login, people):
    login("consultant")
    shown = numbers(html(client.get("/candidates")))
    assert shown == {AU: "0412 345 678", NZ: "+64 21 123 4567"}


def test_the_record_shows_its_number_the_same_way(client, login, people):
    ada, kiri = people
    login("viewer")
    assert numbers(html(client.get(f"/candidates/{ada.id}"))) == {AU: "0412 345 678"}
    assert numbers(html(client.get(f"/candidates/{kiri.id}"))) == {NZ: "+64 21 123 4567"}


def test_the_admins_phone_region_decides_which_are_national(client, login, people, session):
    session.add(Setting(key="default_region", value="NZ"))
    session.commit()
    login("consultant")
    shown = numbers(html(client.get("/candidates")))
    assert shown == {AU: "+61 412 345 678", NZ: "021 123 4567"}


def test_text_that_is_not_a_number_is_shown_as_text(app):
    # An audit entry's details are stored text: a "number" there is shown as text, never as markup.
    from webapp.web.phone_numbers import phone

    with app.test_request_context():
        assert str(phone('<b>"x"</b>')) == "&lt;b&gt;&#34;x&#34;&lt;/b&gt;"
        assert str(phone(AU)) == '<span title="+61412345678">0412 345 678</span>'


def test_a_mobile_is_markup_only_where_the_page_made_it(app):
    # The `mobile` filter builds its cell in Python: what was typed, and the link, are escaped.
    from types import SimpleNamespace

    from webapp.web.phone_numbers import mobile

    def person(raw, valid=False, e164=None):
        return SimpleNamespace(mobile_raw=raw, mobile_valid=valid, mobile_e164=e164)

    with app.test_request_context():
        assert str(mobile(person(None))) == '<span class="muted">No mobile</span>'
        assert str(mobile(person('<b>"1"</b>'))) == (
            '&lt;b&gt;&#34;1&#34;&lt;/b&gt; <span class="badge badge-bad">invalid number</span>'
        )
        number = '<span title="+61412345678">0412 345 678</span>'
        assert str(mobile(person("0412345678", True, AU))) == number
        assert str(mobile(person("0412345678", True, AU), '/sms?a=1&b="2"')) == (
            '<a href="/sms?a=1&amp;b=&#34;2&#34;"><span class="visually-hidden">SMS </span>'
            f"{number}</a>"
        )


def test_a_stored_landline_shows_as_typed_with_what_it_is(app):
    # Kept from before mobiles were checked for what they are (migration 0024), or imported.
    from types import SimpleNamespace

    from webapp.web.phone_numbers import mobile

    landline = SimpleNamespace(
        mobile_raw="02 9374 4000", mobile_valid=False, mobile_e164="+61293744000"
    )
    with app.test_request_context():
        assert str(mobile(landline, "/sms")) == (
            '02 9374 4000 <span class="badge badge-bad">landline, not a mobile</span>'
        )
