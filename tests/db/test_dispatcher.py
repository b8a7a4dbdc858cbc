"""The dispatcher on a real database (SQLite and PostgreSQL) against loopback fakes of SMS Central
and Twilio (real HTTP on 127.0.0.1): what each gateway outcome does to a message, the send-time
re-checks, leases, the rate limit, the sandbox's deliveries and a graceful stop."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import (
    Running,
    make_due,
    messages,
    queue,
    references,
    run_once,
    states,
    unknown_after_a_late_answer,
    wait_until,
)
from tests.fakes import FakeTwilio, Fault, Reply, body, http_status
from webapp.models import AuditEvent, BlockedRegion, Candidate, ClientContact, Message, utcnow
from webapp.sms import batches, outbox
from webapp.sms.dispatcher import TokenBucket
from webapp.sms.outbox import MAX_ATTEMPTS
from webapp.sms.providers import OutboundSms
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings


@pytest.fixture
def fake_twilio():
    """The loopback Twilio gateway, with one number opted out."""
    with FakeTwilio(opted_out={"+61412999111"}) as fake:
        yield fake


# --- sending: the happy path ---------------------------------------------------------------------


def test_smscentral_sends_each_queued_message_once_with_its_uuid_as_reference(
    app, session, sender, make_candidate, sms_central, sms_central_provider
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "+44 7400 123456")
    batch = queue(session, sender, [ada, bob], provider="smscentral")

    handled = run_once(app, sms_central_provider)

    assert handled == 2
    sent = messages(session, batch)
    assert [m.state for m in sent] == ["sent", "sent"]
    for message in sent:
        assert message.sent_at is not None
        assert message.lease_until is None
        assert message.attempts == 1
        assert message.error_text is None
    by_reference = {r.form["REFERENCE"]: r.form for r in sms_central.requests}
    assert set(by_reference) == {m.uuid for m in sent}
    assert references(sms_central) == Counter({m.uuid: 1 for m in sent})
    ada_form = by_reference[sent[0].uuid]
    assert ada_form["RECIPIENT"] == "61412345678"  # international digits, no "+"
    assert ada_form["MESSAGE_TEXT"] == "Hi Ada, new roles this week."
    assert ada_form["ACTION"] == "send"
    assert ada_form["ORIGINATOR"] == delivery.ORIGINATOR
    assert by_reference[sent[1].uuid]["RECIPIENT"] == "447400123456"

    # Nothing is due any more: a second run calls the gateway for nothing.
    assert run_once(app, sms_central_provider) == 0
    assert len(sms_central.requests) == 2


def test_twilio_sends_and_records_the_gateway_message_sid_and_the_status_callback(
    app, session, sender, ada, fake_twilio, twilio_provider
):
    batch = queue(session, sender, [ada], provider="twilio")

    run_once(app, twilio_provider)

    [message] = messages(session, batch)
    [created] = fake_twilio.messages
    assert message.state == "sent"
    assert message.provider == "twilio"
    assert message.provider_message_id == created["sid"]
    assert created["to"] == "+61412345678"
    assert created["from"] == delivery.TWILIO_FROM
    assert created["body"] == "Hi Ada, new roles this week."
    # Twilio takes no reference: the uuid travels in the callback URL instead.
    assert created["status_callback"] == (
        f"{delivery.PUBLIC_BASE_URL}/webhooks/twilio/status?m={message.uuid}"
    )


# --- each gateway outcome ------------------------------------------------------------------------


def test_a_permanent_rejection_fails_the_message_with_the_gateways_meaning_and_is_not_retried(
    app, session, sender, ada, sms_central, sms_central_provider
):
    sms_central.blacklist.add("61412345678")
    batch = queue(session, sender, [ada], provider="smscentral")

    run_once(app, sms_central_provider)
    make_due(session)
    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "failed"
    assert message.error_code == "519"
    assert message.error_text == "The number is on SMS Central's blacklist."
    assert len(sms_central.requests) == 1


def test_a_transient_answer_puts_the_message_back_in_the_queue_for_later_and_counts_the_attempt(
    app, session, sender, ada, sms_central, sms_central_provider
):
    sms_central.inject(body("536 Temporarily delayed"))
    batch = queue(session, sender, [ada], provider="smscentral")
    before = utcnow()

    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "queued"
    assert message.attempts == 1
    assert message.error_code == "536"
    assert message.lease_until is None
    # Backoff: at least a second from when the answer was recorded; not due before then...
    assert message.next_attempt_at >= message.updated_at + timedelta(seconds=1)
    assert message.updated_at >= before
    engine = app.extensions["database"].engine
    assert (
        outbox.claim(
            engine,
            10,
            timedelta(minutes=1),
            now=message.next_attempt_at - timedelta(milliseconds=1),
        )
        == []
    )
    assert len(sms_central.requests) == 1
    # ...and once due it goes, as attempt two.
    make_due(session)
    run_once(app, sms_central_provider)
    [message] = messages(session, batch)
    assert message.state == "sent"
    assert message.attempts == 2
    assert references(sms_central)[message.uuid] == 2
    # The first try's error is not shown under "Sent" on the record.
    assert (message.error_code, message.error_text) == (None, None)


def test_a_retry_after_header_sets_when_the_message_is_tried_again(
    app, session, sender, ada, sms_central, sms_central_provider
):
    sms_central.inject(http_status(503, "busy", headers={"Retry-After": "120"}))
    batch = queue(session, sender, [ada], provider="smscentral")
    start = utcnow()

    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "queued"
    assert message.error_code == "http_503"
    assert (
        start + timedelta(seconds=115)
        <= message.next_attempt_at
        <= utcnow() + timedelta(seconds=125)
    )


def test_transient_answers_give_up_as_failed_after_max_attempts(
    app, session, sender, ada, sms_central, sms_central_provider
):
    sms_central.inject_when(lambda request: True, body("500 Internal error"))
    batch = queue(session, sender, [ada], provider="smscentral")

    for attempt in range(1, MAX_ATTEMPTS + 1):
        make_due(session)
        run_once(app, sms_central_provider)
        [message] = messages(session, batch)
        assert message.attempts == attempt
        expected = "failed" if attempt == MAX_ATTEMPTS else "queued"
        assert message.state == expected, f"after attempt {attempt}"

    assert message.error_code == "500"
    assert message.error_text.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")
    assert len(sms_central.requests) == MAX_ATTEMPTS
    make_due(session)
    assert run_once(app, sms_central_provider) == 0
    assert len(sms_central.requests) == MAX_ATTEMPTS


def test_a_read_timeout_makes_the_message_unknown_and_it_is_never_resent_automatically(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch, message = unknown_after_a_late_answer(app, session, sender, ada, sms_central)

    assert "may or may not" in message.error_text
    assert message.lease_until is None
    assert len(sms_central.messages) == 1  # it did reach the gateway

    # The next runs (and lease housekeeping, even far in the future) never send it again.
    make_due(session)
    assert run_once(app, sms_central_provider) == 0
    outbox.expire_leases(session, now=utcnow() + timedelta(days=1))
    assert run_once(app, sms_central_provider) == 0
    assert references(sms_central)[message.uuid] == 1
    assert messages(session, batch)[0].state == "unknown"


def test_smscentral_513_duplicate_reference_on_a_resend_counts_as_sent(
    app, session, sender, ada, sms_central, sms_central_provider
):
    batch = queue(session, sender, [ada], provider="smscentral")
    [message] = messages(session, batch)
    # An earlier attempt with this very uuid got through to the gateway (its answer was lost).
    sms_central_provider.send(OutboundSms(message.uuid, message.to_e164, message.body))

    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "sent"
    assert message.error_code is None
    assert references(sms_central)[message.uuid] == 2  # asked twice...
    assert [m["REFERENCE"] for m in sms_central.messages] == [message.uuid]  # ...held once


def test_resending_an_unknown_message_through_smscentral_does_not_deliver_it_twice(
    app, session, sender, ada, sms_central, sms_central_provider
):
    """The gateway took the message but answered too late (`unknown`); the consultant resends it.
    SMS Central refuses a REFERENCE it already holds (513), which is what makes this resend safe
    (see DUPLICATE_REFERENCE in providers/smscentral.py) -- if the resend carries that reference."""
    batch, original = unknown_after_a_late_answer(app, session, sender, ada, sms_central)

    assert batches.resend(session, batch, sender, ("unknown",)).queued == 1
    run_once(app, sms_central_provider)

    rows = messages(session, batch)
    [copy] = [m for m in rows if m.resend_of_id == original.id]
    assert copy.state == "sent"
    held = [m for m in sms_central.messages if m["RECIPIENT"] == "61412345678"]
    assert len(held) == 1, (
        f"Ada got the SMS {len(held)} times: the resend went with a new REFERENCE "
        f"{[m['REFERENCE'] for m in held]}, so SMS Central could not recognise it"
    )


# --- the send-time re-checks ---------------------------------------------------------------------


def withdraw_consent(session, person) -> None:
    person.sms_consent = False


def block_the_uk(session, person) -> None:
    session.add(BlockedRegion(provider="smscentral", region="GB", name="United Kingdom"))


@pytest.mark.parametrize(
    "change, reason",
    [(withdraw_consent, "opted out"), (block_the_uk, "GB")],
    ids=["consent-withdrawn", "country-blocked"],
)
def test_a_change_after_send_rejects_the_message_and_never_calls_the_gateway(
    app, session, sender, make_candidate, sms_central, sms_central_provider, change, reason
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "+44 7400 123456")
    batch = queue(session, sender, [ada, bob], provider="smscentral")
    change(session, bob)  # between Send and dispatch
    session.commit()

    run_once(app, sms_central_provider)

    ada_message, bob_message = messages(session, batch)
    assert ada_message.state == "sent"
    assert (bob_message.state, bob_message.error_code) == ("rejected", "recheck")
    assert reason in bob_message.error_text
    assert {r.form["REFERENCE"] for r in sms_central.requests} == {ada_message.uuid}


def test_the_recheck_reads_a_contacts_consent_apart_from_the_candidate_with_the_same_id(
    app, session, sender, ada, make_contact, sms_central, sms_central_provider
):
    grace = make_contact("Grace", "Hopper", "0412 345 679")
    assert ada.id == grace.id  # each table counts from 1: only the kind tells them apart
    to_ada = queue(session, sender, [ada], provider="smscentral")
    to_grace = queue(session, sender, [grace], provider="smscentral", kind="contacts")
    grace.sms_consent = False  # unticked between Send and dispatch
    session.commit()

    run_once(app, sms_central_provider)

    [ada_message], [grace_message] = messages(session, to_ada), messages(session, to_grace)
    assert ada_message.state == "sent"
    assert grace_message.state == "rejected"
    assert "opted out" in grace_message.error_text


def test_a_message_sent_with_ignore_still_goes_to_the_opted_out_person(
    app, session, make_user, make_candidate, sms_central, sms_central_provider
):
    lead = make_user(role="team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678", sms_consent=False)
    batch = queue(
        session,
        lead,
        [ada],
        provider="smscentral",
        ignore=True,
        ignore_reason="She asked us by phone to text her the shift.",
    )
    [message] = messages(session, batch)
    assert message.override_opt_out is True

    run_once(app, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "sent"
    assert references(sms_central) == Counter({message.uuid: 1})


def test_twilio_21610_fails_the_message_and_unticks_sms_consent_with_an_audit_event(
    app, session, sender, make_candidate, make_contact, fake_twilio, twilio_provider
):
    ada = make_candidate("Ada", "Lovelace", "0412 999 111")  # replied STOP at Twilio
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    grace = make_contact("Grace", "Hopper", "0412 999 111")  # the same person as a contact
    batch = queue(session, sender, [ada, bob], provider="twilio")

    run_once(app, twilio_provider)

    ada_message, bob_message = messages(session, batch)
    assert ada_message.state == "failed"
    assert ada_message.error_code == "21610"
    assert "unsubscribed" in ada_message.error_text
    assert bob_message.state == "sent"
    assert session.get(Candidate, ada.id).sms_consent is False
    assert session.get(ClientContact, grace.id).sms_consent is False
    assert session.get(Candidate, bob.id).sms_consent is True
    events = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "consent.sms_withdrawn")
        .order_by(AuditEvent.subject_type)
    ).all()
    assert [(e.subject_type, e.subject_id) for e in events] == [
        ("candidate", ada.id),
        ("contact", grace.id),
    ]
    assert events[0].actor_id is None
    assert events[0].details["code"] == "21610"
    assert events[0].details["message_uuid"] == ada_message.uuid
    # Twilio was asked once; nothing retries an opted-out recipient.
    make_due(session)
    run_once(app, twilio_provider)
    assert sum(1 for r in fake_twilio.requests if r.form.get("To") == "+61412999111") == 1


# --- leases --------------------------------------------------------------------------------------


def test_expire_leases_turns_an_expired_sending_message_into_unknown_never_queued(
    app, session, sender, ada
):
    batch = queue(session, sender, [ada], provider="smscentral")
    engine = app.extensions["database"].engine
    [claimed] = outbox.claim(engine, 10, timedelta(seconds=30))
    [message] = messages(session, batch)
    assert (message.state, message.attempts) == ("sending", 1)

    assert outbox.expire_leases(session, now=utcnow()) == 0  # lease still running
    assert messages(session, batch)[0].state == "sending"

    assert outbox.expire_leases(session, now=utcnow() + timedelta(seconds=31)) == 1
    [message] = messages(session, batch)
    assert message.state == "unknown"
    assert message.lease_until is None
    assert "may or may not" in message.error_text
    assert outbox.claim(engine, 10, timedelta(seconds=30), now=utcnow() + timedelta(days=1)) == []
    assert claimed.uuid == message.uuid


def test_a_claim_takes_at_most_its_limit_and_two_claims_never_share_a_message(
    app, session, sender, make_candidate
):
    people = [make_candidate("P", str(i), f"0412 345 6{i:02d}") for i in range(10)]
    queue(session, sender, people, provider="smscentral")
    engine = app.extensions["database"].engine

    first = outbox.claim(engine, 6, timedelta(minutes=1))
    second = outbox.claim(engine, 6, timedelta(minutes=1))

    assert len(first) == 6, f"asked for 6, claimed {len(first)}"
    assert len(second) == 4
    assert not {c.id for c in first} & {c.id for c in second}
    assert states(session) == Counter(sending=10)


def test_send_waits_for_a_workers_claim_instead_of_failing_with_database_is_locked(
    app, session, sender, ada
):
    """A worker holds the write lock for the moment it claims (on SQLite: BEGIN IMMEDIATE, as
    `outbox.claim` does). A consultant's Send at that moment must wait for it, not fail."""
    engine = app.extensions["database"].engine
    worker = engine.connect().execution_options(sqlite_immediate=True)
    claiming = worker.begin()
    worker.execute(sa.update(Message).where(Message.state == "queued").values(state="queued"))
    release = threading.Timer(1.0, claiming.commit)  # the claim ends a second later
    release.start()
    try:
        batch = queue(session, sender, [ada], provider="smscentral")
    finally:
        release.join()
        worker.close()

    assert states(session, batch) == Counter(queued=1)


# --- the rate limit ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 0.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


class NoWait(threading.Event):
    """A stop event for a fake clock: records how long acquire() would wait, then moves the
    clock on by that much instead of sleeping."""

    def __init__(self, clock: FakeClock):
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        # A real sleep always lets the clock move on, however little it was asked for.
        self.clock.now += max(timeout, 1e-9)
        return False


def test_token_bucket_accounts_tokens_exactly_with_a_fake_clock():
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=3, clock=clock)
    dont_wait = threading.Event()
    dont_wait.set()  # acquire() answers False instead of waiting for a token

    assert [bucket.acquire(dont_wait) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.125  # half a token
    assert bucket.acquire(dont_wait) is False
    clock.now += 0.125  # a whole one
    assert bucket.acquire(dont_wait) is True
    assert bucket.acquire(dont_wait) is False
    clock.now += 0.5  # two
    assert [bucket.acquire(dont_wait) for _ in range(3)] == [True, True, False]
    clock.now += 3600  # a long idle fills the bucket to its burst, no more
    assert [bucket.acquire(dont_wait) for _ in range(4)] == [True, True, True, False]


def test_token_bucket_waits_exactly_as_long_as_the_next_token_needs():
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=1, clock=clock)
    stop = NoWait(clock)

    assert [bucket.acquire(stop) for _ in range(4)] == [True, True, True, True]
    assert stop.waits == [0.25, 0.25, 0.25]
    clock.now += 0.1
    assert bucket.acquire(stop) is True
    assert stop.waits[-1] == pytest.approx(0.15)


def test_token_bucket_with_rate_zero_never_waits():
    clock = FakeClock()
    bucket = TokenBucket(0.0, clock=clock)
    assert all(bucket.acquire(threading.Event()) for _ in range(1000))


def test_token_bucket_never_lets_more_than_the_rate_through_in_one_second():
    """DISPATCH_RATE_PER_SECOND / --rate promise 'messages per second at most'."""
    clock = FakeClock()
    bucket = TokenBucket(20.0, clock=clock)  # as the dispatcher builds it: no explicit burst
    stop = NoWait(clock)
    start = clock.now
    taken = []
    while clock.now - start < 1.0:
        assert bucket.acquire(stop)
        taken.append(clock.now)
    in_first_second = sum(1 for t in taken if t - start < 1.0)
    assert in_first_second <= 20 + 1, (
        f"{in_first_second} sends in the first second at a rate of 20/s"
    )


def test_twenty_messages_at_twenty_a_second_take_at_least_most_of_a_second(
    app, session, sender, sms_central, sms_central_provider
):
    batch = delivery.queue_to_new_candidates(session, sender, 20, provider="smscentral")
    run = delivery.dispatcher(app, sms_central_provider, rate_per_second=20.0, concurrency=8)

    began = time.monotonic()
    run.run(once=True)
    elapsed = time.monotonic() - began

    assert states(session, batch) == Counter(sent=20)
    # 20 sends spaced 1/20 s apart span 0.95 s; a loose lower bound, not a speed target.
    assert elapsed >= 0.9, f"20 messages at 20/s went out in {elapsed:.3f} s"


# --- the sandbox gateway -------------------------------------------------------------------------


def test_the_sandbox_delivers_sent_messages_only_after_sandbox_delivery_after(
    app, session, sender, make_candidate, sms_central, sms_central_provider
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    sandbox_batch = queue(session, sender, [ada], provider="sandbox")
    run_once(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1))
    other_batch = queue(session, sender, [bob], provider="smscentral")
    run_once(app, sms_central_provider)

    [message] = messages(session, sandbox_batch)
    assert message.state == "sent"
    assert message.provider_message_id == f"sandbox-{message.uuid}"
    # Another run long before the hour is up delivers nothing.
    run_once(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1))
    assert messages(session, sandbox_batch)[0].state == "sent"

    # The rule itself, with the clock given: not yet at after - ε, delivered at after + ε.
    sent_at = message.sent_at
    assert (
        outbox.deliver_sandbox(session, timedelta(seconds=5), now=sent_at + timedelta(seconds=4))
        == 0
    )
    assert messages(session, sandbox_batch)[0].state == "sent"
    assert (
        outbox.deliver_sandbox(session, timedelta(seconds=5), now=sent_at + timedelta(seconds=6))
        == 1
    )
    [message] = messages(session, sandbox_batch)
    assert message.state == "delivered"
    assert message.delivered_at == sent_at + timedelta(seconds=6)
    # Only the sandbox's messages: a real gateway's wait for their receipts.
    assert messages(session, other_batch)[0].state == "sent"


def test_a_sandbox_dispatcher_run_delivers_what_was_sent_long_enough_ago(app, session, sender, ada):
    batch = queue(session, sender, [ada], provider="sandbox")
    # Not yet long enough ago, however slowly the machine runs this loop.
    run_once(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1))
    assert messages(session, batch)[0].state == "sent"

    run_once(app, Sandbox(), sandbox_delivery_after=timedelta(0))

    assert messages(session, batch)[0].state == "delivered"


# --- a graceful stop -----------------------------------------------------------------------------


def test_a_stop_on_the_last_allowed_attempt_does_not_fail_a_message_that_was_never_tried(
    app, session, sender, make_candidate, sms_central, sms_central_provider
):
    carol = make_candidate("Carol", "Cole", "0412 345 600")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    first = queue(session, sender, [carol], provider="smscentral")
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == first.id)
        .values(next_attempt_at=utcnow() + timedelta(days=1))
    )  # not yet due
    session.commit()
    batch = queue(session, sender, [ada], provider="smscentral")
    # Ada's first MAX_ATTEMPTS - 1 tries meet a busy gateway.
    sms_central.inject(*[body("536 Temporarily delayed")] * (MAX_ATTEMPTS - 1))
    for _ in range(MAX_ATTEMPTS - 1):
        session.execute(
            sa.update(Message)
            .where(Message.batch_id == batch.id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
        run_once(app, sms_central_provider)
    assert [(m.state, m.attempts) for m in messages(session, batch)] == [
        ("queued", MAX_ATTEMPTS - 1)
    ]
    make_due(session)  # both due now; Carol (claimed first) takes the only token
    run = delivery.dispatcher(app, sms_central_provider, rate_per_second=0.1, concurrency=1)
    with Running(run) as running:
        wait_until(lambda: states(session, first)["sent"] == 1, 10, "Carol's message to be sent")
    # Stopped while Ada's last attempt was still waiting for a token: it had not begun.
    assert running.ended_cleanly()

    [message] = messages(session, batch)
    assert references(sms_central)[message.uuid] == MAX_ATTEMPTS - 1  # never tried a 6th time
    assert message.state == "queued", (
        f"stopping the worker made a never-tried message {message.state!r}: {message.error_text}"
    )


def test_stop_before_calls_begin_returns_claimed_messages_to_the_queue(
    app, session, sender, sms_central, sms_central_provider
):
    batch = delivery.queue_to_new_candidates(session, sender, 5, provider="smscentral")
    # One token now, the next in 10 s: the first call goes, the other claimed ones wait.
    run = delivery.dispatcher(app, sms_central_provider, rate_per_second=0.1, concurrency=4)
    with Running(run) as running:
        wait_until(lambda: states(session, batch)["sent"] == 1, 10, "the first message to be sent")
        assert states(session, batch)["sending"] == 4  # claimed, waiting for a token
    assert running.ended_cleanly(), "run() did not return after stop()"

    assert running.handled == 5
    assert states(session, batch) == Counter(sent=1, queued=4)
    assert len(sms_central.requests) == 1
    # Nothing was lost: the next worker sends the rest, each once.
    make_due(session)
    run_once(app, sms_central_provider)
    assert states(session, batch) == Counter(sent=5)
    assert references(sms_central) == Counter({m.uuid: 1 for m in messages(session, batch)})


# --- the worker's log ----------------------------------------------------------------------------


def test_each_claim_round_and_each_gateway_error_are_logged_by_uuid_without_number_or_text(
    app, session, sender, make_candidate, sms_central, sms_central_provider, caplog
):
    sms_central.blacklist.add("61412345678")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    batch = queue(
        session, sender, [ada, bob], provider="smscentral", body="Hi {{first_name}}, Tuesday?"
    )
    failed = {m.to_e164: m for m in messages(session, batch)}["+61412345678"]

    with caplog.at_level("INFO", logger="webapp.sms"):
        run_once(app, sms_central_provider)

    lines = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "webapp.sms.dispatcher"
    ]
    assert [
        line for level, line in lines if level == "INFO" and line.startswith("Claimed 2 message(s)")
    ]
    [error] = [line for level, line in lines if level == "WARNING"]
    assert failed.uuid in error and "smscentral" in error and "519" in error
    for personal in ("412345678", "412 345 678", "Tuesday", "Ada"):
        assert personal not in caplog.text

    caplog.clear()  # an idle round logs nothing: one line a poll would drown the rest
    with caplog.at_level("DEBUG", logger="webapp.sms"):
        run_once(app, sms_central_provider)
    assert [r for r in caplog.records if r.name == "webapp.sms.dispatcher"] == []


# --- gateway ids the database would refuse; reconciliation off the loop --------------------------


def _twilio_reply(sid: str) -> Fault:
    """Twilio's 201 for a created message, with this sid (as a gateway bug or a proxy might say)."""
    return Fault(
        "reply", Reply(201, json.dumps({"sid": sid, "status": "queued"}), "application/json")
    )


def test_an_overlong_or_already_used_gateway_id_does_not_stop_the_other_outcomes_or_the_loop(
    app, session, sender, make_candidate, fake_twilio, twilio_provider
):
    """An IntegrityError or DataError is a DBAPIError too: it used to be taken for "the database is
    away", so the whole group was retried, and refused, on every pass and nothing was written."""
    earlier = queue(
        session, sender, [make_candidate("Old", "Message", "0412 345 600")], provider="twilio"
    )
    taken = "SM" + "t" * 32
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == earlier.id)
        .values(state="sent", provider_message_id=taken)
    )
    session.commit()
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 601"),
        make_candidate("Bob", "Brown", "0412 345 602"),
        make_candidate("Cy", "Young", "0412 345 603"),
    ]
    batch = queue(session, sender, people, provider="twilio")
    overlong = "SM\x00" + "a" * 97  # 100 characters and a NUL (PostgreSQL refuses both)
    fake_twilio.inject(_twilio_reply(overlong), _twilio_reply(taken))
    dispatcher = delivery.dispatcher(app, twilio_provider, concurrency=1)
    with Running(dispatcher) as running:
        wait_until(
            lambda: states(session, batch) == Counter(sent=3), 10, "all three to be recorded"
        )
        later = queue(
            session, sender, [make_candidate("Di", "Lee", "0412 345 604")], provider="twilio"
        )
        dispatcher.wake()
        wait_until(
            lambda: states(session, later) == Counter(sent=1), 10, "the loop to go on sending"
        )
    assert running.ended_cleanly()

    ids = sorted((m.provider_message_id or "" for m in messages(session, batch)), key=len)
    created = fake_twilio.messages[0]["sid"]
    # The duplicate is recorded as sent without an id; the overlong one on one line, cut to fit.
    assert ids == ["", created, ("SM " + "a" * 97)[:64]]
    [old] = messages(session, earlier)
    assert old.provider_message_id == taken


def test_a_gateway_id_is_stored_on_one_line_and_cut_to_the_column():
    assert outbox.gateway_id("SM\r\nabc\x00d") == "SM abc d"
    assert outbox.gateway_id("x" * 100) == "x" * 64
    assert outbox.gateway_id("\x00") is None and outbox.gateway_id(None) is None


class SlowLookup(Sandbox):
    """The sandbox, but a lookup (reconciliation) waits until released: a slow gateway list."""

    def __init__(self):
        self.looking = threading.Event()
        self.release = threading.Event()

    def lookup(self, enquiries, taken=()):
        self.looking.set()
        self.release.wait(20)
        return super().lookup(enquiries, taken)


def test_a_slow_reconciliation_lookup_does_not_hold_up_sending(
    app, session, sender, make_candidate
):
    unknown = queue(
        session, sender, [make_candidate("Una", "Known", "0412 345 610")], provider="sandbox"
    )
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == unknown.id)
        .values(state="unknown", attempts=1, updated_at=utcnow() - timedelta(minutes=5))
    )
    session.commit()
    provider = SlowLookup()
    dispatcher = delivery.dispatcher(app, provider, reconcile=ReconcileSettings(every=0.05))
    with Running(dispatcher) as running:
        try:
            assert provider.looking.wait(10), "reconciliation never looked the message up"
            batch = queue(
                session,
                sender,
                [make_candidate("Ada", "Lovelace", "0412 345 611")],
                provider="sandbox",
            )
            dispatcher.wake()
            wait_until(
                lambda: states(session, batch) == Counter(sent=1),
                5,
                "a queued message to go out while the lookup is still going",
            )
            assert states(session, unknown) == Counter(unknown=1)
        finally:
            provider.release.set()
    assert running.ended_cleanly()
    # Once the lookup answered, its answer was written before run() returned.
    assert states(session, unknown) == Counter(sent=1)
