"""webapp.sms.people.load: the people on an SMS as light rows, in the order chosen, read with one
parameter per chunk of ids (an array on PostgreSQL, a JSON array on SQLite)."""

from __future__ import annotations

from webapp.models import Candidate
from webapp.sms import people


def test_the_people_come_in_the_order_chosen_once_each_and_missing_ids_are_left_out(
    session, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bo = make_candidate("Bo", "Diddley", "0412 345 679", job_title="Nurse", location="Sydney")
    cy = make_candidate("Cy", "Twombly", None)
    rows = people.load(session, "candidates", [cy.id, ada.id, 999_999, bo.id, cy.id])
    assert [row.id for row in rows] == [cy.id, ada.id, bo.id]
    assert rows[2] == people.PersonRow(
        "candidates",
        bo.id,
        "Bo",
        "Diddley",
        bo.email,
        bo.mobile_raw,
        "+61412345679",
        "AU",
        True,
        bo.sms_consent,
        "Nurse",
        "Sydney",
    )
    assert rows[0].mobile_raw is None and rows[0].mobile_valid is False
    assert rows[1].full_name == "Ada Lovelace"


def test_contacts_carry_their_position_and_client(session, make_contact):
    grace = make_contact("Grace", "Hopper", "0413 222 333", position="Site manager")
    solo = make_contact("Solo", "Trader", "0413 222 334", client=None)
    rows = people.load(session, "contacts", [solo.id, grace.id])
    assert [(row.id, row.position) for row in rows] == [(solo.id, None), (grace.id, "Site manager")]
    assert rows[0].client is None
    assert rows[1].client == people.ClientRef("Harbour Mining Pty Ltd")
    assert rows[1].job_title is None and rows[1].location is None


def test_ids_over_several_chunks_are_all_read_in_order(session, make_candidate, monkeypatch):
    monkeypatch.setattr(people, "CHUNK", 2)
    made = [make_candidate(f"P{n}", "Chunked", f"0412 300 {n:03d}") for n in range(5)]
    chosen = [made[n].id for n in (4, 0, 3, 1, 2)]
    assert [row.id for row in people.load(session, "candidates", chosen)] == chosen
    assert people.load(session, "candidates", []) == []


def test_a_person_not_yet_flushed_is_read_as_the_session_holds_it(session, make_candidate):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    ada.first_name = "Augusta"  # changed in this session, not flushed
    fresh = Candidate(first_name="Newly", last_name="Added")
    session.add(fresh)
    rows = people.load(session, "candidates", [ada.id])
    assert rows[0].first_name == "Augusta"
    assert fresh.id is not None  # the pending person was written before the read
    assert [row.id for row in people.load(session, "candidates", [fresh.id])] == [fresh.id]
    session.rollback()
