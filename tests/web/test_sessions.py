"""Idle and absolute session timeouts, on a clock the tests move (webapp.web.sessions.now)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.web.conftest import START
from webapp.models import Candidate
from webapp.web import sessions

MINUTE = 60.0
HOUR = 3600.0


def signed_out_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_in_stamps_the_session(client, login, clock):
    login("viewer")

    with client.session_transaction() as session:
        assert (session[sessions.SIGNED_IN_AT], session[sessions.LAST_SEEN_AT]) == (START, START)


def test_activity_within_the_idle_limit_keeps_the_session(client, login, clock):
    login("viewer")
    for minutes in (50, 100, 150):  # each request is under an hour after the one before
        clock(minutes * MINUTE)
        assert client.get("/candidates").status_code == 200


def test_a_polling_page_does_not_keep_an_idle_session_alive(client, login, clock):
    login("viewer")
    for minutes in (30, 59):  # the batch page's progress polls on its own
        clock(minutes * MINUTE)
        assert (
            client.get("/candidates", htmx=True, headers={"HX-Trigger": "progress"}).status_code
            == 200
        )
    clock(61 * MINUTE)

    response = client.get("/candidates", htmx=True, headers={"HX-Trigger": "progress"})

    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_a_records_thread_polling_does_not_keep_an_idle_session_alive(
    client, login, clock, make_candidate
):
    login("consultant")
    ada = make_candidate()
    thread = f"/candidates/{ada.id}?part=thread"
    poll = {"HX-Trigger": "conversation"}  # the element that polls: tabs and thread
    for minutes in (30, 59):  # refetched every 3 s while a message is queued (all night in quiet
        clock(minutes * MINUTE)  # hours)
        assert client.get(thread, htmx=True, headers=poll).status_code == 200
    clock(61 * MINUTE)

    response = client.get(thread, htmx=True, headers=poll)

    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_an_idle_session_is_signed_out_with_a_message(client, login, clock):
    login("viewer")
    clock(61 * MINUTE)

    response = client.get("/candidates?q=ada")

    assert signed_out_to_login(response)
    assert "next=/candidates" in response.headers["Location"].replace("%2F", "/").replace(
        "%3F", "?"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert sessions.EXPIRED_MESSAGE in page
    # Signed out for good: the old cookie no longer opens pages even with the clock back.
    clock(0)
    assert signed_out_to_login(client.get("/candidates"))


def test_an_active_session_still_ends_at_the_absolute_limit(client, login, clock):
    login("viewer")
    for hours in range(1, 12):
        clock(hours * HOUR - MINUTE)
        assert client.get("/candidates").status_code == 200
    clock(12 * HOUR + MINUTE)

    assert signed_out_to_login(client.get("/candidates"))


def test_an_expired_htmx_request_gets_401_and_hx_redirect(client, login, clock):
    login("viewer")
    clock(2 * HOUR)

    response = client.get("/candidates", htmx=True)

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_an_expired_session_is_ended_though_another_connection_wrote_meanwhile(
    app, client, login, clock, make_candidate, monkeypatch
):
    """Ending the expired session's row wrote inside the request's reading transaction: on
    SQLite another writer in between (the worker sending) failed it at once, "database is
    locked", a 500 instead of the way to sign in again. It is written as a writer from its start."""
    ada = make_candidate()
    login("viewer")
    engine = app.extensions["database"].engine

    def rename_ada():
        with engine.begin() as connection:
            connection.execute(
                sa.update(Candidate).where(Candidate.id == ada.id).values(first_name="Adele")
            )

    worker = threading.Thread(target=rename_ada)
    expired = sessions.expired

    def expired_then_write_elsewhere(*args):
        out = expired(*args)
        worker.start()
        worker.join(1.0)  # it holds no lock here yet: the other write commits at once
        return out

    monkeypatch.setattr(sessions, "expired", expired_then_write_elsewhere)
    clock(61 * MINUTE)

    response = client.get("/candidates")
    worker.join(20)

    assert signed_out_to_login(response)
    monkeypatch.undo()
    clock(0)
    assert signed_out_to_login(client.get("/candidates"))  # ended on the server too


def test_the_limits_come_from_the_config(app, client, login, clock):
    app.config["SESSION_IDLE_MINUTES"] = 5
    login("viewer")
    clock(4 * MINUTE)
    assert client.get("/candidates").status_code == 200
    clock(10 * MINUTE)
    assert signed_out_to_login(client.get("/candidates"))


def test_timestamps_set_directly_in_the_session_are_enforced(client, login):
    login("viewer")
    with client.session_transaction() as session:
        session[sessions.LAST_SEEN_AT] = sessions.now() - 2 * HOUR

    assert signed_out_to_login(client.get("/candidates"))


# --- the cookie is signed and sent again only when it changes ------------------------------------

STEP = sessions.LAST_SEEN_STEP


def test_a_page_that_changes_nothing_sends_no_new_cookie(client, login, clock):
    login("viewer")
    client.get("/candidates")  # the first page keeps its form token in the session
    cookie_before = client.get_cookie("session").value

    for seconds in (1, STEP / 2, STEP - 1):
        clock(seconds)
        response = client.get("/candidates?q=ada")
        assert response.status_code == 200 and "Set-Cookie" not in response.headers

    assert client.get_cookie("session").value == cookie_before


def test_the_cookie_notes_activity_again_once_its_last_seen_is_a_step_old(client, login, clock):
    login("viewer")
    client.get("/candidates")
    clock(STEP)

    response = client.get("/candidates")

    assert "Set-Cookie" in response.headers
    with client.session_transaction() as session:
        assert session[sessions.LAST_SEEN_AT] == START + STEP


def test_activity_the_cookie_did_not_note_does_not_shorten_the_idle_limit(client, login, clock):
    login("viewer")
    clock(STEP - 1)  # active, but the cookie keeps its last-seen time from sign-in
    assert client.get("/candidates").status_code == 200

    clock(STEP - 1 + 60 * MINUTE)  # an hour after that request

    assert client.get("/candidates").status_code == 200


def test_an_idle_session_ends_at_most_a_step_after_the_idle_limit(client, login, clock):
    login("viewer")
    clock(60 * MINUTE + STEP + 1)

    assert signed_out_to_login(client.get("/candidates"))


@pytest.mark.parametrize(
    ("signed_in", "last_seen", "moment", "out"),
    [
        (0, 0, 60 * MINUTE, False),
        (0, 0, 60 * MINUTE + 1, True),
        (0, 11 * HOUR, 12 * HOUR, False),
        (0, 12 * HOUR, 12 * HOUR + 1, True),
    ],
)
def test_expired(signed_in, last_seen, moment, out):
    assert sessions.expired(signed_in, last_seen, moment, 60, 12) is out
