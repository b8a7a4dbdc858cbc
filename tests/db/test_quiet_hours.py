"""Quiet hours on a real database, on a fixed clock: Send, Quick reply and resend queue a message
due in its recipient's night for their morning; the worker does not take it before then, and
re-checks consent when it goes; the Settings page's value wins over QUIET_HOURS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import messages, run_once, send_request
from webapp import form_tokens
from webapp.models import AuditEvent, BlockedRegion, Message, Setting
from webapp.sms import batches, compose, outbox, quick_reply, quiet_hours, settings
from webapp.sms import dispatcher as dispatcher_module
from webapp.sms.quiet_hours import QuietSettings

# 23:00 in Sydney (AEDT, +11), noon in London: Ada's Australian mobile is in its quiet hours,
# Bob's British one is not. A moment in the past, so the real worker may take both now.
NIGHT_IN_SYDNEY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SYDNEY_MORNING = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)  # 08:00 AEDT on the 6th
AU, UK = "0412 345 678", "+44 7400 123456"


@pytest.fixture
def app_settings() -> dict:
    return {"QUIET_HOURS": "20:00-08:00"}


@pytest.fixture
def clock(monkeypatch):
    """Send, Quick reply and resend queue at NIGHT_IN_SYDNEY."""
    for module in (outbox, batches):
        monkeypatch.setattr(module, "utcnow", lambda: NIGHT_IN_SYDNEY)
    return NIGHT_IN_SYDNEY


@pytest.fixture
def people(make_candidate):
    return make_candidate("Ada", "Lovelace", AU), make_candidate("Bob", "Brown", UK)


def send(app, session, sender, people, *, provider: str = "sandbox"):
    """Draft and Send as the SMS screen does, with the app's quiet-hours settings."""
    draft = compose.create_draft(session, sender, "candidates", [p.id for p in people])
    return compose.send(
        session,
        draft,
        sender,
        send_request(),
        provider=provider,
        blocked=settings.blocked_regions(session, provider),
        quiet=QuietSettings.from_config(app.config),
    )


def timing(session, batch) -> list[tuple[datetime | None, datetime | None]]:
    return [(m.next_attempt_at, m.quiet_until) for m in messages(session, batch)]


def claimed_at(app, moment: datetime) -> list[str]:
    engine = app.extensions["database"].engine
    return [c.to_e164 for c in outbox.claim(engine, 10, timedelta(minutes=2), now=moment)]


def test_a_message_due_in_the_recipients_night_waits_for_their_morning(
    app, session, sender, people, clock
):
    batch = send(app, session, sender, people)

    assert timing(session, batch) == [(SYDNEY_MORNING, SYDNEY_MORNING), (clock, None)]
    assert claimed_at(app, SYDNEY_MORNING - timedelta(seconds=1)) == ["+447400123456"]
    assert claimed_at(app, SYDNEY_MORNING) == ["+61412345678"]


def test_the_sender_office_zone_decides_for_a_number_that_spans_several(
    app, session, make_user, people, clock
):
    perth = make_user(office="Perth", full_name="Pat Perth")
    perth.office.timezone = "Australia/Perth"
    session.commit()

    batch = send(app, session, perth, people[:1])

    # 20:00 in Perth (+8): quiet until 08:00 AWST, three hours after Sydney's morning.
    assert timing(session, batch) == [(SYDNEY_MORNING + timedelta(hours=3),) * 2]


def test_consent_or_country_changed_while_waiting_is_refused_when_it_goes(
    app,
    session,
    sender,
    people,
    make_candidate,
    clock,
    monkeypatch,
    sms_central,
    sms_central_provider,
):
    ada, bob = people
    kiri = make_candidate("Kiri", "Tane", "+64 21 123 4567")  # 01:00 in Auckland
    batch = send(app, session, sender, [ada, bob, kiri], provider="smscentral")
    assert [m.quiet_until is not None for m in messages(session, batch)] == [True, False, True]
    session.get(type(ada), ada.id).sms_consent = False  # she replied STOP in the night
    session.add(BlockedRegion(provider="smscentral", region="NZ", name="New Zealand"))
    session.commit()

    monkeypatch.undo()  # the real clock, for the worker: their morning has come
    run_once(app, sms_central_provider)

    ada_message, bob_message, kiri_message = messages(session, batch)
    assert (ada_message.state, ada_message.error_code) == ("rejected", "recheck")
    assert "opted out" in ada_message.error_text
    assert (kiri_message.state, kiri_message.error_code) == ("rejected", "recheck")
    assert "(NZ)" in kiri_message.error_text
    assert bob_message.state == "sent"
    assert [m["RECIPIENT"] for m in sms_central.messages] == ["447400123456"]


def test_a_quick_reply_in_the_persons_night_waits_for_their_morning(
    app, session, sender, people, clock
):
    sent = quick_reply.send(
        session,
        sender,
        "candidates",
        people[0].id,
        quick_reply.ReplyRequest(
            token=form_tokens.new(), body="See you tomorrow", ignore_reason=""
        ),
        provider="sandbox",
        blocked=frozenset(),
        quiet=QuietSettings.from_config(app.config),
    )

    assert timing(session, sent.batch) == [(SYDNEY_MORNING, SYDNEY_MORNING)]


def test_a_resend_in_the_recipients_night_waits_for_their_morning(
    app, session, sender, people, clock
):
    batch = send(app, session, sender, people[:1])
    session.execute(sa.update(Message).values(state="failed", next_attempt_at=None))
    session.commit()

    resent = batches.resend(
        session, batch, sender, ("failed",), quiet=QuietSettings.from_config(app.config)
    )

    assert resent.queued == 1
    copy = messages(session, batch)[-1]
    assert (copy.resend_of_id, copy.next_attempt_at, copy.quiet_until) == (
        messages(session, batch)[0].id,
        SYDNEY_MORNING,
        SYDNEY_MORNING,
    )


@pytest.mark.parametrize("app_settings", [{}])
def test_off_by_default_nothing_waits(app, session, sender, people, clock):
    assert not app.config.get("QUIET_HOURS")
    batch = send(app, session, sender, people)

    assert timing(session, batch) == [(clock, None), (clock, None)]


def test_the_settings_page_value_wins_over_the_environment(app, session, sender, people, clock):
    changes = quiet_hours.save(session, sender, "off")
    assert changes == {"quiet_hours": [None, "off"]}
    assert quiet_hours.planner(session, sender, QuietSettings.from_config(app.config)) is None
    batch = send(app, session, sender, people)
    assert timing(session, batch) == [(clock, None), (clock, None)]

    quiet_hours.save(session, sender, "22:00 - 9:00")
    assert session.get(Setting, "quiet_hours").value == "22:00-09:00"
    until = quiet_hours.planner(session, sender, QuietSettings())  # QUIET_HOURS unset
    assert until is not None
    assert until("+61412345678", clock) == SYDNEY_MORNING + timedelta(hours=1)  # 09:00 AEDT

    audited = session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.action == "settings.changed")
    ).all()
    assert [d["changes"]["quiet_hours"] for d in audited] == [
        [None, "off"],
        ["off", "22:00-09:00"],
    ]


def test_quiet_hours_turned_off_send_the_messages_held_for_them(
    app, session, sender, people, clock, monkeypatch
):
    """Held until the old window's end: turned off on the Settings page, they still waited until
    the morning, and the batch page said so."""
    batch = send(app, session, sender, people)
    assert timing(session, batch)[0] == (SYDNEY_MORNING, SYDNEY_MORNING)
    monkeypatch.setattr(quiet_hours, "utcnow", lambda: clock)

    quiet_hours.save(session, sender, "off")

    assert timing(session, batch) == [(clock, None), (clock, None)]
    assert sorted(claimed_at(app, clock)) == ["+447400123456", "+61412345678"]


def test_quiet_hours_narrowed_hold_again_only_what_the_new_window_covers(
    app, session, sender, people, clock, monkeypatch, sms_central, sms_central_provider
):
    """Back in the queue, each is checked again as the worker takes it: 23:00 in Sydney is still
    inside 22:00-06:00, so Ada's waits again, until the new window's end."""
    batch = send(app, session, sender, people)
    monkeypatch.setattr(quiet_hours, "utcnow", lambda: clock)

    quiet_hours.save(session, sender, "22:00-06:00")

    assert timing(session, batch)[0] == (clock, None)
    monkeypatch.setattr(dispatcher_module, "utcnow", lambda: clock)
    run_once(app, sms_central_provider)
    assert timing(session, batch)[0] == (SYDNEY_MORNING - timedelta(hours=2),) * 2


def test_the_organisation_zone_set_on_the_settings_page_is_the_one_heeded(
    app, session, sender, people, clock
):
    session.add(Setting(key="timezone", value="Australia/Perth"))
    session.commit()

    batch = send(app, session, sender, people[:1])

    assert timing(session, batch) == [(SYDNEY_MORNING + timedelta(hours=3),) * 2]


def test_a_batch_page_counts_those_still_waiting(app, session, sender, people, clock):
    batch = send(app, session, sender, people)

    found = quiet_hours.waiting_in_batch(session, batch.id, now=clock)
    assert (found.count, found.first, found.last) == (1, SYDNEY_MORNING, SYDNEY_MORNING)
    assert quiet_hours.waiting_in_batch(session, batch.id, now=SYDNEY_MORNING) is None


# --- the worker heeds quiet hours when it takes a message, not only when it is queued ----------

# 19:30 AEDT, 08:30 in London: in nobody's quiet hours.
DAY_IN_SYDNEY = NIGHT_IN_SYDNEY - timedelta(hours=3, minutes=30)


@pytest.fixture
def worker_clock(monkeypatch):
    """Queue at DAY_IN_SYDNEY; the returned function moves the worker's clock."""
    for module in (outbox, batches):
        monkeypatch.setattr(module, "utcnow", lambda: DAY_IN_SYDNEY)

    def set_to(moment: datetime) -> None:
        for module in (outbox, dispatcher_module):
            monkeypatch.setattr(module, "utcnow", lambda: moment)

    return set_to


def test_a_message_the_worker_takes_in_its_recipients_night_goes_back_until_their_morning(
    app, session, sender, people, worker_clock, sms_central, sms_central_provider
):
    # Queued by day (a big batch still going, or a worker away since): taken at 23:00 in Sydney.
    batch = send(app, session, sender, people, provider="smscentral")
    assert timing(session, batch) == [(DAY_IN_SYDNEY, None)] * 2
    worker_clock(NIGHT_IN_SYDNEY)

    run_once(app, sms_central_provider, quiet=QuietSettings.from_config(app.config))

    ada_message, bob_message = messages(session, batch)
    assert (ada_message.state, ada_message.attempts) == ("queued", 0)  # the attempt uncounted
    assert (ada_message.next_attempt_at, ada_message.quiet_until) == (SYDNEY_MORNING,) * 2
    assert ada_message.lease_until is None
    assert bob_message.state == "sent"  # noon in London
    assert [m["RECIPIENT"] for m in sms_central.messages] == ["447400123456"]
    # Not taken again in the night; in the morning it goes.
    assert claimed_at(app, SYDNEY_MORNING - timedelta(seconds=1)) == []
    worker_clock(SYDNEY_MORNING)
    run_once(app, sms_central_provider, quiet=QuietSettings.from_config(app.config))
    assert messages(session, batch)[0].state == "sent"


def test_a_retry_whose_back_off_lands_in_the_night_waits_for_the_morning(
    app, session, sender, people, worker_clock, sms_central, sms_central_provider
):
    batch = send(app, session, sender, people[:1], provider="smscentral")
    # The gateway said "try later" by day; the back-off ran into the night.
    session.execute(
        sa.update(Message).values(attempts=2, error_code="busy", next_attempt_at=NIGHT_IN_SYDNEY)
    )
    session.commit()
    worker_clock(NIGHT_IN_SYDNEY + timedelta(hours=2))  # 01:00 AEDT

    run_once(app, sms_central_provider, quiet=QuietSettings.from_config(app.config))

    [message] = messages(session, batch)
    assert (message.state, message.attempts, message.next_attempt_at) == (
        "queued",
        2,
        SYDNEY_MORNING,
    )
    assert sms_central.messages == []


def test_the_stored_setting_alone_turns_the_workers_check_on_and_off(
    app, session, sender, people, worker_clock, sms_central, sms_central_provider
):
    batch = send(app, session, sender, people[:1], provider="smscentral")
    quiet_hours.save(session, sender, "off")  # wins over QUIET_HOURS
    worker_clock(NIGHT_IN_SYDNEY)

    run_once(app, sms_central_provider, quiet=QuietSettings.from_config(app.config))

    assert [m.state for m in messages(session, batch)] == ["sent"]
