"""Reconciliation of `unknown` messages on a real database (SQLite and PostgreSQL) against the
loopback fakes: SMS Central is asked by REFERENCE and a message it does not hold goes again with the
same reference; Twilio's message list is searched by number and text, and a message it never
created goes again only after the give-up time; a failed lookup is tried later; nothing is sent
twice, whichever worker reconciles."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import messages, queue, references, run_once, unknown_after_a_late_answer
from tests.fakes import body, http_status, timeout, twilio_error
from webapp.models import Message, utcnow
from webapp.sms import batches, outbox, reconcile
from webapp.sms.providers import OutboundSms, Transient
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings

SETTINGS = ReconcileSettings()  # after 60 s, give up (Twilio) after 10 min
LATER = timedelta(minutes=2)  # past `after`, before `give_up`


def engine_of(app) -> sa.Engine:
    return app.extensions["database"].engine


def make_due(session) -> None:
    """Queued messages due now: reconciliation queued them at its own (later) `now`."""
    session.rollback()
    delivery.make_due(session)


def reconcile_at(app, provider, later: timedelta = LATER, settings: ReconcileSettings = SETTINGS):
    return reconcile.reconcile(engine_of(app), provider, settings, now=utcnow() + later)


def unknown_before_the_call(app, session, sender, person, provider_name):
    """A worker claimed the message and died before calling the gateway: its lease ran out."""
    batch = queue(session, sender, [person], provider=provider_name)
    [claimed] = outbox.claim(engine_of(app), 1, timedelta(0))
    outbox.expire_leases(session)
    [message] = messages(session, batch)
    assert message.state == "unknown" and message.attempts == 1
    return batch, message, claimed


# --- SMS Central ---------------------------------------------------------------------------------


def test_an_unknown_message_that_smscentral_holds_becomes_sent_without_a_second_send(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)

    report = reconcile_at(app, sms_central_provider)

    assert (report.found, report.queued_again, report.waiting) == (1, 0, 0)
    [message] = messages(session, batch)
    assert message.state == "sent"
    assert message.error_text is None  # no longer "may or may not have been sent"
    assert message.sent_at is not None
    assert message.provider_message_id == sms_central.messages[0]["ID"]
    [check] = sms_central.status_checks
    assert check.form["REFERENCE"] == message.uuid
    assert "ACTION" not in check.form and check.form["USERNAME"] == sms_central.username
    assert references(sms_central) == Counter({message.uuid: 1})
    # Settled: nothing more is asked or sent, now or later.
    assert reconcile_at(app, sms_central_provider, timedelta(hours=1)).found == 0
    assert run_once(app, sms_central_provider) == 0
    assert len(sms_central.status_checks) == 1 and references(sms_central)[message.uuid] == 1


@pytest.mark.parametrize(
    "status, state", [("DELIVRD", "delivered"), ("FAILED", "undelivered"), ("REJECTD", "failed")]
)
def test_the_status_smscentral_reports_is_the_state_the_unknown_message_takes(
    app, session, sender, ada, sms_central, sms_central_provider, status, state
):
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)
    sms_central.statuses[message.uuid] = status

    reconcile_at(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == state
    if state == "delivered":
        assert message.delivered_at is not None and message.error_text is None
    else:
        assert message.error_code == status
        assert message.error_text == "The gateway could not deliver it."
    assert references(sms_central)[message.uuid] == 1


def test_a_message_smscentral_never_got_is_sent_again_with_the_same_reference(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch, message, _ = unknown_before_the_call(app, session, sender, ada, "smscentral")

    report = reconcile_at(app, sms_central_provider)

    assert report.queued_again == 1
    [queued] = messages(session, batch)
    assert queued.state == "queued" and queued.error_text is None
    assert sms_central.sends == []  # reconciliation only asks; the dispatcher sends
    make_due(session)  # queued "now" in the test's future
    run_once(app, sms_central_provider)
    [sent] = messages(session, batch)
    assert sent.state == "sent" and sent.attempts == 2
    assert [m["REFERENCE"] for m in sms_central.messages] == [message.reference]
    assert references(sms_central) == Counter({message.reference: 1})


def test_when_the_status_check_misses_a_message_the_resend_is_refused_513_and_it_counts_as_sent(
    app, session, sender, ada, sms_central, sms_central_provider
):
    """The status answer lags (or its layout is not what we read): the message is sent again with
    its reference, SMS Central refuses it as a duplicate, and Ada still gets one SMS."""
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)
    sms_central.inject(body('<?xml version="1.0"?><messages></messages>'))

    assert reconcile_at(app, sms_central_provider).queued_again == 1
    make_due(session)
    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "sent"
    assert references(sms_central)[message.uuid] == 2  # asked twice...
    assert [m["REFERENCE"] for m in sms_central.messages] == [message.uuid]  # ...held once


@pytest.mark.parametrize(
    "fault",
    [
        http_status(502, "Bad gateway"),
        body("500 Internal error"),
        body("511 Invalid username or password"),
        body("not xml <"),
    ],
)
def test_when_smscentral_cannot_be_asked_the_message_stays_unknown_and_is_asked_again_later(
    app, session, sender, ada, sms_central, sms_central_provider, fault
):
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)
    sms_central.inject(fault)

    report = reconcile_at(app, sms_central_provider)

    assert (report.found, report.queued_again, report.waiting) == (0, 0, 1)
    [waiting] = messages(session, batch)
    assert waiting.state == "unknown"
    assert waiting.updated_at == message.updated_at  # still unknown since the same moment
    # Backed off: asked again neither at once nor before `after` has passed again...
    assert not reconcile_at(app, sms_central_provider, LATER + timedelta(seconds=30))
    assert len(sms_central.status_checks) == 1
    # ...but later, and then it is settled.
    assert reconcile_at(app, sms_central_provider, LATER + timedelta(minutes=2)).found == 1
    assert messages(session, batch)[0].state == "sent"
    assert references(sms_central)[message.uuid] == 1


def test_an_unreachable_gateway_leaves_the_message_unknown(app, session, sender, ada, sms_central):
    batch, _message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)
    sms_central.stop()  # connections are refused from now on
    provider = delivery.smscentral(sms_central)
    try:
        report = reconcile_at(app, provider)
    finally:
        provider.close()

    assert report.waiting == 1
    assert messages(session, batch)[0].state == "unknown"


def test_a_message_is_not_looked_up_before_it_has_been_unknown_for_a_while(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch, _message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)

    assert not reconcile_at(app, sms_central_provider, timedelta(seconds=30))

    assert sms_central.status_checks == []
    assert messages(session, batch)[0].state == "unknown"


def test_up_to_100_references_go_in_one_status_check(
    app, session, sender, sms_central, sms_central_provider
):
    batch = delivery.queue_to_new_candidates(session, sender, 120, provider="smscentral")
    outbox.claim(engine_of(app), 120, timedelta(0))
    outbox.expire_leases(session)

    reconcile_at(app, sms_central_provider)
    reconcile_at(app, sms_central_provider)

    checks = [check.form["REFERENCE"].split(",") for check in sms_central.status_checks]
    assert [len(check) for check in checks] == [100, 20]
    assert Counter(m.state for m in messages(session, batch)) == Counter(queued=120)


def test_a_message_the_consultant_already_resent_is_left_alone(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch, message, _ = unknown_before_the_call(app, session, sender, ada, "smscentral")
    session.rollback()
    session.execute(sa.update(Message).where(Message.id == message.id).values(superseded=True))
    session.commit()

    assert not reconcile_at(app, sms_central_provider)

    original = next(m for m in messages(session, batch) if m.id == message.id)
    assert original.state == "unknown" and original.superseded
    assert sms_central.status_checks == []


def test_two_workers_reconciling_at_once_ask_once_and_queue_the_message_once(
    app, session, sender, ada, sms_central
):
    sms_central.latency = 0.3  # both lookups overlap
    batch, message, _ = unknown_before_the_call(app, session, sender, ada, "smscentral")
    providers = [delivery.smscentral(sms_central) for _ in range(2)]
    reports = []
    go = threading.Barrier(2)

    def work(provider):
        go.wait()
        reports.append(reconcile_at(app, provider))

    threads = [threading.Thread(target=work, args=(p,)) for p in providers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        for provider in providers:
            provider.close()

    assert sum(r.queued_again for r in reports) == 1
    assert len(sms_central.status_checks) == 1
    assert messages(session, batch)[0].state == "queued"


def test_a_queued_again_message_goes_back_to_the_queue_only_once_per_unknown_attempt(
    app, session, sender, ada, sms_central, sms_central_provider
):
    """A worker that looked the message up before another worker queued it again, and sent it
    into `unknown` once more, must not queue it a second time on its stale answer."""
    batch, message, _ = unknown_before_the_call(app, session, sender, ada, "smscentral")
    rows, taken = reconcile._take(
        engine_of(app), "smscentral", SETTINGS, utcnow() + LATER, True, 100
    )
    assert len(rows) == 1
    # Meanwhile: queued again, claimed, and unknown again (attempt 2).
    session.rollback()
    session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(state="unknown", attempts=2, updated_at=utcnow())
    )
    session.commit()

    from webapp.sms.providers import NotFound

    report = reconcile._settle(
        engine_of(app), rows, {message.uuid: NotFound()}, SETTINGS, utcnow() + LATER, True
    )

    assert report.queued_again == 0
    assert messages(session, batch)[0].state == "unknown"


# --- Twilio --------------------------------------------------------------------------------------


def test_an_unknown_message_twilio_created_is_found_in_its_list_and_gets_its_sid(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, fake_twilio)
    [created] = fake_twilio.messages

    report = reconcile_at(app, twilio_provider)

    assert report.found == 1
    [message] = messages(session, batch)
    assert message.state == "sent"
    assert message.provider_message_id == created["sid"]
    assert message.error_text is None
    [listing] = fake_twilio.lists
    assert listing.query["To"] == "+61412345678"
    assert len(fake_twilio.creates) == 1
    run_once(app, twilio_provider)
    assert len(fake_twilio.creates) == 1


def test_the_status_in_twilios_list_is_the_state_the_message_takes(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    batch, _ = unknown_after_a_late_answer(app, session, sender, ada, fake_twilio)
    fake_twilio.set_status(fake_twilio.messages[0]["sid"], "undelivered", error_code=30003)

    reconcile_at(app, twilio_provider)

    [message] = messages(session, batch)
    assert message.state == "undelivered"
    assert message.error_code == "30003"
    assert message.error_text == "The handset is unreachable."


def test_a_message_twilio_never_created_waits_for_the_give_up_time_then_goes_once(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    fake_twilio.inject(
        twilio_error(502, 20500, "Bad gateway")
    )  # the edge answered; nothing created
    batch = queue(session, sender, [ada], provider="twilio")
    run_once(app, twilio_provider)
    [message] = messages(session, batch)
    assert message.state == "unknown" and fake_twilio.messages == []

    # Not in the list, but it might still appear: wait.
    report = reconcile_at(app, twilio_provider, LATER)
    assert (report.queued_again, report.waiting) == (0, 1)
    assert messages(session, batch)[0].state == "unknown"
    # Looked up again no later than the give-up time, and then it goes again.
    report = reconcile_at(app, twilio_provider, SETTINGS.give_up + timedelta(seconds=1))
    assert report.queued_again == 1
    make_due(session)
    run_once(app, twilio_provider)

    [message] = messages(session, batch)
    assert message.state == "sent"
    assert len(fake_twilio.messages) == 1
    assert not reconcile_at(app, twilio_provider, timedelta(hours=1))
    assert len(fake_twilio.messages) == 1


def test_a_twilio_message_created_after_a_long_queue_is_still_found_not_sent_again(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    """Found past the give-up time too: listed means created, whatever its status."""
    batch, _ = unknown_after_a_late_answer(app, session, sender, ada, fake_twilio)

    report = reconcile_at(app, twilio_provider, SETTINGS.give_up + timedelta(minutes=1))

    assert report.found == 1 and report.queued_again == 0
    assert messages(session, batch)[0].state == "sent"
    assert len(fake_twilio.creates) == 1


def test_when_twilios_list_cannot_be_read_the_message_stays_unknown_even_past_the_give_up_time(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    fake_twilio.inject(twilio_error(502, 20500, "Bad gateway"))
    batch = queue(session, sender, [ada], provider="twilio")
    run_once(app, twilio_provider)
    fake_twilio.inject(twilio_error(500, 20500, "Internal error"))

    report = reconcile_at(app, twilio_provider, SETTINGS.give_up + timedelta(minutes=1))

    assert report.waiting == 1
    assert messages(session, batch)[0].state == "unknown"
    assert fake_twilio.messages == []


def test_two_unknown_messages_with_the_same_text_to_one_number_get_one_sid_each(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    first, _ = unknown_after_a_late_answer(app, session, sender, ada, fake_twilio)
    second, _ = unknown_after_a_late_answer(app, session, sender, ada, fake_twilio)
    # And a third, sent normally, whose sid is ours already: never matched to the others.
    third = queue(session, sender, [ada], provider="twilio")
    run_once(app, twilio_provider)
    assert len(fake_twilio.messages) == 3

    assert reconcile_at(app, twilio_provider).found == 2

    sids = [m.provider_message_id for m in messages(session)]
    assert len(set(sids)) == 3 and set(sids) == {m["sid"] for m in fake_twilio.messages}
    assert [m.state for m in messages(session)] == ["sent", "sent", "sent"]
    assert first.id != second.id != third.id


def test_a_twilio_message_with_other_text_to_the_same_number_is_not_taken_for_ours(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    fake_twilio.inject(twilio_error(502, 20500, "Bad gateway"))
    batch = queue(session, sender, [ada], provider="twilio")
    run_once(app, twilio_provider)
    # Another system on the account texted Ada something else meanwhile.
    twilio_provider.send(OutboundSms("elsewhere", "+61412345678", "Your parcel is on its way."))

    report = reconcile_at(app, twilio_provider)

    assert report.waiting == 1
    assert messages(session, batch)[0].state == "unknown"


# --- the sandbox, and the dispatcher -------------------------------------------------------------


def test_the_sandbox_settles_its_timed_out_numbers_as_sent_then_delivered(
    app, session, sender, make_candidate
):
    slow = make_candidate("Tim", "Out", "0412 349 999")  # ends 9999: the sandbox times out
    batch = queue(session, sender, [slow], provider="sandbox")
    run_once(app, Sandbox())
    assert messages(session, batch)[0].state == "unknown"

    assert reconcile_at(app, Sandbox()).found == 1
    session.rollback()
    outbox.deliver_sandbox(session, timedelta(0), now=utcnow() + LATER + timedelta(seconds=1))

    [message] = messages(session, batch)
    assert message.state == "delivered"
    assert message.provider_message_id == f"sandbox-{message.uuid}"


def test_the_dispatcher_reconciles_unknown_messages_as_part_of_its_housekeeping(
    app, session, sender, ada, sms_central
):
    sms_central.inject(timeout(3.0))
    batch = queue(session, sender, [ada], provider="smscentral")
    impatient = delivery.smscentral(sms_central, read_timeout=0.3)
    try:
        run_once(app, impatient, reconcile=ReconcileSettings(after=timedelta(0), every=0.0))
    finally:
        impatient.close()

    [message] = messages(session, batch)
    assert message.state == "sent"
    assert len(sms_central.status_checks) >= 1
    assert references(sms_central)[message.uuid] == 1


def test_a_claim_whose_lease_ran_out_before_the_call_is_not_sent(
    app, session, sender, ada, sms_central, sms_central_provider
):
    """A stalled worker must not send a message that may meanwhile have been queued again."""
    queue(session, sender, [ada], provider="smscentral")
    [claimed] = outbox.claim(engine_of(app), 1, timedelta(seconds=-1))  # already past its lease

    result = delivery.dispatcher(app, sms_central_provider)._send(claimed)

    assert result is outbox.NOT_SENT
    assert sms_central.requests == []


def test_a_stale_workers_outcome_does_not_overwrite_a_newer_claim(
    app, session, sender, ada, sms_central
):
    batch, message, stale = unknown_before_the_call(app, session, sender, ada, "smscentral")
    provider = delivery.smscentral(sms_central)
    try:
        assert reconcile_at(app, provider).queued_again == 1
    finally:
        provider.close()
    make_due(session)
    [fresh] = outbox.claim(engine_of(app), 1, timedelta(minutes=2))
    assert fresh.attempts == 2

    with app.extensions["database"].sessionmaker() as worker_session:
        outbox.record(worker_session, [(stale, Transient("500", "Internal error"))])

    [message] = messages(session, batch)
    assert message.state == "sending" and message.attempts == 2


def test_a_resend_and_reconciliation_at_the_same_moment_queue_the_message_once(
    app, session, sender, ada, sms_central, sms_central_provider, monkeypatch
):
    """Resend reads the unknown message, and reconciliation (which finds SMS Central does not hold
    it) runs before Resend writes: one of them must see the other, so only one copy is queued."""
    from webapp.sms import batches

    batch, message, _ = unknown_before_the_call(app, session, sender, ada, "smscentral")
    reports = []
    worker = threading.Thread(
        target=lambda: reports.append(reconcile_at(app, sms_central_provider))
    )
    still_opted_out = batches._still_opted_out

    def reconcile_meanwhile(*args):
        worker.start()
        worker.join(1.0)  # on SQLite it waits for Resend's write lock; elsewhere it is done by now
        return still_opted_out(*args)

    monkeypatch.setattr(batches, "_still_opted_out", reconcile_meanwhile)
    session.rollback()
    resent = batches.resend(session, session.merge(batch), session.merge(sender), ("unknown",))
    worker.join(20)

    assert resent.queued == 1
    assert sum(r.queued_again for r in reports) == 0
    states = sorted((m.state, m.superseded) for m in messages(session, batch))
    assert states == [("queued", False), ("unknown", True)]


# --- Resend of unknown messages while reconciliation may still settle them -----------------------


@pytest.mark.parametrize(
    "provider, ago, held",
    [
        ("twilio", timedelta(minutes=2), True),  # Twilio may still list it: a copy could go twice
        ("twilio", SETTINGS.give_up + timedelta(seconds=5), False),  # reconciliation has given up
        ("smscentral", timedelta(minutes=2), False),  # the same reference is refused (513)
    ],
)
def test_an_unknown_twilio_message_is_not_resent_before_reconciliation_gives_up(
    app, session, sender, ada, provider, ago, held
):
    batch = delivery.unknown_batch(session, sender, [ada], provider, ago)
    [original] = messages(session, batch)

    checking = batches.checking(session, batch)
    assert batches.resendable_counts(session, batch)["unknown"] == (0 if held else 1)
    assert checking.count == (1 if held else 0)
    if held:
        assert checking.until == original.updated_at + SETTINGS.give_up
    resent = batches.resend(session, batch, sender, ("unknown",))

    assert resent.queued == (0 if held else 1)
    rows = messages(session, batch)
    assert len(rows) == (1 if held else 2)
    assert next(m for m in rows if m.id == original.id).superseded is (not held)
