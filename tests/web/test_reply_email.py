"""The reply email, read off a real SMTP server on 127.0.0.1 (aiosmtpd): who gets it, what it
says, where unmatched replies go, and an SMTP outage delaying mail without losing any."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests import delivery
from tests.fakes.smtp import SmtpServer, free_port
from tests.html_tree import html, section_notices
from tests.replying import audits, inbound, rows, send_sms
from tests.web.conftest import HOOK_PASSWORD, HOOK_USER, PUBLIC
from webapp.models import Email, Setting, User, utcnow
from webapp.sms import mailer
from webapp.sms.mailer import MailSettings
from webapp.sms.providers.sandbox import Sandbox
from webapp.users import accounts

# aiosmtpd 1.4.6 on Python 3.11 starts and stops without a warning under `filterwarnings = error`
# (checked: no marker needed). Should a later aiosmtpd warn, scope a pytest.mark.filterwarnings to
# that exact warning here rather than relaxing the suite.

MAIL_FROM = "sms-desk@desk.example.com"


@pytest.fixture
def smtp_down():
    """Asked for by tests that start with no mail server listening (see `mail_port`)."""


@pytest.fixture
def mail_port(request) -> int:
    if "smtp_down" in request.fixturenames:
        return free_port()  # nothing listens there (until the test starts a server on it)
    return request.getfixturevalue("smtp").port


@pytest.fixture
def app_settings(mail_port):
    """SMS Central's webhook, and mail to the loopback SMTP server."""
    return {
        "SMSCENTRAL_WEBHOOK_USERNAME": HOOK_USER,
        "SMSCENTRAL_WEBHOOK_PASSWORD": HOOK_PASSWORD,
        "PUBLIC_BASE_URL": PUBLIC,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mail_port,
        "MAIL_FROM": MAIL_FROM,
    }


@pytest.fixture
def mail(app) -> MailSettings:
    settings = MailSettings.from_config(app.config)
    assert settings is not None
    return settings


def push_reply(
    client,
    text: str,
    *,
    originator: str = "61412345678",
    reference: str | None = None,
    message_id: str = "SC-1",
):
    params = {
        "USER_NAME": HOOK_USER,
        "PASSWORD": HOOK_PASSWORD,
        "ORIGINATOR": originator,
        "RECIPIENT": "61400000001",
        "ID": message_id,
        "MESSAGE_TEXT": text,
    }
    if reference:
        params["REFERENCE"] = reference
    response = client.get("/webhooks/smscentral/inbound", query_string=params)
    assert (response.status_code, response.data) == (200, b"0")
    return response


def send_due(session, mail: MailSettings, **kwargs) -> int:
    """mailer.send_due on what is committed now (as the dispatcher's fresh session sees it)."""
    session.rollback()
    return mailer.send_due(session, mail, **kwargs)


def emailed_reply(app, client, session, smtp, mail, casey, person, text: str):
    """Casey's SMS to `person`, `text` pushed back as its reply, the email sent: that email."""
    [sent] = send_sms(app, session, casey, [person])
    push_reply(client, text, reference=sent.uuid)
    send_due(session, mail)
    [received] = smtp.messages
    return received


# --- content -------------------------------------------------------------------------------------


def test_the_consultant_who_sent_the_message_gets_the_reply_with_the_original_and_a_link(
    app, client, session, smtp, mail, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(
        app, session, casey, [ada], body="Hi {{first_name}}, is Tuesday good for you?"
    )

    push_reply(client, "Yes, Tuesday suits", reference=sent.uuid)
    assert send_due(session, mail) == 1

    [received] = smtp.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert received.message["To"] == "casey@example.com"
    assert received.message["From"] == MAIL_FROM
    assert "Ada Lovelace" in received.subject
    assert "+61412345678" in received.subject
    body = received.body
    assert "Yes, Tuesday suits" in body
    assert "Hi Ada, is Tuesday good for you?" in body
    # The inbox's Open: read for Casey, then the conversation on Ada's record (test_inbox).
    [reply] = inbound(session)
    assert f"Conversation: {PUBLIC}/sms/replies/{reply.id}/open" in body
    [email] = rows(session, Email)
    assert (email.state, email.attempts) == ("sent", 0)
    assert email.sent_at is not None


def test_a_contacts_reply_links_to_the_contacts_record(
    app, client, session, smtp, mail, casey, make_contact
):
    grace = make_contact("Grace", "Hopper", "0413 222 333")
    send_sms(app, session, casey, [grace], kind="contacts")

    push_reply(client, "Call me after 3", originator="61413222333")
    send_due(session, mail)

    [received] = smtp.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert "Grace Hopper" in received.subject
    [reply] = inbound(session)
    assert reply.contact_id == grace.id
    assert f"Conversation: {PUBLIC}/sms/replies/{reply.id}/open" in received.body
    assert "Call me after 3" in received.body
    client.login(casey.username)
    opened = client.get(f"/sms/replies/{reply.id}/open")
    assert opened.headers["Location"] == f"/contacts/{grace.id}#message-{reply.id}"


def test_a_reply_in_ucs2_reaches_the_email_intact(
    app, client, session, smtp, mail, casey, make_candidate
):
    zoe = make_candidate("Zoë", "Ng", "0412 345 678")
    received = emailed_reply(
        app, client, session, smtp, mail, casey, zoe, "Oui “merci” 👍 — à mardi"
    )

    assert "Zoë Ng" in received.subject
    assert "Oui “merci” 👍 — à mardi" in received.body


def test_a_stop_reply_email_says_consent_was_withdrawn(
    app, client, session, smtp, mail, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    received = emailed_reply(app, client, session, smtp, mail, casey, ada, "Stop!")

    assert "Stop!" in received.body
    assert "withdrawn" in received.body


# --- unmatched replies ---------------------------------------------------------------------------


def test_an_unmatched_reply_goes_to_the_configured_unmatched_address(
    app, client, session, smtp, mail, make_candidate
):
    make_candidate("Ada", "Lovelace", "0412 345 678")
    session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
    session.commit()

    push_reply(client, "Who is this?", originator="61499888777")
    send_due(session, mail)

    [received] = smtp.messages
    assert received.rcpt_tos == ["replies-inbox@example.com"]
    assert "+61499888777" in received.subject
    assert "Who is this?" in received.body
    assert f"{PUBLIC}/replies/unmatched" in received.body
    [reply] = inbound(session)
    assert reply.candidate_id is None and reply.contact_id is None


def test_a_reply_from_a_number_two_records_share_says_so_not_that_none_matched(
    app, client, session, smtp, mail, make_candidate, make_contact
):
    make_candidate("Archie", "Johnson", "0412 345 678")
    make_contact("Lucas", "White", "0412 345 678")

    push_reply(client, "Stop", originator="61412345678")
    send_due(session, mail)

    [received] = smtp.messages
    assert "No record matched" not in received.body
    assert (
        "More than one record has this number; file the reply on the right one: "
        f"{PUBLIC}/replies/unmatched"
    ) in received.body
    assert "SMS consent was withdrawn (STOP) on: Archie Johnson, Lucas White." in received.body
    [reply] = inbound(session)
    assert reply.candidate_id is None and reply.contact_id is None


def test_a_reply_to_a_deactivated_users_message_goes_to_the_unmatched_address_saying_whose(
    app, client, session, smtp, mail, casey, make_candidate, make_user
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, still free Friday?")
    session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
    session.commit()
    admin = make_user("admin", role="administrator")
    accounts.deactivate_user(session, admin, session.get(User, casey.id))

    push_reply(client, "Yes, Friday works", reference=sent.uuid)
    send_due(session, mail)

    [received] = smtp.messages
    assert received.rcpt_tos == ["replies-inbox@example.com"]  # never casey@example.com
    body = received.body
    assert body.startswith(
        "This reply answers Casey Jones's message. Casey Jones is deactivated in SMS Desk, so it "
        "comes to the address for unmatched replies instead."
    )
    assert "In reply to Casey Jones's message:" in body and "your message" not in body
    assert "Hi Ada, still free Friday?" in body and "Yes, Friday works" in body
    assert f"{PUBLIC}/candidates/{ada.id}" in body
    # Filed as any reply: on the record, answering Casey's message, in Casey's Replies.
    [reply] = inbound(session)
    assert (reply.candidate_id, reply.in_reply_to_id) == (ada.id, sent.id)
    assert reply.sender_id == casey.id


def test_a_reply_found_by_the_number_alone_for_a_consultant_without_email_says_whose_it_is(
    app, client, session, smtp, mail, casey, make_candidate
):
    """It answers no message of Casey's (it came from Ada's new number): the note says it is
    Casey's as the one who texted her last, not that it answers Casey's message."""
    ada = make_candidate("Ada", "Lovelace", "0400 111 222")
    send_sms(app, session, casey, [ada], body="Still free Friday?")
    ada.set_mobile("0412 345 678", "AU")
    session.get(User, casey.id).email = ""
    session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
    session.commit()

    push_reply(client, "It's Ada, new number")
    send_due(session, mail)

    [received] = smtp.messages
    assert received.rcpt_tos == ["replies-inbox@example.com"]
    assert received.body.startswith(
        "This reply is Casey Jones's, who texted them last. Casey Jones has no email address in "
        "SMS Desk, so it comes to the address for unmatched replies instead."
    )
    assert "answers Casey Jones's message" not in received.body


def assert_sent_as_unmatched(received, reply, ada) -> None:
    """The email as a new reply to Casey, deactivated, would be: to the unmatched inbox, saying
    whose it is, linking the record (not the inbox's Open, which is Casey's)."""
    assert received.rcpt_tos == ["replies-inbox@example.com"]  # never casey@example.com
    body = received.body
    assert body.startswith(
        "This reply answers Casey Jones's message. Casey Jones is deactivated in SMS Desk, so it "
        "comes to the address for unmatched replies instead. It is filed as usual: on Replies "
        "(Everyone's) and in the record's conversation."
    )
    assert "In reply to Casey Jones's message:" in body and "your message" not in body
    assert "Yes, Friday works" in body
    assert f"Conversation: {PUBLIC}/candidates/{ada.id}#message-{reply.id}" in body
    assert "/open?key=" not in body
    assert received.message["Reply-To"] is None


def failed_then_deactivated(
    app, client, session, smtp, mail, casey, make_candidate, login, text, unmatched=True
):
    """A reply email refused for good (550: how someone having left often shows first), then
    Casey deactivated by an administrator, signed in now; returns Ada, who replied `text`."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, still free Friday?")
    if unmatched:
        session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
        session.commit()
    smtp.refuse.add("casey@example.com")
    push_reply(client, text, reference=sent.uuid)
    send_due(session, mail)
    [email] = rows(session, Email)
    assert email.state == "failed"
    admin = login("administrator")
    accounts.deactivate_user(session, admin, session.get(User, casey.id))
    return ada


def test_retry_of_an_email_that_failed_to_a_consultant_deactivated_since_goes_to_unmatched(
    app, client, session, smtp, mail, casey, make_candidate, login
):
    args = (app, client, session, smtp, mail, casey, make_candidate, login)
    ada = failed_then_deactivated(*args, "Yes, Friday works")

    response = client.post(f"/admin/status/emails/{email_id(session)}/retry")
    assert response.status_code == 303
    [email] = rows(session, Email)
    assert (email.state, email.to_address) == ("queued", "replies-inbox@example.com")
    assert send_due(session, mail) == 1

    [received] = smtp.messages
    assert_sent_as_unmatched(received, inbound(session)[0], ada)
    [email] = rows(session, Email)
    assert (email.state, email.to_address) == ("sent", "replies-inbox@example.com")
    [event] = audits(session, "email.retried")
    assert event.details["to"] == "replies-inbox@example.com"
    assert event.details["was"] == "casey@example.com"


def test_readdressing_rewrites_the_emails_own_lines_never_the_texters(
    app, client, session, smtp, mail, casey, make_candidate, login
):
    texted = (
        "In reply to your message:\nConversation: http://elsewhere.example/sms/replies/9/open?key=x"
    )
    args = (app, client, session, smtp, mail, casey, make_candidate, login)
    ada = failed_then_deactivated(*args, texted)

    assert client.post(f"/admin/status/emails/{email_id(session)}/retry").status_code == 303
    assert send_due(session, mail) == 1

    [received] = smtp.messages
    [reply] = inbound(session)
    body = received.body.replace("\r\n", "\n")
    assert texted in body  # the texter's words as they sent them
    assert body.count("In reply to Casey Jones's message:") == 1
    assert f"Conversation: {PUBLIC}/candidates/{ada.id}#message-{reply.id}" in body
    assert f"/sms/replies/{reply.id}/open?key=" not in body


def test_retry_with_nowhere_for_unmatched_replies_says_it_failed_again_and_why(
    app, client, session, smtp, mail, casey, make_candidate, login
):
    args = (app, client, session, smtp, mail, casey, make_candidate, login)
    failed_then_deactivated(*args, "Yes, Friday works", unmatched=False)
    app.config["MAIL_FROM"] = ""  # and Settings names no address for unmatched replies

    assert client.post(f"/admin/status/emails/{email_id(session)}/retry").status_code == 303

    [email] = rows(session, Email)
    assert email.state == "failed"
    [notice] = section_notices(html(client.get("/admin/status")), "failed-emails")
    assert notice.text == (
        "The email to casey@example.com could not be queued again: Not sent: its consultant is "
        "deactivated in SMS Desk and there is no address for unmatched replies (Settings)."
    )


def email_id(session) -> int:
    [email] = rows(session, Email)
    return email.id


def test_an_email_queued_before_its_consultant_was_deactivated_goes_to_unmatched(
    app, client, session, smtp_down, mail, mail_port, casey, make_candidate, make_user
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, still free Friday?")
    session.add(Setting(key="unmatched_reply_address", value="replies-inbox@example.com"))
    session.commit()
    push_reply(client, "Yes, Friday works", reference=sent.uuid)
    failed_at = utcnow()
    assert send_due(session, mail, now=failed_at) == 0  # the mail server is down
    admin = make_user("admin", role="administrator")
    accounts.deactivate_user(session, admin, session.get(User, casey.id))

    with SmtpServer(mail_port) as server:
        assert send_due(session, mail, now=failed_at + timedelta(hours=2)) == 1
        [received] = server.messages

    assert_sent_as_unmatched(received, inbound(session)[0], ada)
    # Sent once only: the second round finds nothing to change or send.
    assert send_due(session, mail, now=failed_at + timedelta(hours=4)) == 0


def test_without_an_unmatched_address_a_deactivated_consultants_email_fails_saying_why(
    app, client, session, smtp, mail, casey, make_candidate, make_user
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada])
    push_reply(client, "Yes, Friday works", reference=sent.uuid)
    session.rollback()  # what the webhook wrote, seen
    admin = make_user("admin", role="administrator")
    accounts.deactivate_user(session, admin, session.get(User, casey.id))

    assert send_due(session, replace(mail, unmatched_fallback="")) == 0

    assert smtp.messages == []
    [email] = rows(session, Email)
    assert email.state == "failed"
    assert email.last_error == (
        "Not sent: its consultant is deactivated in SMS Desk and there is no address for "
        "unmatched replies (Settings)."
    )


def test_without_an_unmatched_address_unmatched_replies_go_to_mail_from(
    app, client, session, smtp, mail
):
    push_reply(client, "Who is this?", originator="61499888777")
    send_due(session, mail)

    [received] = smtp.messages
    assert received.rcpt_tos == [MAIL_FROM]
    assert "Who is this?" in received.body


# --- SMTP outages --------------------------------------------------------------------------------


def test_smtp_down_then_up_delays_the_email_and_delivers_it_exactly_once(
    app, client, session, smtp_down, mail, mail_port, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada])
    push_reply(client, "Yes, Tuesday suits", reference=sent.uuid)

    failed_at = utcnow()
    assert send_due(session, mail, now=failed_at) == 0

    [reply] = inbound(session)  # the reply is stored whatever the mail server does
    assert reply.body == "Yes, Tuesday suits" and reply.candidate_id == ada.id
    [email] = rows(session, Email)
    assert email.state == "queued"
    assert email.attempts == 1
    assert email.next_attempt_at > failed_at
    assert email.last_error

    with SmtpServer(mail_port) as server:
        # Not due yet: the back-off is honoured even though the server is back.
        assert send_due(session, mail, now=failed_at) == 0
        assert server.messages == []

        later = failed_at + timedelta(hours=2)
        assert send_due(session, mail, now=later) == 1
        assert send_due(session, mail, now=later + timedelta(hours=2)) == 0

        [received] = server.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert "Yes, Tuesday suits" in received.body
    [email] = rows(session, Email)
    assert (email.state, email.attempts) == ("sent", 1)


def test_each_failed_attempt_waits_longer_before_the_next(session, smtp_down, mail):
    session.add(Email(to_address="casey@example.com", subject="s", body="b"))
    session.commit()
    waits = []
    for _ in range(4):
        [email] = rows(session, Email)
        now = email.next_attempt_at
        assert send_due(session, mail, now=now) == 0
        [email] = rows(session, Email)
        waits.append(email.next_attempt_at - now)
    assert email.state == "queued" and email.attempts == 4
    assert waits == sorted(waits) and waits[0] < waits[-1]


def test_a_recipient_the_server_refuses_does_not_hold_back_the_other_emails(
    app, session, smtp, mail
):
    # A consultant's address the mail server rejects for good (550) must not stop everyone
    # else's reply emails: here a later email, retried as often as the back-off allows.
    smtp.refuse.add("left-the-company@example.com")
    session.add_all(
        [
            Email(to_address="left-the-company@example.com", subject="First", body="one"),
            Email(to_address="casey@example.com", subject="Second", body="two"),
        ]
    )
    session.commit()

    start = utcnow()
    for hour in range(4):
        send_due(session, mail, now=start + timedelta(hours=hour))

    assert [m.rcpt_tos for m in smtp.messages] == [["casey@example.com"]]
    refused, delivered = rows(session, Email)
    assert delivered.state == "sent"
    assert refused.state != "sent"


def test_an_email_the_connection_drops_under_counts_alone_and_fails_after_max_attempts(
    app, session, mail
):
    """The connection dropping mid-send counts against that email alone: the emails after it
    still go, and the one at fault fails after its last attempt."""
    with SmtpServer(drop={"drops@example.com"}) as server:
        settings = MailSettings("127.0.0.1", server.port, False, "", "", MAIL_FROM)
        session.add_all(
            [
                Email(to_address="drops@example.com", subject="First", body="one"),
                Email(to_address="casey@example.com", subject="Second", body="two"),
                Email(to_address="bob@example.com", subject="Third", body="three"),
            ]
        )
        session.commit()
        now = utcnow() + timedelta(seconds=1)

        assert send_due(session, settings, now=now) == 0
        first, second, third = rows(session, Email)
        assert (first.state, first.attempts) == ("queued", 1) and first.next_attempt_at > now
        # The others are not penalised: due again at once, and they go in the next round.
        assert [(e.state, e.attempts) for e in (second, third)] == [("queued", 0)] * 2
        assert send_due(session, settings, now=now) == 2
        assert [m.rcpt_tos for m in server.messages] == [["casey@example.com"], ["bob@example.com"]]

        for _ in range(mailer.MAX_ATTEMPTS - 1):
            [first] = [e for e in rows(session, Email) if e.state == "queued"]
            assert send_due(session, settings, now=first.next_attempt_at) == 0
        assert server.dropped == ["drops@example.com"] * mailer.MAX_ATTEMPTS
    first = rows(session, Email)[0]
    assert (first.state, first.attempts) == ("failed", mailer.MAX_ATTEMPTS)
    assert first.last_error.startswith(f"Gave up after {mailer.MAX_ATTEMPTS} attempts")


def test_the_dispatcher_sends_due_reply_emails_in_its_housekeeping(
    app, client, session, smtp, mail, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada])
    push_reply(client, "Yes, Tuesday suits", reference=sent.uuid)
    assert smtp.messages == []

    delivery.dispatcher(app, Sandbox(), mail=mail).run(once=True)

    [received] = smtp.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert rows(session, Email)[0].state == "sent"


def test_each_email_failure_is_logged_with_the_email_id_and_never_the_address(
    app, session, smtp, mail, caplog
):
    # Logs leave the machine (a log service, a support ticket): they name an email by its id.
    smtp.refuse.add("left-the-company@example.com")
    refused = Email(to_address="left-the-company@example.com", subject="First", body="one")
    split = Email(
        to_address="dana@example.com\r\nBcc: eve@example.com", subject="Second", body="two"
    )
    session.add_all([refused, split])
    session.commit()

    with caplog.at_level("INFO", logger="webapp.sms"):
        send_due(session, mail)

    lines = [r.getMessage() for r in caplog.records if r.name == "webapp.sms.mailer"]
    assert any(f"Email {refused.id} refused for good" in line and "550" in line for line in lines)
    assert any(f"Email {split.id} failed for good" in line for line in lines)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("webapp"))
    for personal in ("left-the-company", "dana@", "eve@"):
        assert personal not in ours  # (the fake SMTP server's own log, mail.log, names them)


def test_an_email_postponed_by_a_temporary_failure_is_logged_with_its_id(
    app, session, smtp_down, mail, caplog
):
    email = Email(to_address="casey@example.com", subject="SMS reply", body="one")
    session.add(email)
    session.commit()

    with caplog.at_level("INFO", logger="webapp.sms"):
        send_due(session, mail)

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("webapp"))
    assert f"Email {email.id} not sent" in ours
    assert "casey@example.com" not in ours
