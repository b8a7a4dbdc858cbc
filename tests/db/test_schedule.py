"""Send later (webapp.sms.schedule) on a real database (SQLite and PostgreSQL): a scheduled Send
is held until its time, then released by the worker under the daily limits; its sender may edit
or cancel it until then; consent is checked again when it goes; two releases, or a release and a
cancel, never both happen; and a worker that dies before the time leaves it for the next one."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.delivery import (
    SIGKILL,
    Running,
    close_all,
    dispatcher,
    flask_worker,
    insert_candidates,
    messages,
    references,
    run_once,
    script_worker,
    send_request,
    states,
    wait_until,
    worker_env,
)
from tests.fakes import FakeSmsCentral
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import (
    AuditEvent,
    Batch,
    Comment,
    ComposeDraft,
    Message,
    Role,
    Setting,
    User,
    utcnow,
)
from webapp.models.workers import WorkerHeartbeat
from webapp.sms import compose, consent, limits, outbox, schedule, settings
from webapp.sms.limits import LimitSettings
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.quiet_hours import QuietSettings, Window
from webapp.times import when

NO_LIMITS = LimitSettings()
HOUR = timedelta(hours=1)
BODY = "Hi {{first_name}}, new roles this week."


def schedule_send(
    session, sender, people, send_at, *, provider="sandbox", body=BODY, **fields
) -> Batch:
    """Draft and Send with "Send at", as the SMS screen does (`people`: records or ids)."""
    ids = [p if isinstance(p, int) else p.id for p in people]
    draft = compose.create_draft(session, sender, "candidates", ids)
    return compose.send(
        session,
        draft,
        sender,
        send_request(body, send_at=send_at, **fields),
        provider=provider,
        blocked=settings.blocked_regions(session, provider),
    )


def scheduled_yesterday(session) -> None:
    """Make every message so far 25 hours old: out of the daily limits' window."""
    session.execute(sa.update(Message).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()


def release_due(session, now=None, limit_settings=NO_LIMITS) -> list[int]:
    return schedule.release_due(session, now, limit_settings=limit_settings, quiet_settings=None)


def actions(session) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def event(session, action: str) -> AuditEvent:
    session.rollback()
    return session.scalar(sa.select(AuditEvent).where(AuditEvent.action == action))


def fresh(session, batch: Batch) -> Batch:
    session.rollback()
    session.expire_all()
    return session.get(Batch, batch.id)


def comments(session) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(Comment.text).order_by(Comment.candidate_id)))


@pytest.fixture
def bob(make_candidate):
    return make_candidate("Bob", "Brown", "0412 345 679")


# --- scheduling ----------------------------------------------------------------------------------


def test_a_scheduled_send_is_held_unclaimable_and_audited_as_scheduled(
    app, session, sender, ada, bob
):
    send_at = utcnow() + HOUR
    batch = schedule_send(
        session, sender, [ada, bob], send_at, comment=True, comment_type="SMS", comment_text=None
    )

    stored = fresh(session, batch)
    assert stored.send_at == send_at
    assert stored.scheduled
    assert stored.released_at is None
    held = messages(session, batch)
    assert [(m.state, m.next_attempt_at) for m in held] == [("queued", None)] * 2
    assert [m.body for m in held] == [
        "Hi Ada, new roles this week.",
        "Hi Bob, new roles this week.",
    ]
    # No worker takes them, however late it is: only the release makes them due.
    engine = app.extensions["database"].engine
    assert outbox.claim(engine, 10, timedelta(minutes=1), now=send_at + timedelta(days=365)) == []
    assert run_once(app, Sandbox()) == 0
    assert states(session, batch) == Counter(queued=2)
    # Not sent yet: the Comment waits for the release, and the audit says scheduled.
    assert comments(session) == []
    assert actions(session) == ["sms.scheduled"]
    scheduled = event(session, "sms.scheduled")
    assert scheduled.details["messages"] == 2
    assert scheduled.details["send_at"] == send_at.isoformat()


def test_sending_the_draft_again_returns_the_scheduled_batch(session, sender, ada):
    draft = compose.create_draft(session, sender, "candidates", [ada.id])
    request = send_request(send_at=utcnow() + HOUR)
    first = compose.send(session, draft, sender, request, provider="sandbox", blocked=frozenset())
    again = compose.send(session, draft, sender, request, provider="sandbox", blocked=frozenset())
    assert again.id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_limits_are_checked_at_scheduling_as_for_a_send(app, session, make_user, ada, bob):
    casey = make_user(daily_limit=1)
    with pytest.raises(FieldError) as caught:
        schedule_send(session, casey, [ada, bob], utcnow() + HOUR)
    assert caught.value.status == 429
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


# --- release -------------------------------------------------------------------------------------


def test_no_comment_is_written_for_someone_who_opted_out_while_it_waited(session, sender, ada, bob):
    """The worker refuses their message at sending, but the release had already written "SMS
    sent" on their record: their history said a message went that never did."""
    send_at = utcnow() + HOUR
    schedule_send(
        session, sender, [ada, bob], send_at, comment=True, comment_type="SMS", comment_text=None
    )
    bob.sms_consent = False  # Bob replied STOP meanwhile
    session.commit()

    release_due(session, send_at)

    assert comments(session) == ["Hi Ada, new roles this week."]


def test_release_due_releases_at_the_time_not_before(session, sender, ada, bob):
    send_at = utcnow() + HOUR
    batch = schedule_send(
        session, sender, [ada, bob], send_at, comment=True, comment_type="SMS", comment_text=None
    )

    assert release_due(session, send_at - timedelta(seconds=1)) == []
    assert fresh(session, batch).released_at is None

    assert release_due(session, send_at) == [batch.id]
    stored = fresh(session, batch)
    assert stored.released_at == send_at
    assert not stored.scheduled
    released = messages(session, batch)
    assert [(m.state, m.next_attempt_at, m.created_at) for m in released] == [
        ("queued", send_at, send_at)
    ] * 2
    assert all(m.quiet_until is None for m in released)
    # The Comment is written now, with each person's text as it goes.
    assert comments(session) == ["Hi Ada, new roles this week.", "Hi Bob, new roles this week."]
    assert actions(session) == ["sms.scheduled", "sms.released"]
    # Released once: a later call finds nothing.
    assert release_due(session, send_at + HOUR) == []
    assert actions(session) == ["sms.scheduled", "sms.released"]


def test_the_dispatcher_releases_and_sends_a_due_batch_in_the_same_run(
    app, session, sender, ada, bob, sms_central, sms_central_provider
):
    batch = schedule_send(session, sender, [ada, bob], utcnow() + HOUR, provider="smscentral")

    assert run_once(app, sms_central_provider) == 0  # not yet
    assert sms_central.requests == []

    # Its time comes (moved, not waited for: a second's margin was missed on a busy machine).
    session.execute(
        sa.update(Batch).where(Batch.id == batch.id).values(send_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    assert run_once(app, sms_central_provider) == 2

    sent = messages(session, batch)
    assert [m.state for m in sent] == ["sent", "sent"]
    assert references(sms_central) == Counter({m.uuid: 1 for m in sent})
    assert fresh(session, batch).released_at is not None


def test_a_running_worker_sends_a_scheduled_batch_within_5_seconds_of_its_time(
    app, session, sender, ada, sms_central, sms_central_provider
):
    send_at = utcnow() + timedelta(seconds=1.5)
    batch = schedule_send(session, sender, [ada], send_at, provider="smscentral")
    session.close()
    with Running(dispatcher(app, sms_central_provider, poll_seconds=1.0)):
        wait_until(lambda: states(session, batch)["sent"] == 1, 10, "the message to be sent")
    [message] = messages(session, batch)
    assert send_at <= fresh(session, batch).released_at < send_at + timedelta(seconds=5)
    assert message.sent_at - send_at < timedelta(seconds=5)


def test_consent_withdrawn_while_waiting_means_not_sent(
    app, session, sender, ada, bob, sms_central, sms_central_provider
):
    batch = schedule_send(
        session, sender, [ada, bob], utcnow() + timedelta(seconds=0.5), provider="smscentral"
    )
    begin_write(session)
    consent.set_for_number(
        session, "+61412345678", False, actor=None, cause={"source": "test"}
    )  # Ada replied STOP meanwhile
    session.commit()

    wait_until(lambda: utcnow() >= batch.send_at, 5, "the time")
    run_once(app, sms_central_provider)

    by_person = {m.candidate_id: m for m in messages(session, batch)}
    assert by_person[bob.id].state == "sent"
    assert by_person[ada.id].state != "sent"
    assert "opted out" in by_person[ada.id].error_text
    assert [r.form["RECIPIENT"] for r in sms_central.sends] == ["61412345679"]


def test_at_release_a_message_due_in_its_recipients_quiet_hours_waits_for_their_end(
    app, session, sender, ada, make_candidate
):
    london = make_candidate("Lou", "Don", "+44 7400 123456")
    ten_pm_in_sydney = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # 11 am in London
    batch = schedule_send(session, sender, [ada, london], ten_pm_in_sydney)
    quiet = QuietSettings(Window(time(20, 0), time(8, 0)), organisation_zone="Australia/Sydney")

    released = schedule.release_due(
        session, ten_pm_in_sydney, limit_settings=NO_LIMITS, quiet_settings=quiet
    )

    assert released == [batch.id]
    by_person = {m.candidate_id: m for m in messages(session, batch)}
    eight_am_in_sydney = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    assert (by_person[ada.id].next_attempt_at, by_person[ada.id].quiet_until) == (
        eight_am_in_sydney,
        eight_am_in_sydney,
    )
    assert (by_person[london.id].next_attempt_at, by_person[london.id].quiet_until) == (
        ten_pm_in_sydney,
        None,
    )
    assert event(session, "sms.released").details["quiet"] == 1
    engine = app.extensions["database"].engine
    [claimed] = outbox.claim(engine, 10, timedelta(minutes=1), now=ten_pm_in_sydney)
    assert claimed.to_e164 == "+447400123456"


# --- the daily limits at release ----------------------------------------------------------------


def test_a_batch_over_the_limit_at_its_time_fails_with_the_reason(
    app, session, make_user, sms_central, sms_central_provider
):
    casey = make_user(daily_limit=3)
    people = insert_candidates(session, 5)
    batch = schedule_send(session, casey, people[:2], utcnow() + HOUR, provider="smscentral")
    # Scheduled yesterday; since then Casey sent 2 at once: only 1 of the 3 is left at its time.
    scheduled_yesterday(session)
    draft = compose.create_draft(session, casey, "candidates", people[2:4])
    compose.send(session, draft, casey, send_request(), provider="smscentral", blocked=frozenset())

    assert release_due(session, batch.send_at) == [batch.id]

    failed = messages(session, batch)
    assert [(m.state, m.error_code) for m in failed] == [("failed", "limit")] * 2
    assert failed[0].error_text.startswith(
        "Not sent at its scheduled time: This SMS is for 2 people, but your daily limit is 3 "
        "and you have 1 left (limits count any 24 hours). You can choose 1 person or fewer or "
        "send it from "
    )
    assert fresh(session, batch).released_at == batch.send_at
    refused = event(session, "sms.schedule_refused")
    assert (refused.details["scope"], refused.details["used"], refused.details["left"]) == (
        "user",
        2,
        1,
    )
    assert "sms.released" not in actions(session)
    run_once(app, sms_central_provider)
    assert states(session, batch) == Counter(failed=2)
    assert all(r.form["RECIPIENT"] != m.to_e164[1:] for r in sms_central.sends for m in failed)


def test_a_batch_refused_at_its_time_says_from_when_it_could_go_in_the_senders_zone(
    session, make_user
):
    auckland = ZoneInfo("Pacific/Auckland")
    casey = make_user(daily_limit=2, timezone="Pacific/Auckland")
    people = insert_candidates(session, 4)
    batch = schedule_send(session, casey, people[:2], utcnow() + HOUR)
    scheduled_yesterday(session)
    draft = compose.create_draft(session, casey, "candidates", people[2:4])
    compose.send(session, draft, casey, send_request(), provider="sandbox", blocked=frozenset())
    session.rollback()
    sent = sorted(
        session.scalars(sa.select(Message.created_at).where(Message.batch_id != batch.id))
    )

    assert release_due(session, batch.send_at) == [batch.id]

    # Both of today's 2 must leave the 24 hours before 2 more fit: 24 hours after the later.
    free = sent[1].replace(tzinfo=UTC) + timedelta(hours=24)
    shown = when(free, auckland)
    if free.astimezone(auckland).date() == batch.send_at.astimezone(auckland).date():
        shown = shown.split(", ", 1)[1]  # that day: the time alone
    assert "NZ" in shown
    assert {m.error_text for m in messages(session, batch)} == {
        "Not sent at its scheduled time: This SMS is for 2 people, but your daily limit is 2 "
        f"and you have none left (limits count any 24 hours). You can send it from {shown}, or "
        "an administrator can raise your limit."
    }


def test_a_batchs_own_held_messages_do_not_count_against_it_at_release(
    session, make_user, ada, bob, make_candidate
):
    casey = make_user(daily_limit=3)
    cy = make_candidate("Cy", "Clark", "0412 345 670")
    batch = schedule_send(session, casey, [ada, bob, cy], utcnow() + timedelta(minutes=5))
    # 3 of 3 counted at scheduling; at release those 3 are this batch's own, not 3 more.
    assert release_due(session, batch.send_at) == [batch.id]
    assert states(session, batch) == Counter(queued=3)
    assert actions(session)[-1] == "sms.released"


def test_the_organisation_cap_is_checked_again_at_release(session, make_user, ada, bob):
    casey, lee = make_user(), make_user()
    session.merge(Setting(key=limits.ORGANISATION_LIMIT_KEY, value=2))
    session.commit()
    batch = schedule_send(session, casey, [ada, bob], utcnow() + HOUR)
    scheduled_yesterday(session)
    draft = compose.create_draft(session, lee, "candidates", [ada.id])
    compose.send(session, draft, lee, send_request(), provider="sandbox", blocked=frozenset())

    release_due(session, batch.send_at)

    assert states(session, batch) == Counter(failed=2)
    assert event(session, "sms.schedule_refused").details["scope"] == "organisation"


def test_a_sender_deactivated_while_waiting_has_their_batch_refused(session, sender, ada):
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR)
    sender.active = False
    session.commit()

    assert release_due(session, batch.send_at) == [batch.id]

    [message] = messages(session, batch)
    assert (message.state, message.error_code) == ("failed", "sender")
    assert message.error_text == (
        "Not sent at its scheduled time: Casey Jones can no longer send SMS."
    )
    assert event(session, "sms.schedule_refused").details["scope"] == "sender"


def test_an_ignore_whose_sender_lost_the_permission_while_waiting_lets_nobody_through(
    app, session, make_user, make_candidate, bob, sms_central, sms_central_provider
):
    """Scheduled under Ignore by a team leader made a consultant meanwhile: the opted-out person
    was sent it at its time."""
    lead = make_user(role="team-leader", full_name="Lee Lead")
    olive = make_candidate("Olive", "Optout", "0412 345 681", sms_consent=False)
    batch = schedule_send(
        session,
        lead,
        [olive, bob],
        utcnow() + timedelta(seconds=0.5),
        provider="smscentral",
        ignore=True,
        ignore_reason="Site closed",
    )
    lead.roles = [session.scalar(sa.select(Role).where(Role.name == "consultant"))]
    session.commit()

    wait_until(lambda: utcnow() >= batch.send_at, 5, "the time")
    run_once(app, sms_central_provider)

    by_person = {m.candidate_id: m for m in messages(session, batch)}
    assert by_person[olive.id].state != "sent" and not by_person[olive.id].override_opt_out
    assert "opted out" in by_person[olive.id].error_text
    assert by_person[bob.id].state == "sent"
    assert [r.form["RECIPIENT"] for r in sms_central.sends] == ["61412345679"]
    assert event(session, "sms.released").details["ignore_withdrawn"] == 1


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_withdraws_the_held_messages_and_nothing_goes(app, session, sender, ada, bob):
    batch = schedule_send(session, sender, [ada, bob], utcnow() + HOUR)

    assert schedule.cancel(session, batch, sender) == 2

    stored = fresh(session, batch)
    assert stored.cancelled_at is not None
    assert stored.cancelled_by_id == sender.id
    assert not stored.scheduled
    assert messages(session, batch) == []
    assert release_due(session, stored.send_at + HOUR) == []
    cancelled = event(session, "sms.schedule_cancelled")
    assert cancelled.details["messages"] == 2
    assert cancelled.actor_id == sender.id
    # From another tab: already cancelled.
    with pytest.raises(FieldError) as caught:
        schedule.cancel(session, stored, sender)
    assert caught.value.status == 409
    assert "already cancelled" in caught.value.message


def test_only_the_sender_may_cancel_or_edit(session, sender, make_user, ada):
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR)
    other = make_user()
    for attempt in (
        lambda: schedule.cancel(session, batch, other),
        lambda: schedule.edit_text(session, batch, other, "Changed"),
    ):
        with pytest.raises(FieldError) as caught:
            attempt()
        assert caught.value.status == 403
    assert states(session, batch) == Counter(queued=1)
    assert fresh(session, batch).body == "Hi {{first_name}}, new roles this week."


def test_after_release_cancel_and_edit_are_refused_409(session, sender, ada):
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR)
    release_due(session, batch.send_at)
    batch = fresh(session, batch)
    for attempt in (
        lambda: schedule.cancel(session, batch, sender),
        lambda: schedule.edit_text(session, batch, sender, "Changed"),
    ):
        with pytest.raises(FieldError) as caught:
            attempt()
        assert caught.value.status == 409
        assert "released" in caught.value.message
    assert [m.body for m in messages(session, batch)] == ["Hi Ada, new roles this week."]


def test_a_batch_sent_at_once_cannot_be_cancelled(session, sender, ada):
    draft = compose.create_draft(session, sender, "candidates", [ada.id])
    batch = compose.send(
        session, draft, sender, send_request(), provider="sandbox", blocked=frozenset()
    )
    with pytest.raises(FieldError) as caught:
        schedule.cancel(session, batch, sender)
    assert caught.value.status == 409


# --- edit ----------------------------------------------------------------------------------------


def test_edit_renders_each_persons_message_again(session, sender, ada, bob):
    batch = schedule_send(
        session, sender, [ada, bob], utcnow() + HOUR, comment=True, comment_type="SMS"
    )

    schedule.edit_text(session, batch, sender, "{{first_name}}: shift moved to 7am 🙂")

    edited = messages(session, batch)
    assert [m.body for m in edited] == ["Ada: shift moved to 7am 🙂", "Bob: shift moved to 7am 🙂"]
    assert [(m.encoding, m.segments) for m in edited] == [("UCS-2", 1)] * 2
    assert all(m.next_attempt_at is None for m in edited)  # still held
    assert fresh(session, batch).body == "{{first_name}}: shift moved to 7am 🙂"
    assert event(session, "sms.schedule_edited").details["messages"] == 2
    # Released as edited, and the Comment carries the edited text.
    release_due(session, batch.send_at)
    assert comments(session) == ["Ada: shift moved to 7am 🙂", "Bob: shift moved to 7am 🙂"]


def test_an_edit_over_a_text_saved_since_compares_under_the_lock(app, session, sender, ada):
    """Two tabs opened on one text: the second Save compares what its form showed with the text
    as stored now, read under the row's lock, not as its request first read the batch."""
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR)
    shown = schedule.editable_text(batch)
    other = app.extensions["database"].sessionmaker()
    try:  # the first tab's Save, committed after this request read the batch
        schedule.edit_text(other, other.get(Batch, batch.id), other.get(User, sender.id), "Tab one")
    finally:
        other.close()
    assert batch.body == BODY  # as this request read it

    with pytest.raises(schedule.ChangedMeanwhile) as refused:
        schedule.edit_text(session, batch, sender, "Tab two", shown)

    assert (refused.value.status, refused.value.stored) == (409, "Tab one")
    assert fresh(session, batch).body == "Tab one"
    schedule.edit_text(session, batch, sender, "Tab two", refused.value.stored)  # on purpose
    assert fresh(session, batch).body == "Tab two"


def test_edit_of_a_commercial_batch_keeps_its_opt_out_line(session, sender, ada):
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR, commercial=True)
    line = fresh(session, batch).opt_out_line
    assert line

    schedule.edit_text(session, batch, sender, "Hi {{first_name}}, a new role near you.")

    [message] = messages(session, batch)
    assert message.body == f"Hi Ada, a new role near you.\n{line}"
    assert fresh(session, batch).body == f"Hi {{{{first_name}}}}, a new role near you.\n{line}"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("", "Type a message"),
        ("Hi {{nickname}}", "Unknown merge field"),
        ("x" * (compose.MAX_CHARACTERS + 1), "the gateway takes at most"),
    ],
)
def test_edit_refuses_what_send_refuses_and_changes_nothing(session, sender, ada, body, says):
    batch = schedule_send(session, sender, [ada], utcnow() + HOUR)
    with pytest.raises(FieldError) as caught:
        schedule.edit_text(session, batch, sender, body)
    assert caught.value.status == 400
    assert caught.value.field == "message"
    assert says in caught.value.message
    # Edit text has no template picker and no “Insert merge field” to point to.
    assert "template" not in caught.value.message and "Insert" not in caught.value.message
    assert [m.body for m in messages(session, batch)] == ["Hi Ada, new roles this week."]
    assert "sms.schedule_edited" not in actions(session)


# --- races ---------------------------------------------------------------------------------------


def test_two_releases_at_once_release_the_batch_once(app, session, sender, ada, bob):
    batch = schedule_send(session, sender, [ada, bob], utcnow() + timedelta(minutes=1))
    session.close()
    sessionmaker = app.extensions["database"].sessionmaker
    barrier = threading.Barrier(2)
    results: list[object] = []

    def release():
        with sessionmaker() as own:
            barrier.wait()
            try:
                results.append(
                    schedule.release(
                        own,
                        batch.id,
                        batch.send_at,
                        limit_settings=NO_LIMITS,
                        quiet_settings=None,
                    )
                )
            except Exception as error:  # reported below, not lost in the thread
                results.append(error)

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results, key=str) == [False, True]
    assert actions(session).count("sms.released") == 1
    assert states(session, batch) == Counter(queued=2)


def test_a_cancel_racing_a_release_waits_for_it_then_is_refused(app, session, sender, ada):
    batch = schedule_send(session, sender, [ada], utcnow() + timedelta(minutes=1))
    send_at, batch_id = batch.send_at, batch.id
    session.close()
    sessionmaker = app.extensions["database"].sessionmaker
    outcome: list[object] = []
    with sessionmaker() as releasing:
        # The release has taken the batch (its row locked, or SQLite's write lock) but not yet
        # committed when the cancel comes.
        begin_write(releasing)
        taken = releasing.execute(
            sa.update(Batch)
            .where(Batch.id == batch_id, Batch.released_at.is_(None))
            .values(released_at=send_at)
        ).rowcount
        assert taken == 1

        def cancel():
            with sessionmaker() as own:
                try:
                    outcome.append(schedule.cancel(own, own.get(Batch, batch_id), sender))
                except FieldError as error:
                    outcome.append(error)

        thread = threading.Thread(target=cancel)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the cancel did not wait for the release's lock"
        releasing.commit()
        thread.join(30)

    [error] = outcome
    assert isinstance(error, FieldError) and error.status == 409
    assert states(session, batch_id) == Counter(queued=1)


# --- a restart -----------------------------------------------------------------------------------


def test_a_worker_killed_before_the_time_leaves_the_batch_for_the_next_one(
    database_url, session, make_user, tmp_path
):
    sender = make_user()
    people = insert_candidates(session, 20)
    batch = schedule_send(session, sender, people, utcnow() + HOUR, provider="smscentral")
    session.close()
    processes = []
    with FakeSmsCentral() as fake:
        env = worker_env(database_url, fake)
        try:
            killed = script_worker(env, tmp_path / "killed.log", lease_seconds=2.0)
            processes.append(killed)
            # Its heartbeat is written after the release step in the loop's first round: it has
            # looked for due batches (and found none) by then.
            wait_until(lambda: heartbeats(session) > 0, 60, "the worker's first round")
            killed.signal(SIGKILL)
            assert killed.wait(10) == -SIGKILL
            assert fake.requests == []
            assert fresh(session, batch).released_at is None

            # The time comes while no worker runs.
            send_at = utcnow() - timedelta(seconds=1)
            session.execute(sa.update(Batch).where(Batch.id == batch.id).values(send_at=send_at))
            session.commit()
            session.close()
            later = flask_worker(env, tmp_path / "later.log", "--once")
            processes.append(later)
            assert later.wait(60) == 0, later.output()
        finally:
            close_all(processes)

    final = messages(session, batch)
    assert Counter(m.state for m in final) == Counter(sent=20)
    assert references(fake) == Counter({m.uuid: 1 for m in final})
    assert fresh(session, batch).released_at >= send_at
    assert actions(session).count("sms.released") == 1


def heartbeats(session) -> int:
    session.rollback()
    count = session.scalar(sa.select(sa.func.count()).select_from(WorkerHeartbeat))
    session.rollback()
    return count


# --- review fixes: what held and refused messages count, a cancelled draft, a failing release ----


def allowance_used(session, user) -> int:
    session.rollback()
    return limits.allowance(session, user, NO_LIMITS).used


def test_held_messages_do_not_count_against_todays_limit(session, make_user):
    casey = make_user(daily_limit=3)
    people = insert_candidates(session, 5)
    schedule_send(session, casey, people[:2], utcnow() + timedelta(hours=20))
    assert allowance_used(session, casey) == 0

    # Today's 3 still go: the 2 for tomorrow are counted when they are released.
    draft = compose.create_draft(session, casey, "candidates", people[2:5])
    sent_now = compose.send(
        session, draft, casey, send_request(), provider="sandbox", blocked=frozenset()
    )
    assert states(session, sent_now) == Counter(queued=3)
    assert allowance_used(session, casey) == 3


def test_messages_refused_at_release_are_dated_then_and_are_not_counted(session, make_user):
    casey = make_user(daily_limit=3)
    people = insert_candidates(session, 6)
    batch = schedule_send(session, casey, people[:3], utcnow() + timedelta(minutes=5))
    draft = compose.create_draft(session, casey, "candidates", people[3:5])
    compose.send(session, draft, casey, send_request(), provider="sandbox", blocked=frozenset())

    assert release_due(session, batch.send_at) == [batch.id]  # 3 more, 1 left: refused

    refused = messages(session, batch)
    assert [(m.state, m.error_code) for m in refused] == [("failed", "limit")] * 3
    # Dated when they were due, as the ones that go are: the dashboard counts them on that day.
    assert {m.created_at for m in refused} == {batch.send_at}
    # They never reached a gateway: Casey has sent 2, and may send 1 more.
    assert allowance_used(session, casey) == 2
    draft = compose.create_draft(session, casey, "candidates", [people[5]])
    compose.send(session, draft, casey, send_request(), provider="sandbox", blocked=frozenset())
    assert allowance_used(session, casey) == 3


def test_a_cancelled_scheduled_draft_can_be_sent_again(session, sender, ada, bob):
    draft = compose.create_draft(session, sender, "candidates", [ada.id, bob.id])
    later = send_request(send_at=utcnow() + HOUR)
    cancelled = compose.send(session, draft, sender, later, provider="sandbox", blocked=frozenset())
    schedule.cancel(session, cancelled, sender)

    # The SMS screen finds the same draft for the same people, and its Send goes now.
    assert compose.open_draft(session, sender, "candidates", [ada.id, bob.id]).id == draft.id
    again = compose.send(
        session, draft, sender, send_request(), provider="sandbox", blocked=frozenset()
    )

    assert again.id != cancelled.id
    assert states(session, again) == Counter(queued=2)
    assert fresh(session, cancelled).cancelled_at is not None
    assert messages(session, cancelled) == []


def test_a_send_scheduled_days_ago_and_cancelled_reopens_with_its_text(session, sender, ada):
    # Drafts opened before today are not reopened, and one a day old has expired: cancelled on a
    # later day than it was scheduled, the SMS screen opened empty, the text lost.
    draft = compose.create_draft(session, sender, "candidates", [ada.id])
    draft.message = "Hi {{first_name}}, the Friday shift is on."  # as the screen keeps it
    session.commit()
    later = send_request(draft.message, send_at=utcnow() + 3 * 24 * HOUR)
    batch = compose.send(session, draft, sender, later, provider="sandbox", blocked=frozenset())
    session.execute(
        sa.update(ComposeDraft).values(created_at=utcnow() - timedelta(days=2, hours=1))
    )
    session.commit()

    schedule.cancel(session, fresh(session, batch), sender)

    reopened = compose.open_draft(session, sender, "candidates", [ada.id])
    assert (reopened.id, reopened.message) == (
        draft.id,
        "Hi {{first_name}}, the Friday shift is on.",
    )
    assert compose.get_draft(session, reopened.token, sender).id == draft.id  # not expired


def test_a_send_whose_text_was_edited_reopens_with_the_edited_text_once_cancelled(
    session, sender, ada
):
    draft = compose.create_draft(session, sender, "candidates", [ada.id])
    draft.message = "Original text"
    session.commit()
    later = send_request("Original text", send_at=utcnow() + HOUR)
    batch = compose.send(session, draft, sender, later, provider="sandbox", blocked=frozenset())
    schedule.edit_text(session, fresh(session, batch), sender, "Edited text, {{first_name}}")

    schedule.cancel(session, fresh(session, batch), sender)

    reopened = compose.open_draft(session, sender, "candidates", [ada.id])
    assert (reopened.id, reopened.message) == (draft.id, "Edited text, {{first_name}}")


@pytest.mark.parametrize("first_later", [True, False], ids=["scheduled-then-now", "now-then-later"])
def test_the_same_text_for_another_time_from_a_second_tab_is_refused(
    session, sender, ada, first_later
):
    draft = compose.create_draft(session, sender, "candidates", [ada.id])
    later = send_request(send_at=utcnow() + HOUR)
    first, second = (later, send_request()) if first_later else (send_request(), later)
    batch = compose.send(session, draft, sender, first, provider="sandbox", blocked=frozenset())

    with pytest.raises(FieldError) as caught:
        compose.send(session, draft, sender, second, provider="sandbox", blocked=frozenset())

    session.rollback()
    assert (caught.value.status, caught.value.field) == (409, "send_at")
    assert f"batch {batch.id}" in caught.value.message
    if first_later:
        assert "already scheduled" in caught.value.message
        assert "not sent now" in caught.value.message
    else:
        assert "already sent" in caught.value.message
    assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 1
    assert states(session, batch) == Counter(queued=1)


def test_a_batch_whose_release_fails_backs_off_and_does_not_hold_back_later_ones(
    session, sender, ada, bob, monkeypatch, caplog
):
    poisoned = schedule_send(
        session, sender, [ada], utcnow() + timedelta(minutes=1), comment=True, comment_type="SMS"
    )
    good = schedule_send(session, sender, [bob], utcnow() + timedelta(minutes=2))
    # A batch whose kind no longer exists: writing its Comments raises, every time.
    session.execute(sa.update(Batch).where(Batch.id == poisoned.id).values(kind="vanished"))
    session.commit()
    monkeypatch.setattr(schedule, "RELEASE_GROUP", 1)  # the poisoned one fills a group
    retries = schedule.Retries()
    now = good.send_at

    def release(at):
        return schedule.release_due(
            session, at, limit_settings=NO_LIMITS, quiet_settings=None, retries=retries
        )

    assert release(now) == []  # the poisoned one failed, and rolled back
    assert fresh(session, poisoned).released_at is None
    assert release(now) == [good.id]  # skipped while it waits: the later one goes
    assert states(session, good) == Counter(queued=1)
    assert release(now + timedelta(seconds=1)) == []
    failures = [r for r in caplog.records if "Releasing scheduled batch" in r.getMessage()]
    assert len(failures) == 1  # once per try, not once per poll
    # Tried again after its back-off (and then waits twice as long).
    assert release(now + schedule.RETRY_FIRST) == []
    assert retries.next_try[poisoned.id] == now + 3 * schedule.RETRY_FIRST
    assert fresh(session, poisoned).scheduled
    assert states(session, poisoned) == Counter(queued=1)
