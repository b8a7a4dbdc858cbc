"""A number taken off a record is not sent to (SQLite and PostgreSQL): a message whose person's
mobile was changed or removed after it was written is rejected by the send-time re-check, and a
resent copy goes to the mobile on the record now (or, with none, is not made)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import messages, queue, run_once, send_request
from tests.pages import audits
from webapp.models import Batch, utcnow
from webapp.sms import batches, compose, settings
from webapp.sms.providers.sandbox import Sandbox

ADA, BOB = "61412345678", "61412345679"


@pytest.fixture
def bob(make_candidate):
    return make_candidate("Bob", "Brown", "0412 345 679")


def recipients(fake) -> list[str]:
    return sorted(r.form["RECIPIENT"] for r in fake.sends)


def remove_mobile(person) -> None:
    person.set_mobile(None, "AU")


def change_mobile(person) -> None:
    person.set_mobile("0412 999 888", "AU")


@pytest.mark.parametrize(
    "change, said",
    [(remove_mobile, "was removed"), (change_mobile, "changed")],
    ids=["removed", "changed"],
)
def test_a_scheduled_sms_does_not_go_to_a_mobile_taken_off_the_record_while_it_waited(
    app, session, sender, ada, bob, sms_central, sms_central_provider, change, said
):
    draft = compose.create_draft(session, sender, "candidates", [ada.id, bob.id])
    batch = compose.send(
        session,
        draft,
        sender,
        send_request(send_at=utcnow() + timedelta(minutes=2)),
        provider="smscentral",
        blocked=settings.blocked_regions(session, "smscentral"),
    )
    change(ada)  # Edit, before it goes
    session.commit()
    # Its time comes (moved, not waited for).
    session.execute(
        sa.update(Batch).where(Batch.id == batch.id).values(send_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()

    run_once(app, sms_central_provider)

    by_person = {m.candidate_id: m for m in messages(session, batch)}
    assert by_person[bob.id].state == "sent"
    to_ada = by_person[ada.id]
    assert (to_ada.state, to_ada.error_code) == ("rejected", "recheck")
    assert f"The mobile on the record {said}" in to_ada.error_text
    assert recipients(sms_central) == [BOB]


def test_a_contacts_queued_sms_does_not_go_to_the_number_changed_on_their_record(
    app, session, sender, make_contact, sms_central, sms_central_provider
):
    grace = make_contact("Grace", "Hopper", "0413 222 333")
    batch = queue(session, sender, [grace], provider="smscentral", kind="contacts")
    change_mobile(grace)
    session.commit()

    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert (message.state, message.error_code) == ("rejected", "recheck")
    assert sms_central.sends == []


def test_the_same_number_typed_again_another_way_is_still_sent_to(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch = queue(session, sender, [ada], provider="smscentral")
    ada.set_mobile("+61 412 345 678", "AU")  # the record saved again: the same number
    session.commit()

    run_once(app, sms_central_provider)

    assert [m.state for m in messages(session, batch)] == ["sent"]
    assert recipients(sms_central) == [ADA]


# --- Resend --------------------------------------------------------------------------------------


@pytest.fixture
def failed_to_a_wrong_number(app, session, sender, make_candidate):
    """Ada's SMS failed on 0412 340 000 (the sandbox fails …0000), and Bob's went."""
    ada = make_candidate("Ada", "Lovelace", "0412 340 000")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    batch = queue(session, sender, [ada, bob], provider="sandbox")
    run_once(app, Sandbox())
    assert [m.state for m in messages(session, batch)] == ["failed", "sent"]
    return batch, ada


def test_a_resent_copy_goes_to_the_mobile_corrected_on_the_record(
    app, session, sender, failed_to_a_wrong_number
):
    batch, ada = failed_to_a_wrong_number
    ada.set_mobile("0412 345 678", "AU")  # the consultant corrects the number
    session.commit()

    resent = batches.resend(session, batch, sender, ("failed",))
    run_once(app, Sandbox())

    [copy] = [m for m in messages(session, batch) if m.resend_of_id is not None]
    assert (copy.to_e164, copy.to_region, copy.state) == ("+" + ADA, "AU", "sent")
    assert resent.queued == 1


@pytest.mark.parametrize("mobile", [None, "12"], ids=["removed", "invalid"])
def test_a_person_with_no_valid_mobile_now_is_not_resent_and_the_offer_says_so(
    app, session, sender, failed_to_a_wrong_number, mobile
):
    batch, ada = failed_to_a_wrong_number
    ada.set_mobile(mobile, "AU")
    session.commit()

    resent = batches.resend(session, batch, sender, ("failed",))

    rows = messages(session, batch)
    assert [m for m in rows if m.resend_of_id is not None] == []
    assert [(m.state, m.superseded) for m in rows] == [("failed", False), ("sent", False)]
    assert (resent.queued, resent.skipped, resent.no_mobile) == (0, 0, 1)
    [event] = audits(session, "sms.resent")
    assert (event.details["messages"], event.details["skipped_no_mobile"]) == (0, 1)
    # Still offered, as one Resend would skip, until the record has a mobile again.
    offer = batches.resend_offer(session, batch)
    assert (offer.counts["failed"], offer.no_mobile["failed"]) == (1, 1)
