"""The Status page (/admin/status): for administrators only (hidden and 403 for everyone else), the
readiness in words, and the failed reply emails with a Retry and a Discard each (POST, audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.html_tree import html, section_notices
from tests.replying import audits, rows
from webapp.models import Email, utcnow
from webapp.sms import status


def failed_email(session, to: str = "casey@example.com") -> Email:
    email = Email(
        to_address=to,
        subject="SMS reply from Ada Lovelace (+61412345678)",
        body="Yes",
        state="failed",
        attempts=3,
        last_error="Refused by the mail server: 550 No such user",
    )
    session.add(email)
    session.commit()
    return email


@pytest.mark.parametrize("role", ("viewer", "consultant", "team-leader"))
def test_only_settings_managers_see_the_status_page_or_its_link(client, login, session, role):
    email = failed_email(session)
    login(role)

    assert 'href="/admin/status"' not in client.get("/candidates").get_data(as_text=True)
    assert client.get("/admin/status").status_code == 403
    assert client.post(f"/admin/status/emails/{email.id}/retry").status_code == 403
    assert client.post(f"/admin/status/emails/{email.id}/discard").status_code == 403
    assert rows(session, Email)[0].state == "failed"
    assert audits(session, "email.retried") == audits(session, "email.discarded") == []


def test_an_administrator_finds_the_status_page_in_the_navigation(client, login):
    login("administrator")

    page = client.get("/candidates").get_data(as_text=True)

    assert '<a href="/admin/status"' in page


def test_the_page_says_in_words_what_readyz_says(client, login, session):
    status.beat(
        session, "desk-1:77", utcnow() - timedelta(hours=2), now=utcnow() - timedelta(minutes=5)
    )
    failed_email(session)
    login("administrator")

    response = client.get("/admin/status")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not ready" in page
    assert "No worker has been seen for" in page
    assert "desk-1:77" in page
    assert "1 reply email failed for good" in page
    assert "casey@example.com" in page and "550 No such user" in page


def test_all_well_says_ready(client, login, session):
    status.beat(session, "desk-1:77", utcnow())
    login("administrator")

    page = client.get("/admin/status").get_data(as_text=True)

    assert "Ready" in page and "Not ready" not in page
    assert "None: every reply email was sent" in page


def test_retry_queues_the_email_again_from_its_first_attempt_and_is_audited(client, login, session):
    email = failed_email(session)
    admin = login("administrator")

    response = client.post(f"/admin/status/emails/{email.id}/retry")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/status")
    [stored] = rows(session, Email)
    assert (stored.state, stored.attempts) == ("queued", 0)
    assert stored.next_attempt_at <= utcnow()
    [event] = audits(session, "email.retried")
    assert (event.actor_id, event.subject_type, event.subject_id) == (admin.id, "email", email.id)
    assert event.details["to"] == "casey@example.com"
    # Said in the section it is about, and focused there: the top of the page is out of sight.
    page = html(client.get("/admin/status"))
    [notice] = section_notices(page, "failed-emails")
    assert notice.text == "The email to casey@example.com is queued again."
    assert page.all("ul", class_="flashes") == []


def test_a_section_message_another_page_opens_first_shows_at_its_top(client, login, session):
    """Another tab may load a page before the redirect's: the message is not lost there."""
    email = failed_email(session)
    login("administrator")
    client.post(f"/admin/status/emails/{email.id}/retry")

    page = html(client.get("/admin/users"))
    [listed] = page.all("ul", class_="flashes")
    assert listed.text == "The email to casey@example.com is queued again."


def test_discard_gives_up_on_the_email_and_is_audited(client, login, session):
    email = failed_email(session)
    admin = login("administrator")

    response = client.post(f"/admin/status/emails/{email.id}/discard")

    assert response.status_code == 303
    [stored] = rows(session, Email)
    assert stored.state == "discarded"
    [event] = audits(session, "email.discarded")
    assert (event.actor_id, event.subject_id) == (admin.id, email.id)
    page = client.get("/admin/status").get_data(as_text=True)
    assert "was discarded" in page and "None: every reply email was sent" in page
    assert client.get("/readyz").get_json()["email"] == {"ok": True, "pending": 0, "failed": 0}


def test_discard_asks_first_on_a_page_of_its_own(client, login, session):
    """A discarded email can never be retried: Discard on the Status page only asks."""
    email = failed_email(session)
    login("administrator")
    url = f"/admin/status/emails/{email.id}/discard"
    status_page = html(client.get("/admin/status"))
    [asks] = [form for form in status_page.all("form") if form.get("action") == url]
    assert asks.get("method") == "get"  # opens the question, discards nothing

    question = html(client.get(url))

    assert question.one("h1").text == "Discard the email to casey@example.com?"
    [form] = [form for form in question.all("form") if form.get("action") == url]
    assert form.get("method") == "post" and form.one("button").text == "Discard the email"
    assert rows(session, Email)[0].state == "failed" and audits(session, "email.discarded") == []
    client.post(url)
    assert "It has been discarded already." in html(client.get(url)).text


@pytest.mark.parametrize(
    "state, said",
    [
        ("sent", "It has been sent."),
        ("kept", "It was kept here, not sent: no mail server is set."),
        ("queued", "It is waiting to be sent."),
    ],
)
def test_the_discard_page_of_an_email_not_failed_says_what_became_of_it(
    client, login, session, state, said
):
    """It said "retried or discarded already" of an email sent, kept or never failed."""
    email = failed_email(session)
    email.state = state
    session.commit()
    login("administrator")
    page = html(client.get(f"/admin/status/emails/{email.id}/discard")).text
    assert said in page and "Only a failed email can be discarded." in page
    assert "retried or discarded" not in page


def test_a_second_retry_or_discard_changes_nothing_and_audits_nothing(client, login, session):
    email = failed_email(session)
    login("administrator")
    client.post(f"/admin/status/emails/{email.id}/retry")

    assert client.post(f"/admin/status/emails/{email.id}/discard").status_code == 303
    assert client.post(f"/admin/status/emails/{email.id}/retry").status_code == 303

    assert rows(session, Email)[0].state == "queued"
    assert len(audits(session, "email.retried")) == 1 and audits(session, "email.discarded") == []


def test_an_unknown_email_is_404(client, login):
    login("administrator")
    assert client.post("/admin/status/emails/999999/retry").status_code == 404


def test_retry_without_the_csrf_token_is_refused(client, login, session):
    email = failed_email(session)
    login("administrator")

    assert client.post(f"/admin/status/emails/{email.id}/retry", csrf=False).status_code == 400
    assert rows(session, Email)[0].state == "failed"


def test_the_failed_email_rows_only_hold_failed_emails(client, login, session):
    failed_email(session, "casey@example.com")
    session.add(Email(to_address="pending@example.com", subject="Waiting", body="x"))
    session.commit()
    login("administrator")

    page = client.get("/admin/status").get_data(as_text=True)

    assert "casey@example.com" in page and "pending@example.com" not in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Email)) == 2


def test_messages_held_for_a_scheduled_send_are_said_apart(client, login, session, make_candidate):
    sender = login("administrator")
    queue(
        session,
        sender,
        [make_candidate()],
        provider="sandbox",
        send_at=utcnow() + timedelta(days=1),
    )

    page = html(client.get("/admin/status")).text

    assert "1 message queued (1 of them held for scheduled sends, going at their time)" in page


def many_failed_emails(session, count: int) -> None:
    """`count` failed emails, to failed-1@… (the oldest) up to failed-`count`@… (the newest)."""
    session.add_all(
        Email(
            to_address=f"failed-{n}@example.com",
            subject="SMS reply",
            body="Yes",
            state="failed",
            attempts=3,
            last_error="Refused",
        )
        for n in range(1, count + 1)
    )
    session.commit()


def failed_rows(response) -> list[str]:
    section = html(response).one("section", id="failed-emails")
    return [row.all("td")[1].text for row in section.one("tbody").all("tr")]


def test_more_failed_emails_than_a_page_are_said_and_reached_a_page_at_a_time(
    client, login, session
):
    """250 failed showed as 200 rows with no word of the other 50, nor a way to them."""
    many_failed_emails(session, 250)
    login("administrator")

    first = client.get("/admin/status")

    assert "250 failed for good" in html(first).text
    section = html(first).one("section", id="failed-emails")
    assert section.one("p", id="failed-shown").text == "Showing the newest 200 of 250."
    shown = failed_rows(first)
    assert shown[0] == "failed-250@example.com" and shown[-1] == "failed-51@example.com"
    assert len(shown) == 200
    older = section.one("a", rel="next")
    assert older.text == "Older"

    second = client.get(older.get("href"))

    assert second.status_code == 200
    section = html(second).one("section", id="failed-emails")
    assert section.one("p", id="failed-shown").text == "Showing 201 to 250 of 250, newest first."
    assert failed_rows(second) == [f"failed-{n}@example.com" for n in range(50, 0, -1)]
    assert section.one("a", rel="prev").text == "Newer"
    assert not section.all("a", rel="next")


def test_a_page_of_failed_emails_that_is_no_number_is_a_400_saying_so(client, login, session):
    login("administrator")

    response = client.get("/admin/status?page=x")

    assert response.status_code == 400
    assert "Page must be a number" in html(response).one("section", id="failed-emails").text


def test_a_page_of_failed_emails_is_unsaid_when_all_fit(client, login, session):
    many_failed_emails(session, 3)
    login("administrator")

    section = html(client.get("/admin/status")).one("section", id="failed-emails")

    assert len(section.one("tbody").all("tr")) == 3
    assert not section.all("p", id="failed-shown") and not section.all("nav")


def test_a_second_worker_silent_for_hours_is_marked_and_warned_of(client, login, session):
    """The page said "Worker: OK" from the newest heartbeat and listed a worker silent for 3½
    hours like a live one."""
    now = utcnow()
    status.beat(session, "desk-1:77", now - timedelta(hours=4), now=now)
    status.beat(session, "desk-2:88", now - timedelta(hours=5), now=now - timedelta(hours=3.5))
    login("administrator")

    page = html(client.get("/admin/status"))

    # Still ready: one worker sends. But said, and the silent one's row marked.
    assert "Not ready" not in page.text
    [warning] = page.one("ul", class_="problems").all("li")
    assert warning.text.startswith("Warning: A worker process is silent for more than 60 s")
    assert "desk-2:88" in warning.text and "desk-1:77" not in warning.text
    rows_shown = {row.all("td")[0].text: row.all("td")[2].text for row in page.all("tr")[1:]}
    assert rows_shown["desk-2:88"].startswith("Silent since ")
    assert not rows_shown["desk-1:77"].startswith("Silent")
