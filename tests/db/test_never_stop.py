"""Sending never stops: an email that cannot be built or sent fails alone, a
fault in any step of the dispatcher is logged and outlived, and the worker is supervised — on a
real database, a real SMTP server on 127.0.0.1 and the sandbox gateway.

Faults are injected by wrapping our own functions for one call (never the database or `requests`).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import Running, messages, queue, wait_until
from tests.fakes.smtp import SmtpServer
from tests.replying import receive, rows, send_sms
from webapp import create_app, worker
from webapp.config import testing_config as config_for
from webapp.models import Candidate, Email, utcnow
from webapp.sms import mailer, outbox, reconcile, status
from webapp.sms.dispatcher import Dispatcher, TokenBucket, supervise
from webapp.sms.mailer import MailSettings
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings

MAIL_FROM = "sms-desk@desk.example.com"


@pytest.fixture
def mail(smtp) -> MailSettings:
    return MailSettings("127.0.0.1", smtp.port, False, "", "", MAIL_FROM)


def add_email(session, to_address: str, subject: str, body: str = "A reply came in.") -> int:
    """An email row as any version of the app may have queued it (no cleaning on the way in)."""
    email = Email(to_address=to_address, subject=subject, body=body, next_attempt_at=utcnow())
    session.add(email)
    session.commit()
    return email.id


def fail_once(monkeypatch, owner, name: str) -> list[int]:
    """Make owner.name raise RuntimeError on its first call and work after; returns the calls."""
    original = getattr(owner, name)
    calls: list[int] = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"injected fault in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def all_delivered(session, batch) -> bool:
    return {m.state for m in messages(session, batch)} == {"delivered"}


# --- 1c: one email that cannot be built or sent fails alone ---------------------------------------


def test_an_email_that_cannot_be_built_fails_with_its_reason_and_the_rest_go_out(
    session, smtp, mail
):
    first = add_email(session, "first@example.com", "SMS reply from Ada Lovelace (+61412345678)")
    split_subject = add_email(
        session, "casey@example.com", "SMS reply from Harri\r\nson (+61412345679)"
    )
    split_address = add_email(session, "bob@example.com\r\nBcc: eve@example.com", "SMS reply")
    last = add_email(session, "last@example.com", "SMS reply from Bob Brown (+61412345670)")
    session.rollback()

    assert mailer.send_due(session, mail) == 3

    assert [m.rcpt_tos for m in smtp.messages] == [
        ["first@example.com"],
        ["casey@example.com"],
        ["last@example.com"],
    ]
    # The subject went out on one line: the line break became a space, no header was added.
    assert smtp.messages[1].subject == "SMS reply from Harri son (+61412345679)"
    assert "Bcc" not in smtp.messages[1].message
    states = {e.id: (e.state, e.last_error) for e in rows(session, Email)}
    assert states[first][0] == states[split_subject][0] == states[last][0] == "sent"
    state, reason = states[split_address]
    assert state == "failed"
    assert "line break or control character" in reason
    assert "\r" not in reason and "\n" not in reason
    # Nobody named in the address got it, not even the part before the line break.
    assert not any(
        "eve@example.com" in m.rcpt_tos or "bob@example.com" in m.rcpt_tos for m in smtp.messages
    )


def test_an_email_the_server_cannot_take_fails_alone_and_the_next_one_still_goes(session):
    """A non-ASCII address on a server without SMTPUTF8: smtplib refuses before any command, an
    error about this email only: the emails after it still go."""
    with SmtpServer(smtputf8=False) as ascii_only:
        settings = MailSettings("127.0.0.1", ascii_only.port, False, "", "", MAIL_FROM)
        zoe = add_email(session, "zoë@example.com", "SMS reply")
        after = add_email(session, "after@example.com", "SMS reply")
        session.rollback()

        assert mailer.send_due(session, settings) == 1

        assert [m.rcpt_tos for m in ascii_only.messages] == [["after@example.com"]]
    states = {e.id: (e.state, e.last_error) for e in rows(session, Email)}
    assert states[after] == ("sent", None)
    assert states[zoe][0] == "failed"
    assert "SMTPUTF8" in states[zoe][1]


def test_an_email_that_raises_while_being_built_is_failed_and_the_others_are_sent(
    session, smtp, mail, monkeypatch
):
    broken = add_email(session, "casey@example.com", "SMS reply one")
    fine = add_email(session, "casey@example.com", "SMS reply two")
    session.rollback()
    fail_once(monkeypatch, mailer, "_compose")

    assert mailer.send_due(session, mail) == 1

    assert [m.subject for m in smtp.messages] == ["SMS reply two"]
    states = {e.id: (e.state, e.last_error) for e in rows(session, Email)}
    assert states[fine] == ("sent", None)
    assert states[broken] == ("failed", "Could not be built: injected fault in _compose")


# --- 1d: a fault in any step of the dispatcher ----------------------------------------------------

# (where, name, what the step is): each is our own function the loop calls.
STEPS = [
    (outbox, "expire_leases", "housekeeping: expiring leases"),
    (outbox, "deliver_sandbox", "housekeeping: the sandbox's delivery receipts"),
    (mailer, "send_due", "housekeeping: sending reply emails"),
    (mailer, "_compose", "building one email"),
    (outbox, "claim", "claiming due messages"),
    (outbox, "recheck", "the send-time re-check"),
    (TokenBucket, "acquire", "the send thread, before the gateway call"),
    (outbox, "record", "recording outcomes"),
    (reconcile, "reconcile", "housekeeping: reconciling unknown messages (in its own thread)"),
    (status, "beat", "housekeeping: the heartbeat"),
]


@pytest.mark.parametrize("owner, name, what", STEPS, ids=[name for _, name, _ in STEPS])
def test_a_fault_in_any_step_is_logged_and_queued_sms_still_go_out(
    app, session, make_candidate, smtp, mail, casey, monkeypatch, caplog, owner, name, what
):
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Bob", "Brown", "0412 345 679"),
        make_candidate("Cy", "Young", "0412 345 670"),
    ]
    batch = queue(session, casey, people, provider="sandbox")
    add_email(session, "casey@example.com", "SMS reply from Ada Lovelace (+61412345678)")
    calls = fail_once(monkeypatch, owner, name)
    monkeypatch.setattr(status, "HEARTBEAT_EVERY", 0.05)  # these two run every few seconds
    dispatcher = delivery.dispatcher(
        app,
        Sandbox(),
        mail=mail,
        max_backoff=0.2,
        sandbox_delivery_after=timedelta(0),
        reconcile=ReconcileSettings(every=0.05),
    )

    with caplog.at_level(logging.ERROR, logger="webapp.sms"), Running(dispatcher) as running:
        wait_until(
            lambda: all_delivered(session, batch) or not running.alive(),
            10,
            f"the SMS to go out after a fault in {what}",
        )
        wait_until(
            lambda: rows(session, Email)[0].state != "queued" or not running.alive(),
            10,
            "the reply email",
        )
        wait_until(
            lambda: len(calls) >= 2 or name == "_compose" or not running.alive(),
            10,
            f"{what} to run again after its fault",
        )
        assert running.alive(), f"the dispatcher ended after a fault in {what}: {running.error!r}"
    assert running.ended_cleanly()

    # The fault happened, and the step ran again after it (one email is built only once).
    assert len(calls) >= (1 if name == "_compose" else 2)
    sent = messages(session, batch)
    assert {m.state for m in sent} == {"delivered"}
    # Nothing sent twice; a message that failed before its gateway call was tried again.
    assert sorted(m.attempts for m in sent) == ([1, 1, 2] if name == "acquire" else [1, 1, 1])
    assert "injected fault" in caplog.text
    if name in ("recheck", "acquire"):  # the messages concerned are named in the log
        assert any(m.uuid in caplog.text for m in sent)
    [stored] = rows(session, Email)
    assert stored.state == ("failed" if name == "_compose" else "sent")


def test_a_provider_that_raises_leaves_that_message_unknown_and_the_others_go_out(
    app, session, make_candidate, casey, caplog
):
    class RaisesOnce(Sandbox):
        calls = 0

        def send(self, message):
            RaisesOnce.calls += 1
            if RaisesOnce.calls == 1:
                raise RuntimeError("injected fault in provider.send")
            return super().send(message)

    people = [make_candidate("Ada", "Lovelace", f"0412 345 67{i}") for i in range(4)]
    batch = queue(session, casey, people, provider="sandbox")
    dispatcher = delivery.dispatcher(
        app, RaisesOnce(), concurrency=1, max_backoff=0.2, sandbox_delivery_after=timedelta(0)
    )

    with caplog.at_level(logging.ERROR, logger="webapp.sms"), Running(dispatcher) as running:
        wait_until(
            lambda: sum(m.state == "delivered" for m in messages(session, batch)) == 3,
            10,
            "the other three SMS",
        )
    assert running.error is None

    sent = messages(session, batch)
    [faulty] = [m for m in sent if m.state != "delivered"]
    # It may or may not have gone: unknown, never resent blindly (reconciliation may settle it).
    assert faulty.state == "unknown"
    assert faulty.uuid in caplog.text


def test_the_backoff_of_a_failing_step_doubles_up_to_the_cap(app, monkeypatch):
    dispatcher = delivery.dispatcher(app, Sandbox(), poll_seconds=0.5, max_backoff=3.0)
    [expire] = [step for step in dispatcher.housekeeping if step.name == "expiring leases"]
    monkeypatch.setattr(outbox, "expire_leases", lambda session: 1 / 0)
    now = [100.0]
    monkeypatch.setattr("webapp.sms.dispatcher.time.monotonic", lambda: now[0])

    waits = []
    for _ in range(5):
        dispatcher._housekeeping()
        waits.append(expire.next_at - now[0])
        now[0] = expire.next_at
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]
    monkeypatch.setattr(outbox, "expire_leases", lambda session: 0)
    dispatcher._housekeeping()
    assert (expire.failures, expire.next_at - now[0]) == (0, 0.5)  # back to every poll


# --- the scenario, end to end ------------------------------------------------------------


def test_a_reply_from_a_person_whose_name_holds_a_line_break_does_not_stop_sending(
    app, session, make_candidate, smtp, mail, casey
):
    harrison = make_candidate("Sam", "Harrison", "0412 345 678")
    [sent] = send_sms(app, session, casey, [harrison])
    # Saved before names were checked (or by a CSV cell): straight into the database.
    session.execute(
        sa.update(Candidate).where(Candidate.id == harrison.id).values(last_name="Harri\r\nson")
    )
    session.commit()
    receive(app, session, "Yes please, call me", reference=sent.uuid)
    # And one with an unclean subject already waiting in the outbox, as a database may hold.
    add_email(session, "casey@example.com", "SMS reply from Sam Harri\r\nson (+61412345678)")
    others = [
        make_candidate("Ada", "Lovelace", "0412 345 671"),
        make_candidate("Bob", "Brown", "0412 345 672"),
    ]
    batch = queue(session, casey, others, provider="sandbox")

    for _restart in range(2):  # nothing that stops sending may come back after a restart
        handled = delivery.dispatcher(app, Sandbox(), mail=mail).run(once=True)
        assert handled == (2 if _restart == 0 else 0)

    assert {m.state for m in messages(session, batch)} == {"sent"}
    emails = rows(session, Email)
    assert [e.state for e in emails] == ["sent", "sent"]
    # The reply's email was queued clean; the one already waiting was cleaned on its way out.
    assert emails[0].subject == "SMS reply from Sam Harri son (+61412345678)"
    assert [m.subject for m in smtp.messages] == ["SMS reply from Sam Harri son (+61412345678)"] * 2


# --- supervision ---------------------------------------------------------------------------------


def test_supervise_restarts_a_dispatcher_that_raised_or_returned_and_stops_when_asked(
    app, session, make_candidate, casey, monkeypatch, caplog
):
    batch = queue(session, casey, [make_candidate()], provider="sandbox")
    dispatcher = delivery.dispatcher(app, Sandbox(), max_backoff=0.1)
    original = Dispatcher.run
    runs: list[str] = []

    def flaky_run(self, once=False):
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("injected fault in run")
        if len(runs) == 2:
            return 0  # ended without being stopped
        handled = original(self, once=True)
        self.stop()
        return handled

    monkeypatch.setattr(Dispatcher, "run", flaky_run)
    with caplog.at_level(logging.ERROR, logger="webapp.sms"):
        assert supervise(dispatcher) == 1

    assert len(runs) == 3
    assert {m.state for m in messages(session, batch)} == {"sent"}
    assert "stopped with an error" in caplog.text
    assert "returned without being stopped" in caplog.text


def test_the_embedded_worker_thread_is_restarted_after_the_dispatcher_raises(
    database_url, session, make_candidate, casey, monkeypatch, caplog
):
    batch = queue(session, casey, [make_candidate()], provider="sandbox")
    calls = fail_once(monkeypatch, Dispatcher, "run")
    # A second app on the same database, configured as in production: the worker in a thread.
    # The app hooks the process's exit and SIGTERM for its worker (webapp.worker): pytest's own.
    sigterm = signal.getsignal(signal.SIGTERM)
    served = create_app(config_for(database_url, TESTING=False, EMBEDDED_WORKER=True))
    try:
        with caplog.at_level(logging.ERROR, logger="webapp.sms"):
            served.test_client().get("/health")  # the first request starts the thread
            [thread] = [t for t in threading.enumerate() if t.name == "sms-dispatcher"]
            wait_until(
                lambda: {m.state for m in messages(session, batch)} == {"sent"},
                15,
                "the embedded worker to send after its restart",
            )
            assert thread.is_alive()
        assert len(calls) == 2
        assert "stopped with an error" in caplog.text
        assert "injected fault in run" in caplog.text
    finally:
        dispatcher = served.extensions.get("dispatcher")
        if dispatcher is not None:
            dispatcher.stop()
            served.extensions["dispatcher_thread"].join(10)
            assert not served.extensions["dispatcher_thread"].is_alive()
        served.extensions["database"].engine.dispose()
        signal.signal(signal.SIGTERM, sigterm)
        worker._stoppers.clear()
        worker._threads.clear()


def test_the_sms_worker_command_carries_on_after_an_unexpected_error(
    app, session, make_candidate, casey, monkeypatch
):
    batch = queue(session, casey, [make_candidate()], provider="sandbox")
    original = Dispatcher.run
    runs: list[int] = []

    def run_then_stop(self, once=False):
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("injected fault in run")
        handled = original(self, once=True)
        self.stop()  # as SIGTERM would, once the work is done
        return handled

    monkeypatch.setattr(Dispatcher, "run", run_then_stop)
    monkeypatch.setattr(worker, "build", _fast(worker.build))
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        result = app.test_cli_runner().invoke(args=["sms", "worker"])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    assert result.exit_code == 0, result.output
    assert "stopped after handling 1 message(s)" in result.output
    assert {m.state for m in messages(session, batch)} == {"sent"}


def _fast(build):
    """worker.build with a short poll, so the restart pause is short."""

    def fast(app, **overrides):
        return build(app, **{**overrides, "poll_seconds": 0.05})

    return fast
