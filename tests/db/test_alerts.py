"""Volume alerts (`webapp.sms.alerts`) through the real Send on a real database: passing
SMS_ALERT_RATE queues one email to SECURITY_ALERT_EMAIL and writes one audit event per user per
window; a Send to a country not sent to in 90 days alerts too; the email reaches a real SMTP server
on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import insert_candidates, run_once, send_request
from webapp.models import AuditEvent, Batch, Email, Message
from webapp.models.base import utcnow
from webapp.sms import alerts, batches, compose, mailer, schedule, settings
from webapp.sms.alerts import AlertSettings, parse_rate
from webapp.sms.dispatcher import settings_from_config
from webapp.sms.limits import LimitSettings
from webapp.sms.providers.sandbox import Sandbox

SECURITY = "security@example.com"


def send(session, user, ids, alert_settings: AlertSettings, **fields) -> Batch:
    draft = compose.create_draft(session, user, "candidates", list(ids))
    return compose.send(
        session,
        draft,
        user,
        send_request(**fields),
        provider="sandbox",
        blocked=settings.blocked_regions(session, "sandbox"),
        alert_settings=alert_settings,
    )


def alerts_written(session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def emails(session) -> list[Email]:
    session.rollback()
    return list(session.scalars(sa.select(Email).order_by(Email.id)))


def age(session, model, by: timedelta) -> None:
    """Make every row of `model` written so far `by` older."""
    for row in session.scalars(sa.select(model)):
        row.created_at = row.created_at - by
    session.commit()


@pytest.fixture
def people(session):
    return insert_candidates(session, 12)


# --- the rate ------------------------------------------------------------------------------------


def test_parse_rate_is_strict():
    assert parse_rate("500/10m") == alerts.Rate(500, timedelta(minutes=10), "500/10m")
    assert parse_rate("50/h").window == timedelta(hours=1)
    assert parse_rate("") is None
    for bad in ("500", "500/10", "500/10M", "0/1m", "500/0m", "-5/1m", "5 / 1m", "500/32d"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_passing_the_rate_queues_one_email_and_one_audit_not_again_in_the_window(
    app, session, make_user, people
):
    casey = make_user(full_name="Casey Jones")
    watch = AlertSettings(parse_rate("3/10m"), SECURITY)
    send(session, casey, people[:3], watch)  # 3: at the rate, not past it
    assert alerts_written(session, alerts.VOLUME_ALERT) == []

    batch = send(session, casey, people[3:4], watch)  # 4 in 10 minutes

    [event] = alerts_written(session, alerts.VOLUME_ALERT)
    assert (event.actor_id, event.subject_type, event.subject_id) == (casey.id, "batch", batch.id)
    assert (event.details["messages"], event.details["rate"]) == (4, "3/10m")
    [email] = emails(session)
    assert (email.to_address, email.state) == (SECURITY, "queued")
    assert casey.username in email.subject and "4 SMS in 10 minutes" in email.subject
    assert "Casey Jones" in email.body

    send(session, casey, people[4:6], watch)  # still past it, same window: no second alert
    assert len(alerts_written(session, alerts.VOLUME_ALERT)) == 1
    assert len(emails(session)) == 1

    # A window later (the alert and the messages older than 10 minutes), it alerts again.
    age(session, AuditEvent, timedelta(minutes=11))
    age(session, Message, timedelta(minutes=11))
    send(session, casey, people[6:10], watch)
    assert len(alerts_written(session, alerts.VOLUME_ALERT)) == 2
    assert len(emails(session)) == 2


def test_the_rate_counts_each_user_apart(app, session, make_user, people):
    casey, lee = make_user(), make_user()
    watch = AlertSettings(parse_rate("3/1h"), SECURITY)
    send(session, casey, people[:3], watch)

    send(session, lee, people[3:6], watch)

    assert alerts_written(session, alerts.VOLUME_ALERT) == []


def test_without_an_alert_address_the_alert_is_audited_only(app, session, make_user, people):
    casey = make_user()

    send(session, casey, people[:3], AlertSettings(parse_rate("2/1h"), ""))

    [event] = alerts_written(session, alerts.VOLUME_ALERT)
    assert event.details["emailed"] is False
    assert emails(session) == []


def test_a_resend_counts_towards_the_rate(app, session, make_user, people):
    casey = make_user()
    watch = AlertSettings(parse_rate("3/1h"), SECURITY)
    batch = send(session, casey, people[:2], watch)
    session.execute(sa.update(Message).values(state="failed", attempts=1))
    session.commit()

    batches.resend(session, batch, casey, ("failed",), alert_settings=watch)

    [event] = alerts_written(session, alerts.VOLUME_ALERT)
    assert event.details["messages"] == 4


def test_a_scheduled_send_counts_towards_the_rate_when_it_is_released(
    app, session, make_user, people
):
    """Held, its messages do not count when it is scheduled; the worker releasing them checks
    the rate again (it had never alerted on a scheduled send at all)."""
    casey = make_user()
    watch = AlertSettings(parse_rate("3/10m"), SECURITY)
    send_at = utcnow() + timedelta(minutes=1)
    batch = send(session, casey, people[:5], watch, send_at=send_at)
    assert alerts_written(session, alerts.VOLUME_ALERT) == []

    released = schedule.release_due(
        session, send_at, limit_settings=LimitSettings(), quiet_settings=None, alert_settings=watch
    )

    assert released == [batch.id]
    [event] = alerts_written(session, alerts.VOLUME_ALERT)
    assert (event.actor_id, event.subject_type, event.subject_id) == (casey.id, "batch", batch.id)
    assert event.details["messages"] == 5
    [email] = emails(session)
    assert "5 SMS in 10 minutes" in email.subject
    # Its countries were checked when it was scheduled: not again at its release.
    assert alerts_written(session, alerts.NEW_COUNTRY_ALERT) == []


def test_the_worker_releases_scheduled_sends_under_the_alert_settings(
    app, session, make_user, people
):
    """The dispatcher's release step passes its alert settings on (without them, no rate)."""
    app.config.update(SMS_ALERT_RATE="3/10m", SECURITY_ALERT_EMAIL=SECURITY)
    watch = settings_from_config(app.config).alerts
    assert (watch.rate, watch.email) == (parse_rate("3/10m"), SECURITY)
    batch = send(session, make_user(), people[:5], watch, send_at=utcnow() + timedelta(minutes=1))
    session.execute(  # due now
        sa.update(Batch).where(Batch.id == batch.id).values(send_at=utcnow() - timedelta(1))
    )
    session.commit()

    run_once(app, Sandbox(), alerts=watch)

    [event] = alerts_written(session, alerts.VOLUME_ALERT)
    assert (event.subject_id, event.details["messages"]) == (batch.id, 5)


# --- new countries -------------------------------------------------------------------------------


def test_a_send_to_a_country_not_sent_to_in_90_days_alerts(app, session, make_user, make_candidate):
    casey = make_user()
    watch = AlertSettings(None, SECURITY)
    au = make_candidate("Ada", "Lovelace", "0412 345 678")
    nz = make_candidate("Kiri", "Te Kanawa", "+64 21 123 4567")
    gb = make_candidate("Bob", "Brown", "+44 7400 123456")
    send(session, casey, [au.id], watch)  # the first Send ever: nothing to compare with
    assert alerts_written(session, alerts.NEW_COUNTRY_ALERT) == []

    batch = send(session, casey, [au.id, nz.id, gb.id], watch)

    [event] = alerts_written(session, alerts.NEW_COUNTRY_ALERT)
    assert (event.actor_id, event.subject_id, event.details["regions"]) == (
        casey.id,
        batch.id,
        ["GB", "NZ"],
    )
    [email] = emails(session)
    assert email.to_address == SECURITY
    assert "GB, NZ" in email.subject and "90 days" in email.body

    send(session, casey, [nz.id], watch)  # sent there now: no longer new
    assert len(alerts_written(session, alerts.NEW_COUNTRY_ALERT)) == 1


def test_a_country_last_sent_to_more_than_90_days_ago_is_new_again(
    app, session, make_user, make_candidate
):
    casey = make_user()
    watch = AlertSettings(None, "")
    au = make_candidate("Ada", "Lovelace", "0412 345 678")
    nz = make_candidate("Kiri", "Te Kanawa", "+64 21 123 4567")
    send(session, casey, [nz.id], watch)
    age(session, Message, timedelta(days=91))
    send(session, casey, [au.id], watch)  # the baseline: the organisation sends

    send(session, casey, [nz.id], watch)

    [event] = alerts_written(session, alerts.NEW_COUNTRY_ALERT)
    assert event.details["regions"] == ["NZ"]


# --- the email goes out --------------------------------------------------------------------------


def test_the_alert_email_reaches_the_security_contact_over_smtp(
    app, session, make_user, people, smtp
):
    casey = make_user()
    send(session, casey, people[:3], AlertSettings(parse_rate("2/10m"), SECURITY))

    sent = mailer.send_due(
        session, mailer.MailSettings("127.0.0.1", smtp.port, False, "", "", "desk@example.com")
    )

    assert sent == 1
    [received] = smtp.messages
    assert received.rcpt_tos == [SECURITY]
    assert "3 SMS in 10 minutes" in received.subject


def test_the_environment_is_refused_at_start_when_a_safeguard_cannot_be_meant(tmp_path):
    from webapp.config import ConfigError, from_environment

    env = {"SECRET_KEY": "x", "SMS_ALERT_RATE": "500/10m", "SMS_DAILY_LIMIT": "300"}
    config = from_environment(env, tmp_path)
    assert (config["SMS_DAILY_LIMIT"], config["SMS_ALERT_RATE"]) == (300, "500/10m")
    assert AlertSettings.from_config(config).rate.messages == 500
    for bad in (
        {"SMS_ALERT_RATE": "500 a minute"},
        {"SMS_DAILY_LIMIT": "-1"},
        {"SECURITY_ALERT_EMAIL": "security@example.com, boss@example.com"},
    ):
        with pytest.raises(ConfigError):
            from_environment({"SECRET_KEY": "x", **bad}, tmp_path)
