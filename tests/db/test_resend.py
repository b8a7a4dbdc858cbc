"""Resend of messages first sent under Ignore (`webapp.sms.batches.resend`), through a real
dispatcher and the loopback SMS Central: a person still opted out gets the copy only under a new,
audited Ignore; otherwise they are skipped, and nothing reaches the gateway for them. And Resend
queues only what its confirmation offered."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import insert_candidates, messages, queue, run_once
from tests.fakes import FakeSmsCentral
from tests.pages import audits
from webapp.errors import FieldError
from webapp.models import Candidate, Message
from webapp.sms import batches

ADA, OLIVE = "61412345678", "61412000111"


@pytest.fixture
def sms_central():
    # No credit: the first attempt of every message fails (534), so there is something to resend.
    with FakeSmsCentral(credit=0) as fake:
        yield fake


@pytest.fixture
def lead(make_user):
    return make_user(role="team-leader", full_name="Lee Leader")


@pytest.fixture
def failed_under_ignore(app, session, lead, make_candidate, sms_central, sms_central_provider):
    """Ada (consenting) and Olive (opted out, let through by Ignore): both failed for lack of
    credit; then the credit is topped up."""
    batch, ada, olive = delivery.queue_under_ignore(
        session, lead, make_candidate, olive_mobile="0412 000 111", provider="smscentral"
    )
    run_once(app, sms_central_provider)
    assert [(m.state, m.override_opt_out) for m in messages(session, batch)] == [
        ("failed", False),
        ("failed", True),
    ]
    sms_central.credit = None
    return batch, ada, olive


def recipients(fake: FakeSmsCentral) -> list[str]:
    return sorted(m["RECIPIENT"] for m in fake.messages)


def test_without_a_new_ignore_the_person_still_opted_out_is_skipped_and_never_sent_to(
    app, session, lead, failed_under_ignore, sms_central, sms_central_provider
):
    batch, ada, olive = failed_under_ignore

    resent = batches.resend(session, batch, lead, ("failed",))
    run_once(app, sms_central_provider)

    assert (resent.queued, resent.skipped) == (1, 1)
    assert recipients(sms_central) == [ADA]
    rows = messages(session, batch)
    olive_rows = [m for m in rows if m.candidate_id == olive.id]
    assert [(m.state, m.superseded) for m in olive_rows] == [("failed", False)]  # left as it was
    [copy] = [m for m in rows if m.resend_of_id is not None]
    assert (copy.candidate_id, copy.override_opt_out, copy.state) == (ada.id, False, "sent")
    [event] = audits(session, "sms.resent")
    assert (event.details["messages"], event.details["skipped_opted_out"]) == (1, 1)
    assert len(audits(session, "sms.ignore_opt_out")) == 1  # only the original Send's


def test_a_new_ignore_with_a_reason_carries_an_audited_override_to_the_gateway(
    app, session, lead, failed_under_ignore, sms_central, sms_central_provider
):
    batch, ada, olive = failed_under_ignore

    resent = batches.resend(
        session, batch, lead, ("failed",), ignore=True, reason="  She asked again by phone  "
    )
    run_once(app, sms_central_provider)

    assert (resent.queued, resent.skipped) == (2, 0)
    assert recipients(sms_central) == sorted([ADA, OLIVE])
    copies = {m.candidate_id: m for m in messages(session, batch) if m.resend_of_id is not None}
    assert {pid: (m.override_opt_out, m.state) for pid, m in copies.items()} == {
        ada.id: (False, "sent"),
        olive.id: (True, "sent"),
    }
    original_send, on_resend = audits(session, "sms.ignore_opt_out")
    assert on_resend.actor_id == lead.id
    assert (on_resend.subject_type, on_resend.subject_id) == ("batch", batch.id)
    assert on_resend.details["reason"] == "She asked again by phone"
    assert on_resend.details["resend"] is True
    # Compact, as Send records it: the audit page names people as their records are named now.
    assert (on_resend.details["kind"], on_resend.details["people"]) == (
        "candidates",
        [[olive.id, "+" + OLIVE]],
    )


def test_someone_who_ticked_sms_since_gets_an_ordinary_copy_without_the_old_override(
    app, session, lead, failed_under_ignore, sms_central, sms_central_provider
):
    batch, ada, olive = failed_under_ignore
    session.execute(sa.update(Candidate).where(Candidate.id == olive.id).values(sms_consent=True))
    session.commit()

    resent = batches.resend(session, batch, lead, ("failed",))

    assert (resent.queued, resent.skipped) == (2, 0)
    copies = {m.candidate_id: m for m in messages(session, batch) if m.resend_of_id is not None}
    assert copies[olive.id].override_opt_out is False
    # Should she send STOP before it goes, the send-time check now rejects it.
    session.execute(sa.update(Candidate).where(Candidate.id == olive.id).values(sms_consent=False))
    session.commit()
    run_once(app, sms_central_provider)
    assert recipients(sms_central) == [ADA]
    assert messages(session, batch)[-1].state == "rejected"


@pytest.mark.parametrize("reason", ["", "   ", "r" * 501], ids=["empty", "blank", "too-long"])
def test_a_new_ignore_without_a_usable_reason_queues_nothing(
    app, session, lead, failed_under_ignore, reason
):
    batch, _, _ = failed_under_ignore
    before = [(m.id, m.state, m.superseded) for m in messages(session, batch)]

    with pytest.raises(FieldError) as caught:
        batches.resend(session, batch, lead, ("failed",), ignore=True, reason=reason)
    session.rollback()

    assert (caught.value.field, caught.value.status) == ("ignore_reason", 400)
    assert [(m.id, m.state, m.superseded) for m in messages(session, batch)] == before
    assert audits(session, "sms.resent") == []


def test_ignore_ticked_on_a_resend_needs_its_reason_even_when_it_overrides_nobody(
    app, session, lead, failed_under_ignore
):
    """As on the SMS screen: the reason is required whenever Ignore is ticked."""
    batch, _, olive = failed_under_ignore
    session.get(Candidate, olive.id).sms_consent = True  # she ticked SMS again meanwhile
    session.commit()
    before = [(m.id, m.state, m.superseded) for m in messages(session, batch)]

    with pytest.raises(FieldError) as caught:
        batches.resend(session, batch, lead, ("failed",), ignore=True, reason="  ")
    session.rollback()

    assert (caught.value.field, caught.value.status) == ("ignore_reason", 400)
    assert [(m.id, m.state, m.superseded) for m in messages(session, batch)] == before


def test_a_new_ignore_without_the_permission_is_refused_and_queues_nothing(
    app, session, make_user, failed_under_ignore
):
    batch, _, _ = failed_under_ignore
    consultant = make_user(role="consultant")
    before = [(m.id, m.state, m.superseded) for m in messages(session, batch)]

    with pytest.raises(FieldError) as caught:
        batches.resend(session, batch, consultant, ("failed",), ignore=True, reason="urgent")
    session.rollback()

    assert caught.value.status == 403
    assert [(m.id, m.state, m.superseded) for m in messages(session, batch)] == before


def test_needing_ignore_counts_only_overridden_people_still_opted_out(
    app, session, failed_under_ignore
):
    batch, _, olive = failed_under_ignore

    assert batches.needing_ignore(session, batch) == {"failed": 1, "unknown": 0}
    session.execute(sa.update(Candidate).where(Candidate.id == olive.id).values(sms_consent=True))
    session.commit()
    assert batches.needing_ignore(session, batch) == {"failed": 0, "unknown": 0}


# --- only what was offered -----------------------------------------------------------------------


@pytest.fixture
def two_failed_two_sending(app, session, sender):
    """Five people: one delivered, two failed, two still on their way (they fail next)."""
    batch = queue(session, sender, insert_candidates(session, 5), provider="sandbox")
    ids = [m.id for m in messages(session, batch)]
    for message_id, state in zip(ids, ("delivered", "failed", "failed"), strict=False):
        session.execute(sa.update(Message).where(Message.id == message_id).values(state=state))
    session.commit()
    return batch, ids


def fail(session, ids: list[int]) -> None:
    session.execute(sa.update(Message).where(Message.id.in_(ids)).values(state="failed"))
    session.commit()


def copies(session, batch) -> list[Message]:
    return [m for m in messages(session, batch) if m.resend_of_id is not None]


def test_messages_that_failed_after_the_offer_are_not_resent_under_it(
    session, sender, two_failed_two_sending
):
    """Offered "2 failed" while two more were on their way; they failed before the press, and
    all four were queued (and counted against the daily limit)."""
    batch, ids = two_failed_two_sending
    offer = batches.resend_offer(session, batch)
    assert offer.counts == {"failed": 2, "unknown": 0}
    fail(session, ids[3:])

    with pytest.raises(FieldError) as caught:
        batches.resend(session, batch, sender, ("failed",), upto=offer.upto, offered=offer.offered)
    session.rollback()

    assert (caught.value.field, caught.value.status) == ("form", 409)
    assert "changed since this page was opened" in caught.value.message
    assert copies(session, batch) == [] and audits(session, "sms.resent") == []
    # The offer made afresh says four, and Resend under it queues those four.
    fresh = batches.resend_offer(session, batch)
    assert fresh.counts["failed"] == 4
    resent = batches.resend(
        session, batch, sender, ("failed",), upto=fresh.upto, offered=fresh.offered
    )
    assert resent.queued == 4
    [event] = audits(session, "sms.resent")
    assert event.details["messages"] == 4


def test_what_was_offered_is_resent_though_a_later_receipt_touched_it(
    session, sender, two_failed_two_sending
):
    """Not told by when a message last changed: a receipt after the offer does not drop it."""
    batch, ids = two_failed_two_sending
    offer = batches.resend_offer(session, batch)
    session.execute(
        sa.update(Message).where(Message.id == ids[1]).values(error_text="Number unreachable")
    )
    session.commit()

    resent = batches.resend(
        session, batch, sender, ("failed",), upto=offer.upto, offered=offer.offered
    )

    assert resent.queued == 2
    assert sorted(m.resend_of_id for m in copies(session, batch)) == ids[1:3]
