"""/readyz: 200 when every part is well, 503 when any one is not (the database away, the workers
silent, a queued message waiting too long, failed reply emails, a gateway refusing our account),
and the heartbeat workers write."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from tests import delivery
from tests.fakes import FakeSmsCentral, FakeTwilio
from webapp import config as settings
from webapp import create_app, migrate, version
from webapp.models import Email, Message, WorkerHeartbeat, utcnow
from webapp.sms import status
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.providers.twilio import Twilio


def beat(session, seconds_ago: float = 0.0, name: str = "web-1:4242") -> None:
    now = utcnow()
    status.beat(session, name, now - timedelta(hours=1), now=now - timedelta(seconds=seconds_ago))


def readyz(client):
    response = client.get("/readyz")
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def queued_message(session, make_user, make_candidate, *, waited: timedelta) -> Message:
    batch = delivery.queue(
        session, make_user(role="consultant"), [make_candidate()], provider="sandbox"
    )
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id)
        .values(next_attempt_at=utcnow() - waited)
    )
    session.commit()
    return session.scalar(sa.select(Message).where(Message.batch_id == batch.id))


def test_all_well_is_200_with_every_part_and_the_version(client, session):
    beat(session, seconds_ago=2)

    code, body = readyz(client)

    assert code == 200, body
    assert body["status"] == "ok"
    assert body["version"] == version.version() != "unknown"
    assert body["database"]["ok"] is True
    assert body["worker"]["ok"] is True and 1 <= body["worker"]["last_seen_s"] < 30
    assert body["queue"] == {"ok": True, "queued": 0, "held": 0, "oldest_queued_s": None}
    assert body["email"] == {"ok": True, "pending": 0, "failed": 0}


def test_no_worker_ever_seen_is_503(client):
    code, body = readyz(client)

    assert code == 503
    assert body["status"] == "error"
    assert body["worker"] == {"ok": False, "last_seen_s": None}
    assert body["database"]["ok"] and body["queue"]["ok"] and body["email"]["ok"]


def test_a_silent_worker_is_503_on_its_own(client, session):
    beat(session, seconds_ago=120)  # READY_WORKER_STALE_SECONDS is 60 by default

    code, body = readyz(client)

    assert code == 503
    assert body["worker"]["ok"] is False and body["worker"]["last_seen_s"] >= 120
    assert body["database"]["ok"] and body["queue"]["ok"] and body["email"]["ok"]
    assert any("No worker has been seen" in problem for problem in body["problems"])


def test_the_freshest_of_several_workers_counts(client, session):
    beat(session, seconds_ago=3600, name="old-host:1")
    beat(session, seconds_ago=1, name="new-host:2")

    assert readyz(client)[0] == 200


def test_an_old_queued_message_is_503_on_its_own(client, session, make_user, make_candidate):
    beat(session)
    queued_message(session, make_user, make_candidate, waited=timedelta(minutes=10))

    code, body = readyz(client)

    assert code == 503
    assert body["queue"]["ok"] is False
    assert body["queue"]["queued"] == 1 and body["queue"]["oldest_queued_s"] >= 600
    assert body["database"]["ok"] and body["worker"]["ok"] and body["email"]["ok"]


def queued_an_hour_ago(session, message: Message, **values) -> None:
    """Make `message` one queued an hour ago (and set `values` on it)."""
    session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(created_at=utcnow() - timedelta(hours=1), **values)
    )
    session.commit()


def test_a_message_waiting_for_its_retry_time_is_not_late(
    client, session, make_user, make_candidate
):
    """A message backing off (next attempt in the future) is queued but not due: nobody is late."""
    beat(session)
    message = queued_message(session, make_user, make_candidate, waited=timedelta(minutes=-10))
    queued_an_hour_ago(session, message)

    code, body = readyz(client)

    assert code == 200, body
    assert body["queue"] == {"ok": True, "queued": 1, "held": 0, "oldest_queued_s": None}


def test_a_message_held_for_a_scheduled_send_is_counted_apart_and_not_late(
    client, session, make_user, make_candidate
):
    """Queued with no attempt time until its batch's time comes: held as asked, not a backlog."""
    beat(session)
    message = queued_message(session, make_user, make_candidate, waited=timedelta(days=-1))
    queued_an_hour_ago(session, message, next_attempt_at=None)

    code, body = readyz(client)

    assert code == 200, body
    assert body["queue"] == {"ok": True, "queued": 1, "held": 1, "oldest_queued_s": None}


def test_failed_emails_are_503_on_their_own(client, session):
    beat(session)
    session.add_all(
        [
            Email(to_address="casey@example.com", subject="SMS reply", body="Hi", state="failed"),
            Email(to_address="dana@example.com", subject="SMS reply", body="Hi"),
        ]
    )
    session.commit()

    code, body = readyz(client)

    assert code == 503
    assert body["email"] == {"ok": False, "pending": 1, "failed": 1}
    assert body["database"]["ok"] and body["worker"]["ok"] and body["queue"]["ok"]


def test_thresholds_are_settings(database_url, session):
    app = create_app(
        settings.testing_config(
            database_url,
            READY_EMAIL_FAILED=1,
            READY_WORKER_STALE_SECONDS=600,
            READY_QUEUE_AGE_SECONDS=900,
        )
    )
    try:
        beat(session, seconds_ago=300)
        session.add(
            Email(to_address="casey@example.com", subject="SMS reply", body="Hi", state="failed")
        )
        session.commit()
        code, body = readyz(app.test_client())
    finally:
        app.extensions["database"].engine.dispose()

    assert code == 200, body


def test_thresholds_come_from_the_environment(tmp_path):
    env = {
        "SECRET_KEY": "k",
        "READY_WORKER_STALE_SECONDS": "90",
        "READY_QUEUE_AGE_SECONDS": "1200",
        "READY_EMAIL_FAILED": "3",
    }
    thresholds = status.Thresholds.from_config(settings.from_environment(env, tmp_path))
    assert thresholds == status.Thresholds(90.0, 1200.0, 3)
    assert status.Thresholds.from_config(
        settings.from_environment({"SECRET_KEY": "k"}, tmp_path)
    ) == status.Thresholds(60.0, 300.0, 0)


def test_the_database_down_is_503_and_says_so(app_without_database):
    code, body = readyz(app_without_database.test_client())

    assert code == 503
    assert body["database"] == {"ok": False}
    assert body["worker"]["ok"] is False and body["queue"]["queued"] is None
    assert body["problems"] == ["The database cannot be reached."]


def test_a_database_without_its_tables_is_503_and_asks_for_db_upgrade(tmp_path):
    """It said "The database cannot be reached." of a database that answered."""
    app = create_app(settings.testing_config(f"sqlite:///{tmp_path / 'new.sqlite3'}"))
    try:
        code, body = readyz(app.test_client())
    finally:
        app.extensions["database"].engine.dispose()

    assert code == 503
    assert body["database"] == {"ok": False}
    assert body["problems"] == [
        "The database is not migrated (it has no tables yet): run `flask db-upgrade`."
    ]


def set_revision(session, revision: str) -> None:
    session.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    session.commit()


def test_a_database_at_an_older_revision_is_503_and_asks_for_db_upgrade(client, session):
    beat(session, seconds_ago=2)
    head = migrate.head_revision()
    older = f"{int(head) - 1:04d}"  # the migrations are numbered 0001, 0002…
    set_revision(session, older)

    code, body = readyz(client)

    assert code == 503
    assert body["database"] == {"ok": False}
    assert body["problems"] == [
        f"The database is at revision {older} and this version of SMS Desk needs {head}: "
        "run `flask db-upgrade`."
    ]


def test_a_database_a_newer_version_upgraded_is_503_and_says_so(client, session):
    beat(session, seconds_ago=2)
    set_revision(session, "9999")

    code, body = readyz(client)

    assert code == 503
    assert body["problems"] == [
        "The database is at revision 9999, which this version of SMS Desk does not know: a newer "
        "version upgraded it. Run that version, or restore the backup taken before its upgrade."
    ]


# --- the heartbeat -------------------------------------------------------------------------------


def test_the_dispatcher_writes_its_heartbeat_and_readyz_then_says_ready(app, client, session):
    assert readyz(client)[0] == 503
    dispatcher = delivery.dispatcher(app, Sandbox())
    running = threading.Thread(target=dispatcher.run, daemon=True)
    running.start()
    try:

        def rows():
            session.rollback()  # a new snapshot: the worker writes from its own connection
            return session.scalars(sa.select(WorkerHeartbeat)).all()

        delivery.wait_until(lambda: rows(), 30, "its first heartbeat")
        [row] = rows()
        assert row.name == status.worker_name()
        assert utcnow() - row.last_seen < timedelta(seconds=30)
        assert readyz(client)[0] == 200
    finally:
        dispatcher.stop()
        running.join(timeout=30)


def test_a_one_off_run_signs_off_too(app, session, monkeypatch):
    """`sms worker --once` left its row: /readyz said a worker was live for a minute, then it and
    Status warned of a silent worker for a day (a cron job's each minute piling up)."""
    beat(session, seconds_ago=600, name="died:1")
    beats = []
    original = status.beat
    monkeypatch.setattr(status, "beat", lambda *args, **kw: beats.append(original(*args, **kw)))

    delivery.dispatcher(app, Sandbox()).run(once=True)

    assert beats  # it did beat while it ran
    session.rollback()
    assert set(session.scalars(sa.select(WorkerHeartbeat.name))) == {"died:1"}


def test_a_beat_updates_its_own_row_and_forgets_workers_silent_for_a_day(session):
    now = utcnow()
    status.beat(session, "gone:1", now - timedelta(days=3), now=now - timedelta(days=2))
    status.beat(session, "here:2", now - timedelta(minutes=5), now=now - timedelta(minutes=1))

    status.beat(session, "here:2", now - timedelta(minutes=5), now=now)

    session.expire_all()
    [(name, last_seen)] = session.execute(
        sa.select(WorkerHeartbeat.name, WorkerHeartbeat.last_seen)
    ).all()
    assert name == "here:2"
    assert abs((last_seen - now).total_seconds()) < 0.01


def test_a_worker_stopped_as_told_leaves_the_heartbeat_table_and_one_that_died_stays(app, session):
    """Every restart left the stopped process's row for a day, which Status listed as silent and
    warned of; only a process that died without stopping (no sign-off) stays listed."""
    beat(session, seconds_ago=600, name="died:1")
    dispatcher = delivery.dispatcher(app, Sandbox())
    running = threading.Thread(target=dispatcher.run, daemon=True)
    running.start()

    def names():
        session.rollback()  # a new snapshot: the worker writes from its own connection
        return set(session.scalars(sa.select(WorkerHeartbeat.name)))

    delivery.wait_until(lambda: dispatcher.name in names(), 30, "its first heartbeat")
    dispatcher.stop()
    running.join(timeout=30)

    assert not running.is_alive()
    assert names() == {"died:1"}


def test_a_dispatcher_stopping_leaves_the_row_another_of_its_process_beats_in(app, session):
    """Two dispatchers of one process share its name and the row the first wrote: the second
    stopping must not remove it while the first still runs."""
    earlier = utcnow() - timedelta(minutes=5)
    status.beat(session, status.worker_name(), earlier)  # the process's first dispatcher
    dispatcher = delivery.dispatcher(app, Sandbox())
    dispatcher.run(once=True)
    dispatcher._sign_off()

    session.rollback()
    [row] = session.scalars(sa.select(WorkerHeartbeat)).all()
    assert row.name == status.worker_name() and row.started_at == earlier


# --- a gateway refusing our account --------------------------------------------------------------


def test_a_gateway_out_of_credit_is_503_and_named_until_it_accepts_a_message_again(
    app, client, session, login, make_user
):
    """Workers beating and a short queue said "Ready — Messages are flowing" while every send
    failed on the account."""
    sender = make_user(role="consultant")
    with FakeSmsCentral(credit=0) as fake:
        people = delivery.insert_candidates(session, 2)
        batch = delivery.queue(session, sender, people, provider="smscentral")
        assert delivery.run_once(app, delivery.smscentral(fake)) == 2
        assert {m.error_code for m in delivery.messages(session, batch)} == {"534"}
        beat(session)

        code, body = readyz(client)

        assert code == 503, body
        assert body["worker"]["ok"] and body["queue"]["ok"] and body["email"]["ok"]
        assert body["gateway"] == {
            "ok": False,
            "account_failures": [
                {
                    "gateway": "smscentral",
                    "account": None,
                    "code": "534",
                    "text": "The SMS Central account has no credit left.",
                    "messages": 2,
                }
            ],
        }
        [problem] = body["problems"]
        assert problem.startswith("SMS Central refused 2 messages in the last 15 minutes")
        assert "no credit left" in problem and "(code 534)" in problem
        login("administrator")
        page = client.get("/admin/status").get_data(as_text=True)
        assert "Not ready" in page and "Messages are flowing" not in page
        assert "SMS Central refused 2 messages" in page and "Refusing" in page

        fake.credit = None  # topped up: the next message goes
        more = delivery.insert_candidates(session, 1, first=2)
        delivery.queue(session, sender, more, provider="smscentral")
        assert delivery.run_once(app, delivery.smscentral(fake)) == 1

    code, body = readyz(client)
    assert code == 200, body
    assert body["gateway"] == {"ok": True, "account_failures": []}


def test_twilio_refusing_our_credentials_is_503(app, client, session, make_user, make_candidate):
    with FakeTwilio() as fake:
        delivery.queue(session, make_user(), [make_candidate()], provider="twilio")
        wrong = Twilio(
            fake.api_base, fake.account_sid, "not-the-token", from_number=delivery.TWILIO_FROM
        )
        assert delivery.run_once(app, wrong) == 1
    beat(session)

    code, body = readyz(client)

    assert code == 503, body
    [failure] = body["gateway"]["account_failures"]
    assert (failure["gateway"], failure["code"]) == ("twilio", "20003")
    assert any(p.startswith("Twilio refused 1 message ") for p in body["problems"])


def test_a_refusal_of_the_recipients_or_an_older_one_of_the_accounts_leaves_it_ready(
    app, client, session, make_user, make_candidate
):
    sender = make_user()
    blocked = make_candidate()
    with FakeSmsCentral(blacklist=[blocked.mobile_e164.lstrip("+")]) as fake:
        delivery.queue(session, sender, [blocked], provider="smscentral")
        delivery.run_once(app, delivery.smscentral(fake))
    with FakeSmsCentral(credit=0) as fake:
        old = delivery.queue(session, sender, [make_candidate()], provider="smscentral")
        delivery.run_once(app, delivery.smscentral(fake))
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == old.id)
        .values(updated_at=utcnow() - status.ACCOUNT_FAILURE_WINDOW - timedelta(minutes=1))
    )
    session.commit()
    assert sorted(m.error_code for m in delivery.messages(session)) == ["519", "534"]
    beat(session)

    code, body = readyz(client)

    assert code == 200, body
    assert body["gateway"] == {"ok": True, "account_failures": []}


def test_a_backlog_queued_before_the_refusal_going_out_after_it_is_ready_again(
    app, client, session, make_user, make_candidate
):
    """Only a message made after the refusal cleared it: once the credit was topped up, the
    messages queued before it went out while /readyz said for 15 minutes that every send fails."""
    sender = make_user()
    backlog = delivery.queue(session, sender, [make_candidate()], provider="smscentral")
    later = utcnow() + timedelta(hours=1)
    session.execute(
        sa.update(Message).where(Message.batch_id == backlog.id).values(next_attempt_at=later)
    )
    session.commit()
    with FakeSmsCentral(credit=0) as fake:
        delivery.queue(session, sender, [make_candidate()], provider="smscentral")
        assert delivery.run_once(app, delivery.smscentral(fake)) == 1
        beat(session)
        assert readyz(client)[0] == 503

        fake.credit = None  # topped up; the backlog, made before the refusal, goes
        session.execute(
            sa.update(Message)
            .where(Message.batch_id == backlog.id)
            .values(next_attempt_at=utcnow())
        )
        session.commit()
        assert delivery.run_once(app, delivery.smscentral(fake)) == 1
    [went] = delivery.messages(session, backlog)
    assert went.sent_at is not None

    code, body = readyz(client)
    assert code == 200, body
    assert body["gateway"] == {"ok": True, "account_failures": []}
