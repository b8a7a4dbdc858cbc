"""The demo shows its mail: with DEMO_MODE and no MAIL_SERVER a reply's email is kept and listed on
/sandbox (to, subject, body, link), never tried over SMTP; with MAIL_SERVER set it is sent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.html_tree import html, section_notices
from tests.replying import inbound, rows, send_sms
from webapp import create_app
from webapp.config import from_environment
from webapp.models import Email
from webapp.sms import replies
from webapp.sms.dispatcher import Dispatcher, settings_from_config
from webapp.sms.providers.sandbox import Sandbox

PORT = "8123"  # as `make run PORT=8123` passes it


@pytest.fixture
def app(request, database_url, tmp_path):
    """The app as `make run` configures it from the environment; with a MAIL_SERVER when the test
    asks for the `smtp` server."""
    env = {"DEMO_MODE": "1", "DATABASE_URL": database_url, "PORT": PORT}
    if "smtp" in request.fixturenames:
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(request.getfixturevalue("smtp").port))
    config = from_environment(env, tmp_path / "instance")
    config.update(TESTING=True, EMBEDDED_WORKER=False)  # the test runs the worker loop itself
    app = create_app(config)
    yield app
    app.extensions["database"].engine.dispose()


def run_worker(app) -> None:
    """One pass of the worker loop with the steps the app's settings give it (mail among them)."""
    settings = replace(settings_from_config(app.config), poll_seconds=0.05)
    Dispatcher(app.extensions["database"].engine, Sandbox(), settings).run(once=True)


def reply_on_the_sandbox(app, client, session, login, make_candidate, text: str):
    casey = login("consultant", full_name="Casey Jones", email="casey@example.com")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, is Tuesday good?")
    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": text})
    assert response.status_code == 303
    return ada


def email_rows(client) -> list[list]:
    """The Emails table on /sandbox: the cells of each row."""
    table = html(client.get("/sandbox")).one("table", aria_labelledby="emails")
    return [row.all("td") for row in table.one("tbody").all("tr")]


def test_a_demo_without_a_mail_server_keeps_the_reply_email_and_lists_it_on_the_sandbox(
    app, client, session, login, make_candidate
):
    assert app.config["MAIL_KEEP"] is True
    reply_on_the_sandbox(app, client, session, login, make_candidate, "Yes, Tuesday suits")
    run_worker(app)
    run_worker(app)

    [email] = rows(session, Email)
    # Kept, never tried: no attempt, no error, no retry scheduled against a server that is not
    # there.
    assert (email.state, email.attempts, email.last_error, email.sent_at) == ("kept", 0, None, None)
    [[to, subject, body, link, state]] = email_rows(client)
    assert to.text.strip() == "casey@example.com"
    assert subject.text.strip() == "SMS reply from Ada Lovelace (+61412345678)"
    assert "Yes, Tuesday suits" in body.text and "Hi Ada, is Tuesday good?" in body.text
    # The link the email carries, on PUBLIC_BASE_URL as the demo's PORT gives it, and clickable
    # here.
    [anchor] = link.all("a")
    [reply] = inbound(session)
    key = replies.open_key(reply.id, reply.sender_id, app.config["SECRET_KEY"])
    opens = f"/sms/replies/{reply.id}/open?key={key}"
    assert anchor.text.strip() == f"http://127.0.0.1:{PORT}{opens}"
    # On this server, opening the reply (read for Casey, then the conversation) as the email's
    # link does.
    assert anchor.get("href") == opens
    assert state.text.strip() == "kept"


def test_a_failed_email_retried_in_a_demo_without_a_mail_server_is_kept_again(
    app, client, session, login, make_candidate
):
    """Queued, it waited for a mail server the demo does not have: "1 waiting" for ever."""
    reply_on_the_sandbox(app, client, session, login, make_candidate, "Yes, Tuesday suits")
    [email] = rows(session, Email)
    email.state, email.last_error = "failed", "Refused by the mail server: 550 No such user"
    session.commit()
    client.post("/logout")
    app.config["TWO_FACTOR_ROLES"] = ()  # not what this test is about
    login("administrator")

    assert client.post(f"/admin/status/emails/{email.id}/retry").status_code == 303
    [notice] = section_notices(html(client.get("/admin/status")), "failed-emails")
    assert notice.text == (
        "The email to casey@example.com is kept, not sent: this server keeps emails rather than "
        "sending them."
    )
    run_worker(app)

    [email] = rows(session, Email)
    assert (email.state, email.attempts) == ("kept", 0)
    assert client.get("/readyz").get_json()["email"] == {"ok": True, "pending": 0, "failed": 0}
    [[to, _, _, _, state]] = email_rows(client)
    assert (to.text.strip(), state.text.strip()) == ("casey@example.com", "kept")


def test_the_sandbox_link_is_the_one_the_email_was_given_not_one_typed_in_the_reply(
    app, client, session, login, make_candidate
):
    reply_on_the_sandbox(
        app, client, session, login, make_candidate, "Record: https://phish.example/candidates/1"
    )

    [[_, _, body, link, _]] = email_rows(client)
    assert "https://phish.example/candidates/1" in body.text  # shown as text, as the email says it
    [reply] = inbound(session)
    key = replies.open_key(reply.id, reply.sender_id, app.config["SECRET_KEY"])
    assert [a.get("href") for a in link.all("a")] == [f"/sms/replies/{reply.id}/open?key={key}"]


@pytest.mark.parametrize("path", ["//elsewhere.example/x", "/\\elsewhere.example/x"])
def test_an_email_link_that_would_leave_this_server_is_not_made_a_link(
    app, client, session, login, make_candidate, path
):
    reply_on_the_sandbox(app, client, session, login, make_candidate, "Yes")
    run_worker(app)
    [email] = rows(session, Email)
    line = next(
        line for line in email.body.splitlines() if line.startswith(replies.CONVERSATION_LINK)
    )
    email.body = email.body.replace(
        line, f"{replies.CONVERSATION_LINK}http://127.0.0.1:{PORT}{path}"
    )
    session.commit()

    [[_, _, _, link, _]] = email_rows(client)

    assert link.all("a") == []  # browsers read "/\\host" as "//host": another site


def test_with_a_mail_server_the_demo_sends_the_reply_email_as_before(
    app, client, session, login, make_candidate, smtp
):
    assert app.config["MAIL_KEEP"] is False
    reply_on_the_sandbox(app, client, session, login, make_candidate, "Yes, Tuesday suits")
    run_worker(app)

    [received] = smtp.messages
    assert received.rcpt_tos == ["casey@example.com"]
    assert "Yes, Tuesday suits" in received.body
    [email] = rows(session, Email)
    assert (email.state, email.attempts) == ("sent", 0)
    # The sandbox lists it too, as sent.
    [[to, _, _, _, state]] = email_rows(client)
    assert (to.text.strip(), state.text.strip()) == ("casey@example.com", "sent")


@pytest.mark.parametrize(
    "body, link",
    [
        (
            "Ada replied by SMS:\n\nRecord: x\n\nRecord: http://h/candidates/7\n\n"
            "SMS consent was withdrawn (STOP).",
            "http://h/candidates/7",
        ),
        (
            "+61412345678 replied by SMS:\n\nHi\n\n"
            "No record matched this number; see the unmatched replies: "
            "http://h/replies/unmatched",
            "http://h/replies/unmatched",
        ),
        (
            "+61412345678 replied by SMS:\n\nHi\n\n"
            "More than one record has this number; file the reply on the right one: "
            "http://h/replies/unmatched",
            "http://h/replies/unmatched",
        ),
        ("No link at all", None),
    ],
)
def test_email_link_reads_the_last_link_line_the_email_was_written_with(body, link):
    assert replies.email_link(body) == link
