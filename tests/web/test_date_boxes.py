"""The date filters of the list pages keep a refused day in view: one a browser's date box cannot
hold (2026-02-30, 31/01/2026) comes back in a text box, as typed and marked wrong, where a date box
would show it empty and Filter would send no date at all; a day it can hold stays a date box."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.html_tree import html
from tests.web.test_date_limits import FILTERS  # every list whose filters read days


@pytest.mark.parametrize("typed", ["2026-02-30", "31/01/2026", "2026-1-5"])
@pytest.mark.parametrize(("role", "page", "field", "label"), FILTERS)
def test_a_day_no_date_box_holds_comes_back_as_typed_in_a_text_box(
    client, login, typed, role, page, field, label
):
    login(role)

    response = client.get(f"{page}?{field}={quote(typed)}")

    assert response.status_code == 400
    doc = html(response)
    box = doc.one("input", id=field)
    assert (box.get("type"), box.get("value")) == ("text", typed)
    assert box.get("aria-invalid") == "true"
    assert box.get("aria-describedby") == f"{field}-error"
    assert doc.one("span", id=f"{field}-error").text.startswith(label)
    assert doc.one("label", for_=field).text == label


@pytest.mark.parametrize(("role", "page", "field", "label"), FILTERS)
def test_a_good_day_stays_in_a_date_box(client, login, role, page, field, label):
    login(role)

    response = client.get(f"{page}?{field}=2026-02-28")

    assert response.status_code == 200
    box = html(response).one("input", id=field)
    assert (box.get("type"), box.get("value")) == ("date", "2026-02-28")
    assert box.get("aria-invalid") is None


@pytest.mark.parametrize(("role", "page", "field", "label"), FILTERS)
def test_a_real_day_refused_stays_in_a_date_box(client, login, role, page, field, label):
    """1899-12-31 is before the years taken, but a date box holds it: it stays one, marked."""
    login(role)

    response = client.get(f"{page}?{field}=1899-12-31")

    assert response.status_code == 400
    box = html(response).one("input", id=field)
    assert (box.get("type"), box.get("value")) == ("date", "1899-12-31")
    assert box.get("aria-invalid") == "true"


@pytest.mark.parametrize("page, other", [("/sms/sent", "date_from"), ("/audit", "date_from")])
def test_the_other_date_box_stays_a_date_box(client, login, page, other):
    login("team-leader")

    response = client.get(f"{page}?{other}=2026-01-05&date_to=2026-02-30")

    doc = html(response)
    assert doc.one("input", id=other).get("type") == "date"
    assert doc.one("input", id="date_to").get("type") == "text"
