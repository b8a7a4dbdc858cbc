"""The date filters of the list pages take days from 1900 to 2999: a day at Python's own limits
(0001-01-01, 9999-12-31), whose bounds in the reader's zone fall outside what a datetime holds, is
refused beside its field (400), never a 500; the first and last days taken work in the zones
furthest from UTC."""

from __future__ import annotations

import pytest

from tests.html_tree import html

LIMITS = "must be a day from 1900 to 2999."
# (role, page, field, its label): every list whose filters read days.
FILTERS = [
    ("consultant", "/candidates", "created_from", "Created from"),
    ("consultant", "/candidates", "created_to", "Created to"),
    ("consultant", "/contacts", "created_from", "Created from"),
    ("consultant", "/contacts", "created_to", "Created to"),
    ("consultant", "/sms/sent", "date_from", "Sent from"),
    ("consultant", "/sms/sent", "date_to", "Sent to"),
    ("team-leader", "/audit", "date_from", "From"),
    ("team-leader", "/audit", "date_to", "To"),
]
# UTC+14 and UTC-11: the start of 0001-01-01 in the first is before year 1 in UTC, the end of
# 9999-12-31 in the second after year 9999.
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
@pytest.mark.parametrize(("role", "page", "field", "label"), FILTERS)
def test_a_day_outside_the_years_taken_is_refused_beside_its_field(
    client, login, zone, day, role, page, field, label
):
    login(role, timezone=zone)

    response = client.get(f"{page}?{field}={day}")

    assert response.status_code == 400
    doc = html(response)
    assert doc.one("span", id=f"{field}-error").text == f"{label} {LIMITS}"
    box = doc.one("input", id=field)
    assert box.get("aria-invalid") == "true" and box.get("value") == day


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("role", "page", "field", "label"), FILTERS)
def test_the_first_and_last_days_taken_answer_in_every_zone(
    client, login, zone, role, page, field, label
):
    login(role, timezone=zone)
    for day in ("1900-01-01", "2999-12-31"):
        response = client.get(f"{page}?{field}={day}")
        assert response.status_code == 200, (day, response.status_code)
        assert f"{label} {LIMITS}" not in response.get_data(as_text=True)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_sent_download_refuses_such_a_day_with_its_reason(client, login, day):
    login("consultant", timezone="Pacific/Kiritimati")

    response = client.get(f"/sms/sent.csv?date_to={day}")

    assert response.status_code == 400
    assert f"Sent to {LIMITS}" in response.get_data(as_text=True)
