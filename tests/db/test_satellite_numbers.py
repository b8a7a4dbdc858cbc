"""Numbers of no country (satellite phones, international networks and services, which
phonenumbers places in region "001") on a real database (SQLite and PostgreSQL): stored with no
region and as no SMS-able mobile, through the record forms' save, the CSV import and a reply's
matching, where PostgreSQL refused "001" in the two-letter region columns."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.replying import receive
from webapp.data.csv_import import import_people
from webapp.models import Candidate
from webapp.people import records

SATELLITE = "a satellite or international-network number"


def stored(session) -> list[tuple]:
    session.rollback()  # end any read transaction, so rows committed elsewhere are seen
    return [
        (c.mobile_raw, c.mobile_e164, c.mobile_region, c.mobile_valid)
        for c in session.scalars(sa.select(Candidate).order_by(Candidate.id))
    ]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [("+881612345678", "+881612345678"), ("+870 773111632", "+870773111632")],
    ids=["iridium", "inmarsat"],
)
def test_a_satellite_number_is_saved_with_no_region_and_as_no_mobile(session, casey, typed, e164):
    """On PostgreSQL it was a 500 (value too long for type character varying(2)): "001"."""
    data = records.PersonData(
        values={"first_name": "Sat", "last_name": "Phone", "email": None, "status": "Active"},
        mobile=typed,
    )
    person = records.save_person(session, "candidates", None, data, casey, "AU")
    assert stored(session) == [(typed, e164, None, False)]

    # An Edit to another one is saved the same way.
    data.mobile = "+881 6 1234 5679"
    records.save_person(session, "candidates", session.get(Candidate, person.id), data, casey, "AU")
    assert stored(session) == [("+881 6 1234 5679", "+881612345679", None, False)]


def test_an_import_keeps_numbers_of_no_country_as_no_mobiles(session):
    text = (
        "first_name,last_name,mobile,email,sms_consent\n"
        "Sat,Phone,+881612345678,,yes\n"
        "Free,Call,+800 1234 5678,,yes\n"
        "Ada,Lovelace,0412 345 678,,yes\n"
    )
    report = import_people(session, "candidates", text.encode(), "AU")

    assert report.ok, report.errors
    assert stored(session) == [
        ("+881612345678", "+881612345678", None, False),
        ("+800 1234 5678", "+80012345678", None, False),
        ("0412 345 678", "+61412345678", "AU", True),
    ]
    assert [what for _, _, what in report.not_mobiles] == [SATELLITE, "a freecall service number"]


def test_a_reply_from_a_satellite_number_finds_its_person(app, session, casey):
    data = records.PersonData(
        values={"first_name": "Sat", "last_name": "Phone", "email": None, "status": "Active"},
        mobile="+881612345678",
    )
    person = records.save_person(session, "candidates", None, data, casey, "AU")

    reply = receive(app, session, "On the ship till May", from_number="881612345678")

    assert (reply.from_e164, reply.candidate_id) == ("+881612345678", person.id)
