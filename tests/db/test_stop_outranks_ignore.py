"""A person's own STOP outranks a consultant's Ignore on what has not gone yet (SQLite and
PostgreSQL): a message queued, scheduled or held for quiet hours under Ignore is refused at sending
once they reply STOP (or the gateway reports them unsubscribed), with the usual opt-out reason, and
the STOP's audit entry counts it; an Ignore given after their STOP still goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.replying import consent_audits, receive, rows
from webapp.database import begin_write
from webapp.models import Batch, Candidate, Message, utcnow
from webapp.sms import consent, replies
from webapp.sms.providers.sandbox import Sandbox

ADA_MOBILE = "0412 345 678"
REASON = "She asked by phone for the shift details."
REFUSED = "The person opted out of SMS after the message was queued; not sent."


@pytest.fixture
def lead(make_user):
    return make_user(role="team-leader", full_name="Lee Lead")


@pytest.fixture
def olive(make_candidate):
    """Opted out by hand (her SMS box unticked by a user, not by a STOP)."""
    return make_candidate("Olive", "Optout", ADA_MOBILE, sms_consent=False)


def send_with_ignore(session, lead, people, **fields):
    batch = delivery.queue(
        session, lead, people, provider="sandbox", ignore=True, ignore_reason=REASON, **fields
    )
    assert any(m.override_opt_out for m in delivery.messages(session, batch))
    return batch


def dispatch(app) -> None:
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)


def hold_for_quiet_hours(session, batch) -> None:
    """As the worker leaves a message due in its recipient's quiet hours: queued until they end."""
    until = utcnow() + timedelta(hours=8)
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id)
        .values(next_attempt_at=until, quiet_until=until)
    )
    session.commit()


def due_now(session, batch) -> None:
    """Their quiet hours over: due again."""
    session.execute(
        sa.update(Message).where(Message.batch_id == batch.id).values(next_attempt_at=utcnow())
    )
    session.commit()


@pytest.mark.parametrize("held", [False, True], ids=["queued", "held-for-quiet-hours"])
def test_a_stop_after_an_ignore_send_refuses_the_message_still_waiting(
    app, session, lead, olive, held
):
    batch = send_with_ignore(session, lead, [olive])
    if held:
        hold_for_quiet_hours(session, batch)

    receive(app, session, "STOP")
    if held:
        due_now(session, batch)
    dispatch(app)

    [message] = delivery.messages(session, batch)
    assert (message.state, message.error_code, message.error_text) == (
        "rejected",
        "recheck",
        REFUSED,
    )
    assert message.sent_at is None and message.override_opt_out is False
    # Audited as her own opt-out (over the untick by hand), with the Ignore it took back.
    [event] = consent_audits(session)
    assert event.action == "consent.sms_withdrawn"
    assert event.details["changes"] == {"sms_consent": [False, False]}
    assert event.details["ignore_withdrawn"] == 1


def test_a_stop_after_a_scheduled_ignore_send_means_it_is_not_sent_at_its_time(
    app, session, lead, olive, make_candidate
):
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    batch = send_with_ignore(session, lead, [olive, bob], send_at=utcnow() + timedelta(hours=1))

    receive(app, session, "Stop")
    # Its time comes (moved, not waited for): the worker releases it and sends in one run.
    session.execute(
        sa.update(Batch).where(Batch.id == batch.id).values(send_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    dispatch(app)

    by_person = {m.candidate_id: m for m in delivery.messages(session, batch)}
    assert by_person[bob.id].state == "sent"
    assert (by_person[olive.id].state, by_person[olive.id].error_text) == ("rejected", REFUSED)


def test_a_second_stop_still_takes_back_an_ignore_given_after_the_first(
    app, session, lead, make_candidate
):
    """Ignore over her first STOP was the consultant's call; a STOP after it is her latest word."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    receive(app, session, "STOP")
    batch = send_with_ignore(session, lead, [ada])

    receive(app, session, "STOP")
    dispatch(app)

    [message] = delivery.messages(session, batch)
    assert (message.state, message.error_text) == ("rejected", REFUSED)
    assert len(consent_audits(session)) == 1  # one opt-out, as the dashboard counts it


def test_an_ignore_given_after_the_stop_goes(app, session, lead, make_candidate):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    receive(app, session, "STOP")

    batch = send_with_ignore(session, lead, [ada])
    dispatch(app)

    [message] = delivery.messages(session, batch)
    assert message.state == "sent" and message.override_opt_out is True


def test_the_gateways_opt_out_takes_back_the_ignore_too(app, session, lead, olive):
    batch = send_with_ignore(session, lead, [olive])

    begin_write(session)
    consent.set_for_number(
        session, olive.mobile_e164, False, actor=None, cause={"source": "gateway", "code": "21610"}
    )
    session.commit()
    dispatch(app)

    [message] = delivery.messages(session, batch)
    assert (message.state, message.error_text) == ("rejected", REFUSED)


def test_a_start_or_another_reply_leaves_the_ignore(app, session, lead, olive):
    batch = send_with_ignore(session, lead, [olive])

    receive(app, session, "Thanks, see you Monday")
    dispatch(app)

    [message] = delivery.messages(session, batch)
    assert message.state == "sent" and message.override_opt_out is True


def test_a_stop_filed_by_hand_takes_back_an_ignore_given_before_it_came(app, session, lead, olive):
    before = send_with_ignore(session, lead, [olive])
    stop = receive(app, session, "STOP", from_number="61499888777")  # from a number no record has
    after = send_with_ignore(session, lead, [olive])  # given after the STOP came

    replies.attach(session, stop, rows(session, Candidate, Candidate.id == olive.id)[0], lead)
    dispatch(app)

    [refused] = delivery.messages(session, before)
    [sent] = delivery.messages(session, after)
    assert (refused.state, refused.error_text) == ("rejected", REFUSED)
    assert sent.state == "sent"
    [event] = consent_audits(session)
    assert event.details["ignore_withdrawn"] == 1
