"""How reply emails travel: SMTPS (MAIL_USE_SSL) against a real TLS server on 127.0.0.1 with a
certificate made for the test, and the consultant as Reply-To without ever letting a line break
in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.fakes.smtp import SmtpServer, self_signed_certificate, server_context
from tests.replying import receive, rows, send_sms
from webapp import config as settings
from webapp.models import Email, Setting, User
from webapp.sms import mailer
from webapp.sms.mailer import MailSettings
from webapp.users import accounts

MAIL_FROM = "sms-desk@desk.example.com"


@pytest.fixture
def certificate(tmp_path):
    return self_signed_certificate(tmp_path)


@pytest.fixture
def smtps(certificate):
    with SmtpServer(ssl_context=server_context(*certificate)) as server:
        yield server


def queue_email(session, to: str = "casey@example.com") -> Email:
    email = Email(to_address=to, subject="SMS reply from Ada", body="Ada replied by SMS:\n\nYes")
    session.add(email)
    session.commit()
    return email


def smtps_settings(server: SmtpServer) -> MailSettings:
    return MailSettings(
        "127.0.0.1", server.port, False, "", "", MAIL_FROM, timeout=5.0, use_ssl=True
    )


# --- SMTPS ---------------------------------------------------------------------------------------


def test_mail_use_ssl_sends_over_smtps_to_a_server_whose_certificate_is_trusted(
    session, smtps, certificate, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the CA bundle ssl trusts by default
    email = queue_email(session)

    sent = mailer.send_due(session, smtps_settings(smtps))

    assert sent == 1
    [received] = smtps.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert received.subject == "SMS reply from Ada"
    [stored] = rows(session, Email, Email.id == email.id)
    assert stored.state == "sent"


def test_smtps_refuses_a_server_whose_certificate_nobody_vouches_for(session, smtps, monkeypatch):
    """Anyone between us and the mail server could otherwise read every reply: the email waits."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    email = queue_email(session)

    assert mailer.send_due(session, smtps_settings(smtps)) == 0

    assert smtps.messages == []
    [stored] = rows(session, Email, Email.id == email.id)
    assert (stored.state, stored.attempts) == ("queued", 1)
    assert "certificate" in stored.last_error.lower()


def test_mail_use_ssl_is_read_from_the_environment_with_port_465_by_default(tmp_path):
    env = {"SECRET_KEY": "k", "MAIL_SERVER": "mail.example.com", "MAIL_USE_SSL": "1"}
    config = settings.from_environment(env, tmp_path)
    mail = MailSettings.from_config(config)

    assert (config["MAIL_USE_SSL"], config["MAIL_PORT"]) == (True, 465)
    assert (mail.use_ssl, mail.use_tls, mail.port) == (True, False, 465)
    assert settings.from_environment({"SECRET_KEY": "k"}, tmp_path)["MAIL_PORT"] == 25


def test_mail_use_ssl_and_mail_use_tls_together_are_refused_with_a_message(tmp_path):
    env = {"SECRET_KEY": "k", "MAIL_USE_SSL": "1", "MAIL_USE_TLS": "1"}
    with pytest.raises(settings.ConfigError, match="MAIL_USE_SSL .* or MAIL_USE_TLS"):
        settings.from_environment(env, tmp_path)


# --- Reply-To ------------------------------------------------------------------------------------


@pytest.fixture
def consultant(make_user):
    return make_user("casey", role="consultant", full_name="Casey Jones", email="casey@example.com")


def reply_email_to(app, session, smtp, consultant, make_candidate):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    send_sms(app, session, consultant, [ada])
    receive(app, session, "Yes please")
    mail = MailSettings("127.0.0.1", smtp.port, False, "", "", MAIL_FROM, timeout=5.0)
    assert mailer.send_due(session, mail) == 1
    [received] = smtp.messages
    return received


def test_a_reply_email_says_reply_to_the_consultant_who_sent_the_sms(
    app, session, smtp, consultant, make_candidate
):
    received = reply_email_to(app, session, smtp, consultant, make_candidate)

    assert received.message["From"] == MAIL_FROM
    assert received.message["Reply-To"] == "Casey Jones <casey@example.com>"


def test_a_consultant_address_with_a_line_break_never_reaches_a_header(
    app, session, smtp, consultant, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    send_sms(app, session, consultant, [ada])
    mail = MailSettings("127.0.0.1", smtp.port, False, "", "", MAIL_FROM, timeout=5.0)
    receive(app, session, "Yes please")
    assert mailer.send_due(session, mail) == 1
    receive(app, session, "Call me tomorrow")
    # The address changes after the second reply's email was queued (to the good address), before
    # it goes.
    session.execute(
        sa.update(User)
        .where(User.id == consultant.id)
        .values(email="casey@example.com\r\nBcc: spy@example.com")
    )
    session.commit()

    assert mailer.send_due(session, mail) == 1

    first, second = smtp.messages
    assert first.message["Reply-To"] == "Casey Jones <casey@example.com>"
    assert "spy@example.com" not in second.message.as_string()
    assert second.message["Bcc"] is None and second.message["Reply-To"] is None
    assert second.rcpt_tos == ["casey@example.com"]


def test_a_consultant_name_with_a_line_break_is_one_line_in_reply_to(
    app, session, smtp, consultant, make_candidate
):
    session.execute(
        sa.update(User)
        .where(User.id == consultant.id)
        .values(full_name="Casey\r\nBcc: boss@example.com")
    )
    session.commit()

    received = reply_email_to(app, session, smtp, consultant, make_candidate)

    assert received.message["Bcc"] is None
    assert received.rcpt_tos == ["casey@example.com"]
    reply_to = received.message["Reply-To"]
    assert reply_to.addresses[0].addr_spec == "casey@example.com"
    assert "\n" not in str(reply_to) and "\r" not in str(reply_to)


def test_only_a_matched_reply_email_has_a_reply_to(app, session, smtp, consultant, make_candidate):
    """Nobody sent the SMS an unmatched reply answers: that email has no consultant to answer to."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    send_sms(app, session, consultant, [ada])
    receive(app, session, "Yes please")
    receive(app, session, "Who is this?", from_number="61499888777")
    unmatched = rows(session, Email)[-1]
    mail = MailSettings("127.0.0.1", smtp.port, False, "", "", MAIL_FROM, timeout=5.0)

    assert mailer.send_due(session, mail) == 2

    matched, other = smtp.messages
    assert matched.message["Reply-To"] == "Casey Jones <casey@example.com>"
    assert other.rcpt_tos == [unmatched.to_address] != ["casey@example.com"]
    assert other.message["Reply-To"] is None


def test_a_deactivated_consultant_is_never_the_reply_to(
    app, session, smtp, consultant, make_candidate, make_user
):
    """Their reply goes to the address for unmatched replies; answering it must not reach them."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, consultant, [ada])
    session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
    session.commit()
    admin = make_user("admin", role="administrator")
    accounts.deactivate_user(session, admin, session.get(User, consultant.id))
    receive(app, session, "Yes please", reference=sent.uuid)
    mail = MailSettings("127.0.0.1", smtp.port, False, "", "", MAIL_FROM, timeout=5.0)

    assert mailer.send_due(session, mail) == 1

    [received] = smtp.messages
    assert received.rcpt_tos == ["replies-inbox@example.com"]
    assert received.message["Reply-To"] is None
    assert "casey@example.com" not in received.message.as_string()
