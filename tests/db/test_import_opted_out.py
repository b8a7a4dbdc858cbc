"""An import never makes a record to send to a number that replied STOP: a line saying consent for
a number whose holder withdrew it themselves (a STOP, a gateway's opt-out) is imported with SMS
unticked, audited as Add anyway audits it, and listed in the summary."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.db.test_import import CANDIDATE_HEADER, CONTACT_HEADER, candidates, cli, contacts, write
from tests.replying import receive
from webapp.data.csv_import import import_people
from webapp.models import AuditEvent
from webapp.people import records


def withdrawals(session) -> list[AuditEvent]:
    session.rollback()
    return list(
        session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "consent.sms_withdrawn", AuditEvent.subject_id.is_not(None))
            .order_by(AuditEvent.id)
        )
    )


def test_a_number_that_replied_stop_is_imported_opted_out_and_listed(app, session, ada, tmp_path):
    receive(app, session, "STOP", from_number="61412345678")  # Ada's phone opts out
    data = f"""{CANDIDATE_HEADER}
Maryam,Ali,0412 345 678,,yes,,
Bob,Brown,0412 340 000,,yes,,
Cy,Young,+61 412 345 678,,no,,
"""
    result = cli(app, "import", "candidates", str(write(tmp_path, data)))

    assert result.exit_code == 0, result.output
    assert "Imported 3 candidates." in result.stdout
    assert "1 kept opted out: their number replied STOP" in result.stdout
    assert "  line 2: Maryam Ali: their number replied STOP" in result.stdout
    _ada, maryam, bob, cy = candidates(session)
    assert (maryam.mobile_e164, maryam.sms_consent) == ("+61412345678", False)
    assert (bob.sms_consent, cy.sms_consent) == (True, False)  # Cy's file said no: nothing carried
    # Audited as Add anyway or an Edit audits it, so ticking SMS again needs the same authority.
    carried = [event for event in withdrawals(session) if event.subject_id != ada.id]
    assert [(e.subject_type, e.subject_id, e.actor_id) for e in carried] == [
        ("candidate", maryam.id, None)
    ]
    assert carried[0].details == {
        "changes": {"sms_consent": [True, False]},
        "number": "+61412345678",
        "source": "reply",
        "carried_from": f"candidate {ada.id}",
    }
    assert records.self_withdrawal(session, maryam).overrides == "stop"


def test_a_contact_imported_with_a_candidates_stopped_number_is_kept_opted_out(app, session, ada):
    receive(app, session, "STOP", from_number="61412345678")
    data = f"{CONTACT_HEADER}\nGrace,Hopper,0412 345 678,,yes,Harbour Mining,Payroll\n"

    report = import_people(session, "contacts", data.encode(), "AU")

    assert report.created == 1
    assert report.kept_opted_out == [(2, "Grace Hopper", "replied STOP")]
    [grace] = contacts(session)
    assert grace.sms_consent is False
    [carried] = [e for e in withdrawals(session) if e.subject_type == "contact"]
    assert carried.details["carried_from"] == f"candidate {ada.id}"


def test_a_box_unticked_by_hand_or_ticked_again_carries_nothing(app, session, make_candidate):
    """Only the person's own word carries: a box a user unticked, or a STOP later overruled by a
    user allowed to, is no withdrawal of the number."""
    make_candidate("Hand", "Unticked", "0412 111 111", sms_consent=False)
    make_candidate("Stopped", "Started", "0412 222 222")
    receive(app, session, "STOP", from_number="61412222222")
    receive(app, session, "START", from_number="61412222222")
    data = f"""{CANDIDATE_HEADER}
New,One,0412 111 111,,yes,,
New,Two,0412 222 222,,yes,,
"""
    report = import_people(session, "candidates", data.encode(), "AU")

    assert report.created == 2 and report.kept_opted_out == []
    assert [c.sms_consent for c in candidates(session)[-2:]] == [True, True]


def test_numbers_are_looked_up_a_chunk_at_a_time_not_a_row_at_a_time(
    app, session, make_candidate, monkeypatch
):
    stopped = ["0412 345 601", "0412 345 602", "0412 345 603"]
    for number in stopped:
        make_candidate("Was", "Here", number)
        receive(app, session, "STOP", from_number="61" + number.replace(" ", "")[1:])
    lines = [f"Person,N{n:03},0412 345 {n:03},,yes,," for n in range(1, 700)]
    data = "\n".join([CANDIDATE_HEADER, *lines]) + "\n"
    asked: list[int] = []
    lookup = records.withdrawn_numbers

    def counted(session, numbers):
        numbers = list(numbers)
        asked.append(len(numbers))
        return lookup(session, numbers)

    monkeypatch.setattr(records, "withdrawn_numbers", counted)
    report = import_people(session, "candidates", data.encode(), "AU", chunk=500)

    assert report.created == 699
    assert asked == [500, 199]  # once for each chunk, with every number in it
    assert [line for line, _name, _how in report.kept_opted_out] == [602, 603, 604]
    opted_out = [c.last_name for c in candidates(session)[3:] if not c.sms_consent]
    assert opted_out == ["N601", "N602", "N603"]


@pytest.mark.parametrize("stopped", [True, False])
def test_the_look_up_batches_and_reads_each_numbers_latest_change(
    app, session, make_candidate, make_contact, stopped
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    make_contact("Con", "Tact", "0413 000 000")
    receive(app, session, "STOP", from_number="61412345678")
    receive(app, session, "STOP", from_number="61413000000")
    if not stopped:
        receive(app, session, "START", from_number="61412345678")
    numbers = ["+61412345678", "+61413000000", "+61499999999", None]
    session.rollback()

    found = records.withdrawn_numbers(session, numbers)

    expected = {"+61413000000"} | ({"+61412345678"} if stopped else set())
    assert set(found) == expected
    if stopped:
        assert found["+61412345678"].cause == {
            "source": "reply",
            "carried_from": f"candidate {ada.id}",
        }
